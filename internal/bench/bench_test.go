//go:build linux

package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tiski/internal/db/dbtest"
)

// TestTinyRun runs the whole benchmark at a tiny size against a server
// built from this tree. It checks that figures come out and that nothing
// was lost, never how fast anything was: test machines are shared. With
// PostgreSQL (always in CI) it includes the cross-node phase and its NATS
// restart.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs it as a child process")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tiski")
	if out, err := exec.Command("go", "build", "-o", bin, "tiski/cmd/tiski").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp) // the server's and the probe's data directories go here
	jsonPath := filepath.Join(dir, "bench.json")
	cfg := Config{Size: "tiny", Visitors: 5, Agents: 2, Idle: 20, Rates: []float64{10, 20}, Duration: 2 * time.Second, Senders: 25,
		Settle: time.Second, Probe: true, JSON: jsonPath, Binary: bin, Version: "test",
		StormRate: 20, StormFor: 3 * time.Second, FanOut: 30, History: []int{2000}, Goroutines: 50}
	if pg := postgres(t); pg != "" {
		cfg.PG, cfg.NATSDown = pg, 2*time.Second
	}
	// Generous: under the race detector on a busy machine every phase is
	// slow, and this checks correctness, not speed.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	var out, log bytes.Buffer
	res, err := Run(ctx, cfg, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	if testing.Verbose() {
		t.Logf("log:\n%s", log.String())
	}
	t.Logf("\n%s", out.String())

	tp, mem, v := res.Throughput, res.Memory, res.Verify
	if len(res.RoundTrip) != 2 {
		t.Fatalf("%d round trips, want 2", len(res.RoundTrip))
	}
	for _, rt := range res.RoundTrip {
		if rt.Acked == 0 || rt.Received != rt.Acked || rt.Latency.Count == 0 || rt.Ack.Count == 0 || rt.Latency.Max <= 0 {
			t.Errorf("round trip: %+v", rt)
		}
	}
	if tp.Stored == 0 || tp.PerSec <= 0 || tp.Ack.Count == 0 {
		t.Errorf("throughput: %+v", tp)
	}
	if mem.RSSBefore <= 0 || mem.RSSSteady <= 0 || mem.RSSRampPeak <= 0 || mem.Connected != 20 || mem.Failed != 0 {
		t.Errorf("memory: %+v", mem)
	}
	if v.Lost != 0 || v.Duplicates != 0 || v.Gaps != 0 || v.Unexpected != 0 || v.Undelivered != 0 || v.Messages == 0 || v.Conversations != 26 { // 25 visitors and the fan-out's shopper
		t.Errorf("verification: %+v", v)
	}
	if st := res.Storm; st.Dropped != 25 || st.Resumed != 25 || st.AllResumedSecs <= 0 || st.Acked == 0 || st.Received != st.Acked {
		t.Errorf("storm: %+v", st)
	}
	if fo := res.FanOut; fo.Connected != 30 || fo.Expected != 20*30 || fo.Delivered != fo.Expected || fo.Latency.Count != int(fo.Expected) {
		t.Errorf("fan-out: %+v", fo)
	}
	if len(res.History) != 1 || res.History[0].LastLong.Count == 0 || res.History[0].Inbox.Count == 0 || res.History[0].InboxDeep.Count == 0 {
		t.Errorf("history: %+v", res.History)
	}
	if g := res.Goroutines; g == nil || g.Connected <= g.Before || g.PerConn <= 0 || g.Leaked != 0 {
		t.Errorf("goroutines: %+v", g)
	}
	if len(res.Weight) != 5 {
		t.Errorf("weight: %+v", res.Weight)
	}
	crossNode := "Cross-node round trip: not available"
	if cfg.PG == "" {
		if !strings.Contains(res.CrossNode.Status, "not available") {
			t.Errorf("cross-node without --pg: %+v", res.CrossNode)
		}
	} else {
		checkCrossNode(t, res.CrossNode)
		crossNode = "the restart included: lost 0, duplicates 0, gaps 0, unexpected 0, undelivered 0"
	}
	if len(res.Probe) != 3 || res.Probe[2].Stored == 0 || res.Probe[2].Commits == 0 {
		t.Errorf("store probe: %+v", res.Probe)
	}
	if res.Machine.NumCPU == 0 || res.Machine.Go == "" || res.Storage.Synchronous == "" {
		t.Errorf("machine or storage missing: %+v %+v", res.Machine, res.Storage)
	}
	for _, want := range []string{"(a) Round trip", "(b) Throughput", "(c) Server memory", "(d) Group commit", "(e) Reconnect storm",
		"(f) Goroutines", "(g) Fan-out", "(h) History", "(i) Front-end weight", crossNode, "lost 0, duplicates 0, gaps 0, unexpected 0; undelivered to agents 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if back.Verify != res.Verify || back.RoundTrip[1].Acked != res.RoundTrip[1].Acked || back.Memory.RSSSteady != mem.RSSSteady {
		t.Errorf("JSON differs from the result")
	}
	if nr := res.CrossNode.Restart; nr != nil && (back.CrossNode.Restart == nil || *back.CrossNode.Restart.Flow != *nr.Flow) {
		t.Errorf("JSON differs from the result in the NATS restart")
	}

	// The server is gone and so are the data directories.
	if err := syscall.Kill(res.Settings.ServerPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("server process %d still exists: %v", res.Settings.ServerPID, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}

// postgres returns the test PostgreSQL's URL, or "" when it is not
// reachable (in CI, where it always is, that fails the test).
func postgres(t *testing.T) string {
	u := dbtest.PostgresURL()
	db, err := sql.Open("pgx", u)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is not reachable: %v", u, err)
		}
		t.Logf("SKIPPING the cross-node phase: PostgreSQL at %s is not reachable: %v (CI always runs it)", u, err)
		return ""
	}
	return u
}

// checkCrossNode checks that the two nodes lost and duplicated nothing,
// before, during and after the NATS restart, and that the flow and every
// client came back once NATS did.
func checkCrossNode(t *testing.T, cn CrossNode) {
	t.Helper()
	if cn.Status != "ran" || cn.OneNode == nil || cn.TwoNodes == nil || cn.Verify == nil || cn.Restart == nil {
		t.Fatalf("cross-node: %+v", cn)
	}
	for _, rt := range []*RoundTrip{cn.OneNode, cn.TwoNodes} {
		if rt.Acked == 0 || rt.Received != rt.Acked || rt.Latency.Count == 0 {
			t.Errorf("cross-node round trip: %+v", rt)
		}
	}
	if v := cn.Verify; v.Lost != 0 || v.Duplicates != 0 || v.Gaps != 0 || v.Unexpected != 0 || v.Undelivered != 0 || v.Conversations != int64(cn.Visitors) {
		t.Errorf("cross-node verification: %+v", v)
	}
	nr := cn.Restart
	if nr.Status != "ran" || nr.Flow == nil {
		t.Fatalf("NATS restart: %+v", nr)
	}
	// Every client was sent away while NATS was down and came back.
	if !nr.Resumed || nr.AllBackSecs < 0 || nr.VisitorReconnects < int64(cn.Visitors) || nr.AgentReconnects < int64(nr.Clients-cn.Visitors) {
		t.Errorf("NATS restart, recovery: %+v", nr)
	}
	if f := nr.Flow; f.Acked == 0 || f.Received != f.Acked {
		t.Errorf("NATS restart, flow: %+v", f)
	}
}

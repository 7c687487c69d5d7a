package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"tiski/client"
)

// CrossNode is the round trip with the visitor and the agent on the same
// node, then on two nodes joined by the NATS bus, over one PostgreSQL, and
// then on two nodes while the NATS server restarts.
type CrossNode struct {
	Status   string       `json:"status"` // "ran", or why not
	Bus      string       `json:"bus,omitempty"`
	Visitors int          `json:"visitors,omitempty"`
	OneNode  *RoundTrip   `json:"one_node,omitempty"`
	TwoNodes *RoundTrip   `json:"two_nodes,omitempty"`
	AddedP99 float64      `json:"added_p99_ms,omitempty"`
	Restart  *NATSRestart `json:"nats_restart,omitempty"`
	Verify   *Verify      `json:"verify,omitempty"` // the whole phase, the restart included
}

// NATSRestart is the two-node flow while the NATS server is stopped and
// started again on the same port. Times are in seconds; "after the
// restart" counts from the moment the server took connections again.
type NATSRestart struct {
	Status string `json:"status"` // "ran", or why not
	// When the server was stopped, counted from the flow's first due
	// message, and how long it was down.
	StoppedAtSecs float64 `json:"stopped_at_s,omitempty"`
	DownSecs      float64 `json:"down_s,omitempty"`
	// From the stop until no client was connected to either node (-1: some
	// still were when the server came back).
	SentAwaySecs float64 `json:"all_sent_away_s,omitempty"`
	// Resumed: an agent on node B got a message after the restart; the
	// first one came FirstDeliverySecs after it.
	Resumed           bool    `json:"flow_resumed"`
	FirstDeliverySecs float64 `json:"first_delivery_s"`
	// After the restart, until every client was welcomed back (-1: not
	// all within a minute).
	AllBackSecs float64 `json:"all_reconnected_s"`
	// After the restart, until the latency was normal again: the first 2 s
	// of due times in which the 90th percentile of every half second was
	// at most NormalLimit, the p99 of the undisturbed two-node run (-1:
	// not within the flow).
	NormalSecs  float64 `json:"latency_normal_s"`
	NormalLimit float64 `json:"normal_limit_ms"`
	Clients     int     `json:"clients,omitempty"` // visitor and agent streams
	// Reconnects of those streams over the flow, and the nodes' answers
	// "unavailable" while they had no bus: to a connection's hello, and to
	// a send (which the client sends again once it is back).
	VisitorReconnects int64 `json:"visitor_reconnects"`
	AgentReconnects   int64 `json:"agent_reconnects"`
	RefusedConns      int64 `json:"refused_connections"`
	RefusedSends      int64 `json:"refused_sends"`
	// The round trip over the whole flow, the outage included.
	Flow *RoundTrip `json:"flow,omitempty"`
}

// The restart's flow: this long before the stop, and at least this long
// after the server is back, so that the clients' reconnect backoff (up to
// 10 s) and the settling fit in it.
const (
	restartLead = 3 * time.Second
	restartTail = 12 * time.Second
)

// crossNode runs when --pg is given: it makes a fresh schema in the
// PostgreSQL, starts two nodes on it sharing a NATS bus (with a subject
// prefix of their own, so a shared NATS server is no problem), connects
// the shoppers to node A, and measures the round trip with the agents
// first on A, then on B. The NATS server is one in this process unless
// --bus names another; only our own can be restarted, which the third
// part does while the flow runs.
func (r *run) crossNode(ctx context.Context) CrossNode {
	if r.cfg.PG == "" {
		return CrossNode{Status: "not available: needs --pg postgres://… (two nodes share a database)"}
	}
	cn, err := r.crossNodeRun(ctx)
	if err != nil {
		cn.Status = "failed: " + err.Error()
	}
	return cn
}

func (r *run) crossNodeRun(ctx context.Context) (CrossNode, error) {
	cn := CrossNode{Visitors: 200}
	admin, err := sql.Open("pgx", r.cfg.PG)
	if err != nil {
		return cn, err
	}
	defer admin.Close()
	schema := "tiski_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return cn, fmt.Errorf("create schema: %w", err)
	}
	defer admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	u, err := url.Parse(r.cfg.PG)
	if err != nil {
		return cn, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	bus := r.cfg.Bus
	var ns *natsServer
	cn.Restart = &NATSRestart{}
	if bus != "" {
		cn.Bus = bus + " (--bus)"
		cn.Restart.Status = "not measured: --bus names a NATS server the benchmark does not own (without it, it runs one of its own and restarts that)"
	} else {
		if ns, err = startNATS(); err != nil {
			return cn, fmt.Errorf("NATS server: %w", err)
		}
		defer ns.stop()
		bus = ns.URL()
		cn.Bus = "a nats-server of the benchmark's own at " + bus
		if r.cfg.NATSDown <= 0 {
			cn.Restart.Status = "not run (--nats-down 0)"
		}
	}
	restart := ns != nil && r.cfg.NATSDown > 0

	flags := []string{"--db", u.String(), "--bus", bus, "--bus-prefix", schema + "."}
	bin := r.cfg.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return cn, err
		}
	}
	a, err := startNode(ctx, bin, r.log, true, flags...)
	if err != nil {
		return cn, fmt.Errorf("node A: %w", err)
	}
	defer a.Stop()
	// A rate well inside what one PostgreSQL on these cores commits, so
	// that the difference is the bus hop and not a queue.
	rate := 200.0
	dur := min(r.cfg.Duration, 20*time.Second)
	sub := &run{cfg: Config{Visitors: cn.Visitors, Agents: 4, Rates: []float64{rate, rate}, Duration: dur},
		res: &Result{}, srv: a, log: r.log, base: r.base} // one time origin: its log lines follow the run's
	for range 2 {
		sub.open = append(sub.open, newOpenState(cn.Visitors, rate, dur))
	}
	if restart {
		o := newOpenState(cn.Visitors, rate, max(dur, restartLead+r.cfg.NATSDown+restartTail))
		o.trace = &receipts{}
		sub.open = append(sub.open, o)
	}
	defer sub.closeStreams()
	r.logf("cross-node: node A at %s, set-up", a.URL)
	if err := sub.setup(ctx, a.URL); err != nil {
		return cn, err
	}
	b, err := startNode(ctx, bin, r.log, false, flags...)
	if err != nil {
		return cn, fmt.Errorf("node B: %w", err)
	}
	defer b.Stop()
	r.logf("cross-node: one node, %.0f msgs/s", rate)
	if err := sub.roundTrip(ctx, 0); err != nil {
		return cn, err
	}
	// The agents move to node B; the shoppers stay on A.
	r.logf("cross-node: agents on node B at %s, %.0f msgs/s", b.URL, rate)
	cb := client.New(b.URL, Origin)
	cb.HTTP = sub.c.HTTP
	follows := map[*agentConn][]string{}
	for i, v := range sub.vis {
		ag := sub.agents[i%len(sub.agents)]
		follows[ag] = append(follows[ag], v.conv)
	}
	for _, ag := range sub.agents {
		ag.s.Close()
		ag.a = ag.a.Via(cb)
		ag.s = ag.a.Connect(client.StreamOptions{OnFrame: sub.onAgentFrame})
		for _, conv := range follows[ag] {
			if err := ag.s.Follow(ctx, conv); err != nil {
				return cn, err
			}
		}
	}
	if err := sub.roundTrip(ctx, 1); err != nil {
		return cn, err
	}
	one, two := sub.res.RoundTrip[0], sub.res.RoundTrip[1]
	cn.OneNode, cn.TwoNodes = &one, &two
	cn.AddedP99 = two.Latency.P99 - one.Latency.P99
	if restart {
		r.logf("cross-node: NATS restart with the shoppers on A and the agents on B, %.0f msgs/s", rate)
		if err := sub.natsRestart(ctx, 2, ns, r.cfg.NATSDown, two.Latency.P99, cn.Restart); err != nil {
			cn.Restart.Status = "failed: " + err.Error()
			return cn, fmt.Errorf("NATS restart: %w", err)
		}
	}
	if err := sub.verify(ctx); err != nil {
		return cn, err
	}
	cn.Verify = &sub.res.Verify
	cn.Status = "ran"
	return cn, nil
}

// natsRestart runs the flow of open state ri and, restartLead into it,
// stops the NATS server, keeps it down for down, and starts it again on
// the same port. Both nodes lose their bus, send their clients away and
// refuse them until it is back; the clients reconnect with their usual
// backoff and resume by sequence. limit is the p99 (ms) of the undisturbed
// run that the flow's latency must come back under.
func (r *run) natsRestart(ctx context.Context, ri int, ns *natsServer, down time.Duration, limit float64, nr *NATSRestart) error {
	o := r.open[ri]
	var streams []*client.Stream
	for _, v := range r.vis {
		streams = append(streams, v.s)
	}
	nVis := len(streams)
	for _, ag := range r.agents {
		streams = append(streams, ag.s)
	}
	nr.Clients = len(streams)
	connects := func() []int64 {
		n := make([]int64, len(streams))
		for i, s := range streams {
			n[i] = s.Connects.Load()
		}
		return n
	}
	connected := func() (n int) {
		for _, s := range streams {
			if s.Connected() {
				n++
			}
		}
		return n
	}
	refusedSends, refusedConns := r.refusedSends.Load(), r.refusedConns.Load()

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- r.roundTrip(fctx, ri) }()
	fail := func(err error) error {
		cancel()
		<-errc
		return err
	}
	if err := sleepCtx(ctx, restartLead); err != nil {
		return fail(err)
	}
	before := connects()
	r.logf("NATS restart: stopping the server for %s", down)
	stopAt := time.Now()
	nr.StoppedAtSecs = (stopAt.Sub(r.base) - time.Duration(o.start.Load())).Seconds()
	ns.stop()
	// Each node sees its connection to NATS drop and sends its clients
	// away; those reconnecting meanwhile are refused.
	nr.SentAwaySecs = -1
	for time.Since(stopAt) < down {
		if nr.SentAwaySecs < 0 && connected() == 0 {
			nr.SentAwaySecs = time.Since(stopAt).Seconds()
		}
		if err := sleepCtx(ctx, min(10*time.Millisecond, down-time.Since(stopAt))); err != nil {
			return fail(err)
		}
	}
	if err := ns.start(); err != nil {
		return fail(fmt.Errorf("start the NATS server again: %w", err))
	}
	restartAt := time.Now()
	nr.DownSecs = restartAt.Sub(stopAt).Seconds()
	r.logf("NATS restart: the server is back at %s after %.2fs", ns.URL(), nr.DownSecs)
	nr.AllBackSecs = -1
	for deadline := restartAt.Add(time.Minute); time.Now().Before(deadline); {
		n := connects()
		back := 0
		for i, s := range streams {
			if n[i] > before[i] && s.Connected() {
				back++
			}
		}
		if back == len(streams) {
			nr.AllBackSecs = time.Since(restartAt).Seconds()
			break
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return fail(err)
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	// The flow's figures are the last round trip's. It stays in the list,
	// so that the verification counts its undelivered messages too.
	rt := r.res.RoundTrip[len(r.res.RoundTrip)-1]
	nr.Flow = &rt
	after := connects()
	for i := range streams {
		if i < nVis {
			nr.VisitorReconnects += after[i] - before[i]
		} else {
			nr.AgentReconnects += after[i] - before[i]
		}
	}
	nr.RefusedSends, nr.RefusedConns = r.refusedSends.Load()-refusedSends, r.refusedConns.Load()-refusedConns
	restartOff := restartAt.Sub(r.base)
	// Nothing reaches an agent on B while the nodes have no bus, so the
	// first receipt after the restart is the first message across nodes
	// again (live over NATS, or replayed to an agent who reconnected).
	if first, ok := o.trace.firstAfter(restartOff); ok {
		nr.Resumed, nr.FirstDeliverySecs = true, (first - restartOff).Seconds()
	}
	nr.NormalLimit = limit
	nr.NormalSecs = o.trace.settled(stopAt.Sub(r.base), restartOff, time.Duration(limit*float64(time.Millisecond)))
	nr.Status = "ran"
	r.logf("NATS restart: first delivery %.2fs after the restart, every client back after %.2fs", nr.FirstDeliverySecs, nr.AllBackSecs)
	return nil
}

// firstAfter returns the earliest arrival at or after from.
func (t *receipts) firstAfter(from time.Duration) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first, ok := time.Duration(0), false
	for _, got := range t.got {
		if got >= from && (!ok || got < first) {
			first, ok = got, true
		}
	}
	return first, ok
}

// settled returns how many seconds after restart the flow's latency was
// normal again: where the first 2 s of due times begin, counted from stop,
// in which the 90th percentile of every half second is at most limit. A
// half second with no message delivered is not normal. It returns -1 if
// the flow never settled so. Half seconds and the 90th percentile keep a
// lone slow message (a GC pause, another process) from counting.
func (t *receipts) settled(stop, restart, limit time.Duration) float64 {
	const slice, stretch = 500 * time.Millisecond, 4
	t.mu.Lock()
	var parts [][]time.Duration
	for i, due := range t.due {
		if due < stop {
			continue
		}
		k := int((due - stop) / slice)
		for len(parts) <= k {
			parts = append(parts, nil)
		}
		parts[k] = append(parts[k], t.got[i]-due)
	}
	t.mu.Unlock()
	run := 0
	for k, lat := range parts {
		ok := false
		if len(lat) > 0 {
			slices.Sort(lat)
			ok = lat[(len(lat)*9+9)/10-1] <= limit
		}
		if !ok {
			run = 0
			continue
		}
		if run++; run == stretch {
			from := stop + time.Duration(k-stretch+1)*slice
			return max(0, (from - restart).Seconds())
		}
	}
	return -1
}

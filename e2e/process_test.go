// Package e2e runs the tiski binary as a real process and attacks it the
// way production does: kill -9 mid-traffic, SIGTERM mid-traffic.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tiski/client"
)

// buildTiski compiles the binary once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func tiskiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tiski-e2e-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "tiski")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "../cmd/tiski").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// proc is a running tiski server.
type proc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

var listening = regexp.MustCompile(`^tiski: listening on http://(\S+)$`)

func startTiski(t *testing.T, bin, data, addr string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", addr, "--data", data, "--log-level", "warn", "--new-visitors-per-sec", "1000"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-found:
	case <-p.done:
		t.Fatalf("tiski exited before listening: %v", p.err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tiski did not start listening")
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// setup creates an owner and an agent with the CLI and returns the site key.
func setup(t *testing.T, bin, data string) string {
	t.Helper()
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tiski %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run(password+"\n", "user", "add", "--data", data, "--org", "Kauppa Oy", "--email", "owner@kauppa.example", "--role", "owner", "--password-stdin")
	m := regexp.MustCompile(`widget key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no widget key in %q", out)
	}
	run(password+"\n", "user", "add", "--data", data, "--email", "aino@kauppa.example", "--name", "Aino", "--max-chats", "50", "--password-stdin")
	return m[1]
}

const password = "correct horse battery"

type traffic struct {
	mu   sync.Mutex
	acks map[string]client.Ack // every acknowledged message, by client id
}

// chatUntil makes each visitor send msgs messages (and the agent answer
// each tenth), recording every acknowledgement.
func (tr *traffic) chat(ctx context.Context, vs []*client.Stream, convs []string, agent *client.Stream, prefix string, msgs int) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(vs))
	for i, s := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range msgs {
				ack, err := s.Send(ctx, convs[i], fmt.Sprintf("%s-v%d-%d", prefix, i, k), "text", fmt.Sprint("message ", k))
				if err != nil {
					errc <- fmt.Errorf("visitor %d: %w", i, err)
					return
				}
				tr.record(ack)
				if k%10 == 0 {
					ack, err := agent.Send(ctx, convs[i], fmt.Sprintf("%s-a%d-%d", prefix, i, k), "text", "answer")
					if err != nil {
						errc <- fmt.Errorf("agent: %w", err)
						return
					}
					tr.record(ack)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (tr *traffic) record(a client.Ack) {
	tr.mu.Lock()
	tr.acks[a.ID] = a
	tr.mu.Unlock()
}

func (tr *traffic) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.acks)
}

// verify reads every conversation back and checks that each acknowledged
// message is stored exactly once and every stream is gapless.
func (tr *traffic) verify(t *testing.T, ctx context.Context, owner *client.Agent, convs []string, vs []*client.Stream) {
	t.Helper()
	seen := map[string]int{}
	for i, conv := range convs {
		var all []client.Message
		for after := int64(0); ; {
			page, err := owner.Messages(ctx, conv, after, 500)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].Seq
		}
		for k, m := range all {
			if m.Seq != int64(k+1) {
				t.Fatalf("conversation %s has seq %d at position %d", conv, m.Seq, k)
			}
			seen[m.ID]++
		}
		// The visitor's own copy matches the database exactly.
		s := vs[i]
		want := len(all)
		if err := s.WaitFor(ctx, func() bool { return len(s.Messages(conv)) >= want }); err != nil {
			t.Fatalf("visitor %d holds %d of %d messages", i, len(s.Messages(conv)), want)
		}
		got := s.Messages(conv)
		if len(got) != want {
			t.Fatalf("visitor %d holds %d messages, database %d", i, len(got), want)
		}
		for k := range got {
			if got[k].ID != all[k].ID {
				t.Fatalf("visitor %d message %d is %s, database has %s", i, k+1, got[k].ID, all[k].ID)
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for cmid, a := range tr.acks {
		if seen[a.M.ID] != 1 {
			t.Fatalf("acknowledged message %s (%s) is stored %d times", cmid, a.M.ID, seen[a.M.ID])
		}
	}
}

func killScenario(t *testing.T, sig syscall.Signal) {
	bin := tiskiBinary(t)
	data := t.TempDir()
	key := setup(t, bin, data)
	addr := freeAddr(t)
	p := startTiski(t, bin, data, addr)
	base := "http://" + p.addr
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	c := client.New(base, base) // the site allows Tiski's own origin
	fast := client.StreamOptions{BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond}
	agentAPI, err := c.Login(ctx, "aino@kauppa.example", password)
	if err != nil {
		t.Fatal(err)
	}
	const visitors = 10
	var vs []*client.Stream
	var convs []string
	tr := &traffic{acks: map[string]client.Ack{}}
	for i := range visitors {
		v, err := c.NewVisitor(ctx, key, "fi")
		if err != nil {
			t.Fatal(err)
		}
		s := v.Connect(fast)
		defer s.Close()
		ack, err := s.Send(ctx, "", fmt.Sprint("hello-", i), "text", "hello")
		if err != nil {
			t.Fatal(err)
		}
		tr.record(ack)
		if _, err := agentAPI.Take(ctx, ack.Conv); err != nil {
			t.Fatal(err)
		}
		vs, convs = append(vs, s), append(convs, ack.Conv)
	}
	agent := agentAPI.Connect(client.StreamOptions{Follow: convs, BackoffBase: fast.BackoffBase, BackoffMax: fast.BackoffMax})
	defer agent.Close()

	// Traffic runs; once a good share is acknowledged the server is
	// signalled mid-flight and started again on the same port and data.
	errc := make(chan error, 1)
	go func() { errc <- tr.chat(ctx, vs, convs, agent, "m", 150) }()
	if err := waitUntil(ctx, func() bool { return tr.count() > 500 }); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(sig)
	<-p.done
	before := tr.count()
	if sig == syscall.SIGTERM && p.err != nil {
		t.Fatalf("graceful shutdown exited with %v", p.err)
	}
	p2 := startTiski(t, bin, data, addr)
	_ = p2
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %d acks; %d acks in all", sig, before, tr.count())
	if tr.count() <= before {
		t.Fatalf("no traffic after the restart")
	}
	owner, err := c.Login(ctx, "owner@kauppa.example", password)
	if err != nil {
		t.Fatal(err)
	}
	tr.verify(t, ctx, owner, convs, vs)
}

func waitUntil(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// TestKillMidTraffic: SIGKILL loses nothing that was acknowledged and
// stores nothing twice.
func TestKillMidTraffic(t *testing.T) { killScenario(t, syscall.SIGKILL) }

// TestGracefulShutdownMidTraffic: SIGTERM drains connections, exits 0, and
// loses nothing.
func TestGracefulShutdownMidTraffic(t *testing.T) { killScenario(t, syscall.SIGTERM) }

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"tiski/client"
	"tiski/internal/db/dbtest"
	"tiski/internal/realtime/natsbus/natstest"
)

// balancer is a TCP load balancer in front of the nodes, one per client so
// the test decides who sits where: each new connection goes to the first
// node in its order that accepts it. Nothing is sticky: when a node dies
// its connections break and the client's next ones land on the next node.
type balancer struct {
	ln    net.Listener
	nodes []string
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newBalancer(t *testing.T, nodes ...string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, nodes: nodes, conns: map[net.Conn]struct{}{}}
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *balancer) URL() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.pipe(c)
	}
}

func (b *balancer) pipe(c net.Conn) {
	var up net.Conn
	for _, n := range b.nodes {
		var err error
		if up, err = net.DialTimeout("tcp", n, 2*time.Second); err == nil {
			break
		}
	}
	if up == nil {
		c.Close()
		return
	}
	b.mu.Lock()
	b.conns[c], b.conns[up] = struct{}{}, struct{}{}
	b.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	b.mu.Lock()
	delete(b.conns, c)
	delete(b.conns, up)
	b.mu.Unlock()
}

func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
}

// clusterSetup creates, with the CLI, an owner and agents agents with a cap
// of maxChats each, and returns the site key.
func clusterSetup(t *testing.T, bin, dsn string, agents, maxChats int) string {
	t.Helper()
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tiski %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("user", "add", "--db", dsn, "--org", "Kauppa Oy", "--email", "owner@kauppa.example", "--role", "owner", "--password-stdin")
	m := regexp.MustCompile(`widget key (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no widget key in %q", out)
	}
	for j := range agents {
		run("user", "add", "--db", dsn, "--email", fmt.Sprintf("agent%d@kauppa.example", j), "--name", fmt.Sprint("Agent ", j),
			"--max-chats", fmt.Sprint(maxChats), "--password-stdin")
	}
	return m[1]
}

// order lists the nodes starting from first.
func order(nodes []string, first int) []string {
	out := make([]string, 0, len(nodes))
	for k := range nodes {
		out = append(out, nodes[(first+k)%len(nodes)])
	}
	return out
}

// TestThreeNodesOneKilled runs three nodes on one PostgreSQL database and
// one NATS. Agents race each other for the queue from different nodes;
// visitors sit on other nodes than their agents. One node is SIGKILLed
// mid-traffic; its clients reconnect to the others and resume. No
// acknowledged message is lost or stored twice, every client's copy
// matches the database, no chat is assigned twice and no agent goes over
// their cap.
func TestThreeNodesOneKilled(t *testing.T) {
	dsn := dbtest.PostgresDatabase(t)
	natsURL := natstest.URL(t)
	prefix := natstest.Prefix()
	bin := tiskiBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Three nodes start at once on an empty database: one of them
	// migrates, the others wait for its lock.
	const nodes = 3
	addrs := make([]string, nodes)
	procs := make([]*proc, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		addrs[i] = freeAddr(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i] = startTiski(t, bin, t.TempDir(), addrs[i], "--db", dsn, "--bus", natsURL, "--bus-prefix", prefix)
		}()
	}
	wg.Wait()
	for i, p := range procs {
		if p == nil {
			t.Fatalf("node %d did not start", i)
		}
		addrs[i] = p.addr
	}

	const agents, maxChats, visitors, msgs = 3, 4, 15, 30
	key := clusterSetup(t, bin, dsn, agents, maxChats)

	// Visitors start their chats, each on node i%3.
	type visitorState struct {
		v     *client.Visitor
		hello client.Ack
		conv  string
		agent int
		s     *client.Stream
	}
	tr := &traffic{acks: map[string]client.Ack{}}
	vs := make([]*visitorState, visitors)
	fast := client.StreamOptions{BackoffBase: 20 * time.Millisecond, BackoffMax: 300 * time.Millisecond}
	for i := range visitors {
		lb := newBalancer(t, order(addrs, i%nodes)...)
		c := client.New(lb.URL(), lb.URL())
		v, err := c.NewVisitor(ctx, key, "fi")
		if err != nil {
			t.Fatal(err)
		}
		s := v.Connect(fast)
		ack, err := s.Send(ctx, "", fmt.Sprint("hello-", i), "text", "hello")
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		vs[i] = &visitorState{v: v, hello: ack, conv: ack.Conv, agent: -1}
	}

	// Agent j works on node j. Every agent tries to take every chat at
	// once: row locks decide, across nodes.
	agentAPI := make([]*client.Agent, agents)
	agentLB := make([]*balancer, agents)
	for j := range agents {
		agentLB[j] = newBalancer(t, order(addrs, j)...)
		c := client.New(agentLB[j].URL(), agentLB[j].URL())
		a, err := c.Login(ctx, fmt.Sprintf("agent%d@kauppa.example", j), password)
		if err != nil {
			t.Fatal(err)
		}
		agentAPI[j] = a
	}
	var takeMu sync.Mutex
	won := map[string][]int{}
	for j := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range visitors {
				i := (k + j*5) % visitors // each agent starts elsewhere in the queue
				_, err := agentAPI[j].Take(ctx, vs[i].conv)
				var ae *client.Error
				switch {
				case err == nil:
					takeMu.Lock()
					won[vs[i].conv] = append(won[vs[i].conv], j)
					takeMu.Unlock()
				case errors.As(err, &ae) && ae.Code == "conflict":
				default:
					t.Errorf("agent %d taking chat %d: %v", j, i, err)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	taken := 0
	load := make([]int, agents)
	for i, v := range vs {
		switch w := won[v.conv]; len(w) {
		case 0:
		case 1:
			v.agent = w[0]
			load[w[0]]++
			taken++
		default:
			t.Fatalf("chat %d was taken by agents %v", i, w)
		}
	}
	for j, n := range load {
		if n > maxChats {
			t.Fatalf("agent %d holds %d chats, cap %d", j, n, maxChats)
		}
	}
	if taken != agents*maxChats {
		t.Fatalf("%d chats taken, want every agent at the cap (%d)", taken, agents*maxChats)
	}

	// Each agent follows their chats from their node; each visitor of an
	// assigned chat reconnects to a node other than their agent's.
	agentS := make([]*client.Stream, agents)
	for j := range agents {
		var follow []string
		for _, v := range vs {
			if v.agent == j {
				follow = append(follow, v.conv)
			}
		}
		agentS[j] = agentAPI[j].Connect(client.StreamOptions{Follow: follow, BackoffBase: fast.BackoffBase, BackoffMax: fast.BackoffMax})
		defer agentS[j].Close()
	}
	var active []*visitorState
	for _, v := range vs {
		if v.agent < 0 {
			continue
		}
		lb := newBalancer(t, order(addrs, v.agent+1)...)
		c := client.New(lb.URL(), lb.URL())
		v.s = c.ResumeVisitor(key, v.v.ID, v.v.Token).Connect(fast)
		defer v.s.Close()
		active = append(active, v)
		tr.record(v.hello)
	}

	// Traffic: visitors write, agents answer every fifth message. Node 1
	// is killed once a good share is acknowledged.
	errc := make(chan error, len(active))
	for i, v := range active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range msgs {
				ack, err := v.s.Send(ctx, v.conv, fmt.Sprintf("v%d-%d", i, k), "text", fmt.Sprint("viesti ", k))
				if err != nil {
					errc <- fmt.Errorf("visitor %d: %w", i, err)
					return
				}
				tr.record(ack)
				if k%5 == 0 {
					ack, err := agentS[v.agent].Send(ctx, v.conv, fmt.Sprintf("a%d-%d", i, k), "text", "vastaus")
					if err != nil {
						errc <- fmt.Errorf("agent %d: %w", v.agent, err)
						return
					}
					tr.record(ack)
				}
			}
		}()
	}
	total := len(active) * (1 + msgs + msgs/5)
	if err := waitUntil(ctx, func() bool { return tr.count() > total/3 }); err != nil {
		t.Fatal(err)
	}
	killed := procs[1]
	killed.cmd.Process.Signal(syscall.SIGKILL)
	<-killed.done
	before := tr.count()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	t.Logf("node 1 killed after %d acks; %d acks in all", before, tr.count())
	if tr.count() != total {
		t.Fatalf("%d acks, want %d", tr.count(), total)
	}

	// Every acknowledged message is stored once; every visitor's copy
	// matches the database.
	ownerLB := newBalancer(t, addrs[0])
	owner, err := client.New(ownerLB.URL(), ownerLB.URL()).Login(ctx, "owner@kauppa.example", password)
	if err != nil {
		t.Fatal(err)
	}
	convs := make([]string, len(active))
	streams := make([]*client.Stream, len(active))
	for i, v := range active {
		convs[i], streams[i] = v.conv, v.s
	}
	tr.verify(t, ctx, owner, convs, streams)
	// Every agent's copy matches the database too (agents see every
	// message, visitors' from other nodes included).
	for _, v := range active {
		want, err := owner.Messages(ctx, v.conv, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		s := agentS[v.agent]
		if err := s.WaitFor(ctx, func() bool { return len(s.Messages(v.conv)) >= len(want) }); err != nil {
			t.Fatalf("agent %d holds %d of %d messages of %s", v.agent, len(s.Messages(v.conv)), len(want), v.conv)
		}
		got := s.Messages(v.conv)
		if len(got) != len(want) {
			t.Fatalf("agent %d holds %d messages of %s, database %d", v.agent, len(got), v.conv, len(want))
		}
		for k := range got {
			if got[k].ID != want[k].ID {
				t.Fatalf("agent %d message %d of %s is %s, database has %s", v.agent, k+1, v.conv, got[k].ID, want[k].ID)
			}
		}
	}

	// The database agrees: one assignment per chat, nobody over the cap.
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var twice int
	if err := pg.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT conversation_id FROM events WHERE type = 'assigned'
		GROUP BY conversation_id HAVING COUNT(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Fatalf("%d chats were assigned more than once", twice)
	}
	var over int
	if err := pg.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT c.assignee_id FROM conversations c JOIN users u ON u.id = c.assignee_id
		WHERE c.status = 'assigned' GROUP BY c.assignee_id, u.max_chats HAVING COUNT(*) > u.max_chats) x`).Scan(&over); err != nil {
		t.Fatal(err)
	}
	if over != 0 {
		t.Fatalf("%d agents are over their cap", over)
	}
}

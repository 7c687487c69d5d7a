package realtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/testsrv"
)

// TestConcurrentChatsWithDrops is the core promise under load: 50 visitors
// and 5 agents exchange 10,000 messages while connections drop at random.
// Every party must end with every message of its streams exactly once, in
// sequence order, and the database must hold each acknowledged message once.
func TestConcurrentChatsWithDrops(t *testing.T) {
	const (
		visitors       = 50
		agents         = 5
		perVisitor     = 100
		perAgentPerCon = 100 // each agent writes this many into each of its chats
	)
	if testing.Short() {
		t.Skip("long test; run without -short")
	}
	env := testsrv.Start(t, testsrv.Options{Agents: agents})
	ctx := ctxT(t, 4*time.Minute)
	c := client.New(env.URL, testsrv.ShopOrigin)
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	fast := client.StreamOptions{BackoffBase: 5 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	type party struct {
		stream *client.Stream
		acks   map[string]client.Ack // by client message id
	}
	vs := make([]*party, visitors)
	convOf := make([]string, visitors)
	for i := range visitors {
		v, err := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
		if err != nil {
			t.Fatal(err)
		}
		o := fast
		if i%5 == 4 {
			o.Transport = "sse" // a fifth of the shoppers behind a WebSocket-blocking proxy
		}
		p := &party{stream: v.Connect(o), acks: map[string]client.Ack{}}
		defer p.stream.Close()
		ack, err := p.stream.Send(ctx, "", fmt.Sprintf("v%d-start", i), "text", "hello")
		if err != nil {
			t.Fatal(err)
		}
		p.acks[ack.ID] = ack
		vs[i], convOf[i] = p, ack.Conv
	}
	as := make([]*party, agents)
	agentConvs := make([][]string, agents)
	apis := make([]*client.Agent, agents)
	for j := range agents {
		a, err := c.Login(ctx, env.Agents[j].Email, testsrv.Password)
		if err != nil {
			t.Fatal(err)
		}
		apis[j] = a
		as[j] = &party{stream: a.Connect(fast), acks: map[string]client.Ack{}}
		defer as[j].stream.Close()
	}
	for i, conv := range convOf {
		j := i % agents
		if _, err := apis[j].Take(ctx, conv); err != nil {
			t.Fatal(err)
		}
		if err := as[j].stream.Follow(ctx, conv); err != nil {
			t.Fatal(err)
		}
		agentConvs[j] = append(agentConvs[j], conv)
	}

	// Chaos: cut random connections until the traffic is done.
	stop := make(chan struct{})
	var drops atomic.Int64
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() {
		defer chaos.Done()
		all := append(append([]*party{}, vs...), as...)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rng.IntN(20)) * time.Millisecond):
				all[rng.IntN(len(all))].stream.Drop()
				drops.Add(1)
			}
		}
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := []error{}
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for i, p := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perVisitor {
				ack, err := p.stream.Send(ctx, convOf[i], fmt.Sprintf("v%d-%d", i, k), "text", fmt.Sprintf("visitor %d says %d", i, k))
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				p.acks[ack.ID] = ack
				mu.Unlock()
			}
		}()
	}
	for j, p := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perAgentPerCon {
				for _, conv := range agentConvs[j] {
					ack, err := p.stream.Send(ctx, conv, fmt.Sprintf("a%d-%s-%d", j, conv[len(conv)-6:], k), "text", fmt.Sprintf("agent %d says %d", j, k))
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					p.acks[ack.ID] = ack
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	chaos.Wait()
	for _, err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, p := range append(append([]*party{}, vs...), as...) {
		total += len(p.acks)
	}
	if want := visitors*(1+perVisitor) + visitors*perAgentPerCon; total != want {
		t.Fatalf("%d acknowledged, want %d", total, want)
	}
	t.Logf("%d messages acknowledged with %d connection drops", total, drops.Load())

	// The database is the truth: read every stream back through the API.
	owner, err := c.Login(ctx, env.Owner.Email, testsrv.Password)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string][]client.Message{}
	byID := map[string]int{}
	for _, conv := range convOf {
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
		for i, m := range all {
			if m.Seq != int64(i+1) {
				t.Fatalf("conversation %s: seq %d at position %d", conv, m.Seq, i)
			}
			byID[m.ID]++
		}
		// hello + joined + 100 from the visitor + 100 from the agent
		if len(all) != 2+perVisitor+perAgentPerCon {
			t.Fatalf("conversation %s holds %d messages, want %d", conv, len(all), 2+perVisitor+perAgentPerCon)
		}
		stored[conv] = all
	}
	for _, p := range append(append([]*party{}, vs...), as...) {
		for cmid, ack := range p.acks {
			if byID[ack.M.ID] != 1 {
				t.Fatalf("acknowledged message %s (%s) stored %d times", cmid, ack.M.ID, byID[ack.M.ID])
			}
		}
	}

	// Every party holds exactly its streams: same ids, same order.
	check := func(who string, s *client.Stream, conv string, want []client.Message) {
		t.Helper()
		if err := s.WaitFor(ctx, func() bool { return len(s.Messages(conv)) >= len(want) }); err != nil {
			t.Fatalf("%s holds %d of %d messages of %s: %v", who, len(s.Messages(conv)), len(want), conv, err)
		}
		got := s.Messages(conv)
		if len(got) != len(want) {
			t.Fatalf("%s holds %d messages of %s, want %d", who, len(got), conv, len(want))
		}
		for k := range want {
			if got[k].ID != want[k].ID || got[k].Seq != int64(k+1) {
				t.Fatalf("%s: message %d of %s is %s/%d, want %s", who, k+1, conv, got[k].ID, got[k].Seq, want[k].ID)
			}
		}
	}
	for i, p := range vs {
		check(fmt.Sprint("visitor ", i), p.stream, convOf[i], stored[convOf[i]]) // no notes: both streams are equal
	}
	for j, p := range as {
		for _, conv := range agentConvs[j] {
			check(fmt.Sprint("agent ", j), p.stream, conv, stored[conv])
		}
	}
	var dups, gaps int64
	for _, p := range append(append([]*party{}, vs...), as...) {
		dups += p.stream.Duplicates.Load()
		gaps += p.stream.GapFetches.Load()
	}
	t.Logf("clients dropped %d duplicate deliveries and fetched %d gaps", dups, gaps)
	_ = context.Background
}

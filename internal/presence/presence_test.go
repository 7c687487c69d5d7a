package presence_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tiski/internal/auth"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db/dbtest"
	"tiski/internal/presence"
	"tiski/internal/tenant"
	"tiski/internal/user"
)

// announcements records what a node would put on the bus.
type announcements struct {
	mu  sync.Mutex
	got []presence.State
}

func (a *announcements) AnnounceAgent(_ string, st any) {
	a.mu.Lock()
	a.got = append(a.got, st.(presence.State))
	a.mu.Unlock()
}

func (a *announcements) statuses() []user.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []user.Status
	for _, s := range a.got {
		out = append(out, s.Status)
	}
	return out
}

// Two nodes on one database: the agent's console is open on node A only,
// and node B's sweeper must not send them away; once node A stops seeing
// them, node B's sweeper does, exactly once.
func TestPresenceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	tn, err := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	if err != nil {
		t.Fatal(err)
	}
	users := user.NewStore(d, clk, auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}})
	u, err := users.Create(ctx, tn.ID, user.New{Email: "aino@kauppa.example", Name: "Aino", Role: user.Agent, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	cs := chat.NewService(d, clk, nil, nil)
	var mu sync.Mutex
	onA := true
	connectedA := func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		if !onA {
			return nil
		}
		return map[string][]string{tn.ID: {u.ID}}
	}
	annA, annB := &announcements{}, &announcements{}
	o := presence.Options{Grace: time.Minute, Idle: time.Hour}
	nodeA := presence.New(d, clk, users, cs, annA, connectedA, nil, o)
	nodeB := presence.New(d, clk, users, cs, annB, func() map[string][]string { return nil }, nil, o)

	if _, err := nodeA.SetStatus(ctx, tn.ID, u.ID, user.Online); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clk.Advance(20 * time.Second)
		if err := nodeA.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if err := nodeB.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := nodeB.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("node B swept %d while node A sees the agent: %v", n, err)
		}
	}
	st, err := nodeB.Get(ctx, tn.ID, u.ID)
	if err != nil || st.Status != user.Online || !st.Connected {
		t.Fatalf("node B sees %+v, %v", st, err)
	}
	mu.Lock()
	onA = false // the last console closed
	mu.Unlock()
	clk.Advance(61 * time.Second)
	var swept [2]int
	var wg sync.WaitGroup
	for i, n := range []*presence.Service{nodeA, nodeB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			swept[i], _ = n.Sweep(ctx)
		}()
	}
	wg.Wait()
	if swept[0]+swept[1] != 1 {
		t.Fatalf("two sweepers turned the agent away %d times, want once", swept[0]+swept[1])
	}
	st, err = nodeA.Get(ctx, tn.ID, u.ID)
	if err != nil || st.Status != user.Away || st.Connected {
		t.Fatalf("after the grace period: %+v, %v", st, err)
	}
	all := append(annA.statuses(), annB.statuses()...)
	if len(all) != 2 || all[0] != user.Online || all[1] != user.Away {
		t.Fatalf("announced %v, want online then away", all)
	}
	// Disabled and offline agents are never swept.
	if _, err := nodeA.SetStatus(ctx, tn.ID, u.ID, user.Offline); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if n, _ := nodeB.Sweep(ctx); n != 0 {
		t.Fatal("an offline agent was swept")
	}
}

// Activity is written at most once per TouchEvery per agent, and keeps an
// agent with an open console from idling away.
func TestTouchThrottlesAndCounts(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	tn, _ := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	users := user.NewStore(d, clk, auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}})
	u, err := users.Create(ctx, tn.ID, user.New{Email: "aino@kauppa.example", Name: "Aino", Role: user.Agent, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	cs := chat.NewService(d, clk, nil, nil)
	connected := func() map[string][]string { return map[string][]string{tn.ID: {u.ID}} }
	p := presence.New(d, clk, users, cs, nil, connected, nil, presence.Options{Grace: time.Minute, Idle: 10 * time.Minute, TouchEvery: 30 * time.Second})
	if _, err := p.SetStatus(ctx, tn.ID, u.ID, user.Online); err != nil {
		t.Fatal(err)
	}
	lastActive := func() time.Time {
		got, err := users.Get(ctx, tn.ID, u.ID)
		if err != nil || got.LastActiveAt == nil {
			t.Fatalf("%+v %v", got, err)
		}
		return *got.LastActiveAt
	}
	start := lastActive()
	clk.Advance(10 * time.Second)
	p.Touch(ctx, tn.ID, u.ID)
	if !lastActive().Equal(start) {
		t.Fatal("a touch within TouchEvery of the last was written")
	}
	clk.Advance(25 * time.Second)
	p.Touch(ctx, tn.ID, u.ID)
	if !lastActive().Equal(start.Add(35 * time.Second)) {
		t.Fatalf("a touch after TouchEvery was not written: %v", lastActive())
	}
	// Active every 5 minutes for an hour: never idle.
	for range 12 {
		clk.Advance(5 * time.Minute)
		p.Touch(ctx, tn.ID, u.ID)
		_ = p.Heartbeat(ctx)
		if n, _ := p.Sweep(ctx); n != 0 {
			t.Fatal("an active agent went away")
		}
	}
	clk.Advance(11 * time.Minute)
	_ = p.Heartbeat(ctx)
	if n, _ := p.Sweep(ctx); n != 1 {
		t.Fatal("an idle agent stayed online")
	}
}

package natsbus_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"tiski/internal/realtime/natsbus"
	"tiski/internal/realtime/natsbus/natstest"
)

// collector gathers what a subscription receives.
type collector struct {
	mu   sync.Mutex
	got  []string
	cond chan struct{}
}

func newCollector() *collector { return &collector{cond: make(chan struct{}, 1)} }

func (c *collector) add(b []byte) {
	c.mu.Lock()
	c.got = append(c.got, string(b))
	c.mu.Unlock()
	select {
	case c.cond <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func (c *collector) waitLen(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := c.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-c.cond:
		case <-deadline:
			t.Fatalf("received %d events, want %d", len(c.snapshot()), n)
		}
	}
}

func connect(t *testing.T, url string, o natsbus.Options) *natsbus.Bus {
	t.Helper()
	b, err := natsbus.Connect(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestEventsCrossNodesInOrder: what one node publishes reaches every node
// subscribed to the subject, in publish order, and nothing else.
func TestEventsCrossNodesInOrder(t *testing.T) {
	url := natstest.URL(t)
	p := natstest.Prefix()
	a := connect(t, url, natsbus.Options{Shards: 3})
	b := connect(t, url, natsbus.Options{Shards: 3})
	onA, onB, other := newCollector(), newCollector(), newCollector()
	for _, s := range []struct {
		bus  *natsbus.Bus
		subj string
		c    *collector
	}{{a, p + "t.x.c.1", onA}, {b, p + "t.x.c.1", onB}, {b, p + "t.x.c.2", other}} {
		if _, err := s.bus.Subscribe(s.subj, s.c.add); err != nil {
			t.Fatal(err)
		}
	}
	// Subscriptions reach the server before the publishes.
	for _, bus := range []*natsbus.Bus{a, b} {
		if err := bus.Publish(p+"sync", nil); err != nil {
			t.Fatal(err)
		}
	}
	const n = 2000
	for i := range n {
		if err := a.Publish(p+"t.x.c.1", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*collector{"publisher": onA, "other node": onB} {
		got := c.waitLen(t, n)
		for i, s := range got {
			if s != strconv.Itoa(i) {
				t.Fatalf("%s: event %d is %q: out of order or duplicated", name, i, s)
			}
		}
	}
	if got := other.snapshot(); len(got) != 0 {
		t.Fatalf("another subject received %d events", len(got))
	}
}

// TestUnsubscribeStopsDelivery: after Unsubscribe nothing more arrives,
// while other subscriptions of the node carry on.
func TestUnsubscribeStopsDelivery(t *testing.T) {
	url := natstest.URL(t)
	p := natstest.Prefix()
	b := connect(t, url, natsbus.Options{})
	gone, kept := newCollector(), newCollector()
	s, err := b.Subscribe(p+"a", gone.add)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(p+"b", kept.add); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(); err != nil {
		t.Fatalf("second unsubscribe: %v", err)
	}
	_ = b.Publish(p+"a", []byte("1"))
	_ = b.Publish(p+"b", []byte("1"))
	kept.waitLen(t, 1)
	if got := gone.snapshot(); len(got) != 0 {
		t.Fatalf("unsubscribed handler got %v", got)
	}
}

// TestNATSRestart: when NATS goes away the bus says so and refuses to
// publish; when it is back the bus says so, and the subscriptions made
// before the outage carry events again.
func TestNATSRestart(t *testing.T) {
	srv := natstest.Embedded(t)
	states := make(chan bool, 16)
	a := connect(t, srv.URL(), natsbus.Options{OnState: func(up bool) { states <- up }})
	b := connect(t, srv.URL(), natsbus.Options{})
	got := newCollector()
	if _, err := b.Subscribe("tiski.t.x.c.1", got.add); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish("tiski.sync", nil)
	waitFor(t, func() bool {
		_ = a.Publish("tiski.t.x.c.1", []byte("before"))
		return len(got.snapshot()) > 0
	})
	srv.Stop()
	if up := <-states; up {
		t.Fatal("first state change after the outage says up")
	}
	if a.Up() {
		t.Fatal("bus claims to be up while NATS is down")
	}
	if err := a.Publish("tiski.t.x.c.1", []byte("lost")); err == nil {
		t.Fatal("publish while NATS is down did not fail")
	}
	srv.Start()
	select {
	case up := <-states:
		if !up {
			t.Fatal("state after the restart says down")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("bus did not reconnect")
	}
	n := len(got.snapshot())
	waitFor(t, func() bool {
		_ = a.Publish("tiski.t.x.c.1", []byte("after"))
		s := got.snapshot()
		return len(s) > n && s[len(s)-1] == "after"
	})
	for _, s := range got.snapshot() {
		if s == "lost" {
			t.Fatal("an event published during the outage arrived late")
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met in time")
		case <-tick.C:
		}
	}
}

package natsbus_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/config"
	"tiski/internal/realtime/natsbus/natstest"
	"tiski/internal/testsrv"
)

func ready(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNodeThroughNATSOutage: when NATS stops, the node closes its realtime
// connections and refuses new ones (clients show "reconnecting"), says it
// is not ready, and still stores and acknowledges what is sent over HTTP:
// the database is the truth. When NATS is back, clients reconnect by
// themselves and resume, and both sides hold every message exactly once.
func TestNodeThroughNATSOutage(t *testing.T) {
	nats := natstest.Embedded(t)
	env := testsrv.Start(t, testsrv.Options{Config: func(c *config.Config) {
		c.Bus, c.BusPrefix = nats.URL(), natstest.Prefix()
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch := env.OpenChat(t, ctx)
	v, vs, agent, as, conv := ch.Visitor, ch.VS, ch.Agent, ch.AS, ch.Conv
	if _, err := vs.Send(ctx, conv, "m1", "text", "Onko tätä kokoa M?"); err != nil {
		t.Fatal(err)
	}
	if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) >= 3 }); err != nil { // hello, assigned, m1
		t.Fatalf("agent holds %d messages before the outage", len(as.Messages(conv)))
	}
	if code := ready(t, env.URL); code != 200 {
		t.Fatalf("readyz %d before the outage", code)
	}
	visitorConnects, agentConnects := vs.Connects.Load(), as.Connects.Load()
	before, err := v.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}

	nats.Stop()
	for _, s := range []*client.Stream{vs, as} {
		if err := s.WaitFor(ctx, func() bool { return !s.Connected() }); err != nil {
			t.Fatal("a client stayed connected to a node without NATS")
		}
	}
	if code := ready(t, env.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d while NATS is down, want 503", code)
	}
	// Writing over HTTP still works: stored, then acknowledged.
	var sent []string
	for k := range 5 {
		var replies []map[string]any
		id := fmt.Sprint("down-", k)
		if err := v.Do(ctx, "POST", "/rt/frames", map[string]any{"t": "send", "id": id, "conv": conv, "body": "viesti"}, &replies); err != nil {
			t.Fatal(err)
		}
		if len(replies) != 1 || replies[0]["t"] != "ack" {
			t.Fatalf("send during the outage answered %v", replies)
		}
		sent = append(sent, id)
	}
	stored, err := v.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(before)+len(sent) {
		t.Fatalf("visitor's stream holds %d messages in the database, want %d", len(stored), len(before)+len(sent))
	}
	// The realtime clients are still kept out, not let in half-working.
	if vs.Connected() || as.Connected() {
		t.Fatal("a client got back in while NATS is down")
	}

	nats.Start()
	for _, s := range []*client.Stream{vs, as} {
		if err := s.WaitFor(ctx, func() bool { return s.Connected() }); err != nil {
			t.Fatal("a client did not reconnect after NATS came back")
		}
	}
	if vs.Connects.Load() <= visitorConnects || as.Connects.Load() <= agentConnects {
		t.Fatal("clients did not reconnect")
	}
	// Live delivery works again, across the restored subscriptions.
	if _, err := vs.Send(ctx, conv, "m-after", "text", "Kiitos"); err != nil {
		t.Fatal(err)
	}
	want, err := agent.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) >= len(want) }); err != nil {
		t.Fatalf("agent holds %d of %d messages after the outage", len(as.Messages(conv)), len(want))
	}
	got := as.Messages(conv)
	if len(got) != len(want) {
		t.Fatalf("agent holds %d messages, database %d", len(got), len(want))
	}
	for k := range got {
		if got[k].ID != want[k].ID {
			t.Fatalf("agent message %d is %s, database has %s", k+1, got[k].ID, want[k].ID)
		}
	}
	vwant, err := v.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.WaitFor(ctx, func() bool { return len(vs.Messages(conv)) >= len(vwant) }); err != nil {
		t.Fatalf("visitor holds %d of %d messages after the outage", len(vs.Messages(conv)), len(vwant))
	}
	if len(vs.Messages(conv)) != len(vwant) {
		t.Fatalf("visitor holds %d messages, database %d", len(vs.Messages(conv)), len(vwant))
	}
	if code := ready(t, env.URL); code != 200 {
		t.Fatalf("readyz %d after NATS came back", code)
	}
}

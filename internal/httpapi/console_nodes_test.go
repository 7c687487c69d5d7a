package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
	"tiski/internal/realtime/membus"
	"tiski/internal/testsrv"
)

// Presence across nodes: the agent's console is on node A, a supervisor
// watches from node B. Node B hears status changes over the bus, and its
// sweeper reads the heartbeats node A writes to the shared database: it
// keeps the agent online while A sees them and sends them away once not.
func TestPresenceAcrossNodesOverTheBus(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("two nodes share one database only on PostgreSQL (make test-pg runs this)")
	}
	fc := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	bus := membus.New()
	a := testsrv.Start(t, testsrv.Options{Clock: fc, Bus: bus})
	b := testsrv.Start(t, testsrv.Options{Clock: fc, Bus: bus, NoSeed: true, Config: func(c *config.Config) { c.DB = a.Config.DB }})
	ctx := ctxT(t)

	boss, err := client.New(b.URL, testsrv.ShopOrigin).Login(ctx, a.Owner.Email, testsrv.Password)
	if err != nil {
		t.Fatal(err)
	}
	bf := &frameLog{}
	bs := boss.Connect(client.StreamOptions{OnFrame: bf.add, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(bs.Close)
	if err := bs.WaitFor(ctx, bs.Connected); err != nil {
		t.Fatal(err)
	}
	aino := agentLogin(t, a, a.Agents[0].Email)
	as := aino.Connect(client.StreamOptions{BackoffBase: 10 * time.Millisecond})
	t.Cleanup(as.Close)
	if err := as.WaitFor(ctx, as.Connected); err != nil {
		t.Fatal(err)
	}
	heardOnB := func(status string) {
		t.Helper()
		waitFor(t, "node B hearing "+status, func() bool {
			_, ok := bf.find(func(f client.Frame) bool {
				var s struct{ ID, Status string }
				_ = json.Unmarshal(f.A, &s)
				return f.T == "agent" && s.ID == a.Agents[0].ID && s.Status == status
			})
			return ok
		})
	}
	status := func() string {
		var s string
		if err := b.DB.Read().QueryRowContext(ctx, `SELECT status FROM users WHERE id = $1`, a.Agents[0].ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := aino.SetStatus(ctx, "online"); err != nil {
		t.Fatal(err)
	}
	heardOnB("online")
	for range 4 {
		fc.Advance(40 * time.Second)
		if err := a.Presence.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Presence.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != "online" {
			t.Fatalf("node B's sweeper made an agent connected to node A %s", s)
		}
	}
	as.Close()
	waitFor(t, "node A to drop the connection", func() bool { return len(a.Hub.ConnectedAgents()) == 0 })
	fc.Advance(61 * time.Second)
	if err := a.Presence.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Presence.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != "away" {
		t.Fatalf("after the grace period the agent is %s", s)
	}
	heardOnB("away")
}

package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/config"
	"tiski/internal/db/dbtest"
	"tiski/internal/testsrv"
)

// cutter is a TCP proxy to PostgreSQL that the test can cut (as a network
// partition or a stopped server would) and restore on the same port.
type cutter struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newCutter(t *testing.T, target string) *cutter {
	c := &cutter{t: t, target: target, conns: map[net.Conn]struct{}{}}
	c.open("127.0.0.1:0")
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) open(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ln, c.addr = ln, ln.Addr().String()
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns[in], c.conns[out] = struct{}{}, struct{}{}
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close(); in.Close() }()
			go func() { io.Copy(in, out); in.Close(); out.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for k := range c.conns {
		k.Close()
	}
	c.conns = map[net.Conn]struct{}{}
}

func (c *cutter) restore() { c.open(c.addr) }

func readyz(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNodeThroughPostgresOutage: when the database stops answering, sends
// fail with "unavailable" and nothing is acknowledged; the node sends its
// realtime clients away (they show that they are reconnecting) and says it
// is not ready. When the database is back, everything resumes: clients
// reconnect, a retried send is stored once, and both sides hold every
// message.
func TestNodeThroughPostgresOutage(t *testing.T) {
	dsn := dbtest.PostgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg := newCutter(t, u.Host)
	u.Host = pg.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	env := testsrv.Start(t, testsrv.Options{Config: func(c *config.Config) { c.DB = u.String() }})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	ch := env.OpenChat(t, ctx)
	v, vs, agent, as, conv := ch.Visitor, ch.VS, ch.Agent, ch.AS, ch.Conv
	if err := as.WaitFor(ctx, func() bool { return as.Connected() && len(as.Messages(conv)) >= 2 }); err != nil {
		t.Fatal("agent did not get the chat before the outage")
	}

	pg.cut()
	send := func(id string) error {
		var replies []map[string]any
		if err := v.Do(ctx, "POST", "/rt/frames", map[string]any{"t": "send", "id": id, "conv": conv, "body": "viesti"}, &replies); err != nil {
			return err
		}
		if len(replies) != 1 {
			return fmt.Errorf("replies %v", replies)
		}
		if replies[0]["t"] != "ack" {
			return &client.Error{Code: fmt.Sprint(replies[0]["code"]), Message: fmt.Sprint(replies[0]["message"])}
		}
		return nil
	}
	err = send("during")
	if err == nil {
		t.Fatal("a send was acknowledged while the database was cut off")
	}
	if code := errCode(err); code != "unavailable" {
		t.Fatalf("send during the outage failed with %v, want unavailable", err)
	}
	for _, s := range []*client.Stream{vs, as} {
		if err := s.WaitFor(ctx, func() bool { return !s.Connected() }); err != nil {
			t.Fatal("a client stayed connected to a node without its database")
		}
	}
	if code := readyz(t, env.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d while the database is cut off, want 503", code)
	}

	pg.restore()
	for _, s := range []*client.Stream{vs, as} {
		if err := s.WaitFor(ctx, func() bool { return s.Connected() }); err != nil {
			t.Fatal("a client did not reconnect after the database came back")
		}
	}
	// The client retries its unacknowledged send with the same id.
	if err := send("during"); err != nil {
		t.Fatalf("send after the outage: %v", err)
	}
	if _, err := vs.Send(ctx, conv, "after", "text", "Kiitos"); err != nil {
		t.Fatal(err)
	}
	want, err := agent.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range want {
		count[m.CMID]++
	}
	if count["during"] != 1 || count["after"] != 1 {
		t.Fatalf("stored %d copies of the retried send and %d of the next one, want 1 and 1", count["during"], count["after"])
	}
	if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) >= len(want) }); err != nil {
		t.Fatalf("agent holds %d of %d messages after the outage", len(as.Messages(conv)), len(want))
	}
	if got := as.Messages(conv); len(got) != len(want) {
		t.Fatalf("agent holds %d messages, database %d", len(got), len(want))
	}
	if code := readyz(t, env.URL); code != 200 {
		t.Fatalf("readyz %d after the database came back", code)
	}
}

func errCode(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

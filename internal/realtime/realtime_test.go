package realtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/testsrv"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestVisitorAndAgentChat(t *testing.T) {
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) {
			env := testsrv.Start(t, testsrv.Options{})
			ctx := ctxT(t, 30*time.Second)
			c := client.New(env.URL, testsrv.ShopOrigin)
			v, err := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
			if err != nil {
				t.Fatal(err)
			}
			vs := v.Connect(client.StreamOptions{Transport: transport})
			defer vs.Close()
			ack, err := vs.Send(ctx, "", "m1", "text", "Hei, toimitatteko Ouluun?")
			if err != nil {
				t.Fatal(err)
			}
			if ack.Seq != 1 || ack.Conv == "" {
				t.Fatalf("ack %+v", ack)
			}
			conv := ack.Conv
			if err := vs.WaitFor(ctx, func() bool { return len(vs.Messages(conv)) == 1 }); err != nil {
				t.Fatalf("visitor never saw own message: %v", err)
			}

			agent, err := c.Login(ctx, env.Agents[0].Email, testsrv.Password)
			if err != nil {
				t.Fatal(err)
			}
			as := agent.Connect(client.StreamOptions{Transport: transport})
			defer as.Close()
			if err := as.Follow(ctx, conv); err != nil {
				t.Fatal(err)
			}
			if _, err := agent.Take(ctx, conv); err != nil {
				t.Fatal(err)
			}
			if _, err := as.Send(ctx, conv, "a1", "text", "Kyllä, 2–3 päivässä."); err != nil {
				t.Fatal(err)
			}
			if _, err := as.Send(ctx, conv, "n1", "note", "sisäinen muistiinpano"); err != nil {
				t.Fatal(err)
			}
			if _, err := as.Send(ctx, conv, "a2", "text", "Muuta?"); err != nil {
				t.Fatal(err)
			}
			// Visitor: own text, joined, reply, reply — the note never.
			if err := vs.WaitFor(ctx, func() bool { return len(vs.Messages(conv)) == 4 }); err != nil {
				t.Fatalf("visitor has %d messages: %v", len(vs.Messages(conv)), err)
			}
			for i, m := range vs.Messages(conv) {
				if m.Seq != int64(i+1) || m.Kind == "note" {
					t.Fatalf("visitor message %d: %+v", i, m)
				}
			}
			// Agent: the full stream, note included.
			if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) == 5 }); err != nil {
				t.Fatalf("agent has %d messages: %v", len(as.Messages(conv)), err)
			}
			if got := as.Messages(conv)[3].Kind; got != "note" {
				t.Fatalf("agent message 4 is %q, want note", got)
			}
		})
	}
}

func TestResumeAfterDrop(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 30*time.Second)
	c := client.New(env.URL, testsrv.ShopOrigin)
	v, _ := c.NewVisitor(ctx, env.Site.WidgetKey, "en")
	vs := v.Connect(client.StreamOptions{BackoffBase: 10 * time.Millisecond})
	defer vs.Close()
	ack, err := vs.Send(ctx, "", "first", "text", "hello")
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := c.Login(ctx, env.Agents[0].Email, testsrv.Password)
	if _, err := agent.Take(ctx, ack.Conv); err != nil {
		t.Fatal(err)
	}
	as := agent.Connect(client.StreamOptions{Follow: []string{ack.Conv}})
	defer as.Close()
	// While the visitor is cut off, the agent writes; the visitor must
	// receive exactly those messages after reconnecting.
	for i := range 20 {
		vs.Drop()
		if _, err := as.Send(ctx, ack.Conv, fmt.Sprint("a", i), "text", fmt.Sprint("reply ", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := int64(1 + 1 + 20) // hello, joined, 20 replies
	if err := vs.WaitFor(ctx, func() bool { return int64(len(vs.Messages(ack.Conv))) == want }); err != nil {
		t.Fatalf("visitor has %d of %d: %v", len(vs.Messages(ack.Conv)), want, err)
	}
	for i, m := range vs.Messages(ack.Conv) {
		if m.Seq != int64(i+1) {
			t.Fatalf("out of order at %d: %d", i, m.Seq)
		}
	}
	if vs.Connects.Load() < 2 {
		t.Fatalf("visitor never reconnected")
	}
}

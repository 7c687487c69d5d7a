package testsrv

import (
	"context"
	"testing"
	"time"

	"tiski/client"
)

// Chat is a conversation in progress: a shopper and the first agent, both
// with realtime streams that reconnect quickly.
type Chat struct {
	Visitor *client.Visitor
	VS      *client.Stream
	Agent   *client.Agent
	AS      *client.Stream
	Conv    string
}

// OpenChat has a new shopper write "Hei!" (client id m0) and the first
// agent take the conversation and follow it. The streams close with the test.
func (e *Env) OpenChat(t testing.TB, ctx context.Context) Chat {
	t.Helper()
	c := client.New(e.URL, ShopOrigin)
	fast := client.StreamOptions{BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	v, err := c.NewVisitor(ctx, e.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	vs := v.Connect(fast)
	t.Cleanup(vs.Close)
	ack, err := vs.Send(ctx, "", "m0", "text", "Hei!")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := c.Login(ctx, e.Agents[0].Email, Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Take(ctx, ack.Conv); err != nil {
		t.Fatal(err)
	}
	follow := fast
	follow.Follow = []string{ack.Conv}
	as := agent.Connect(follow)
	t.Cleanup(as.Close)
	return Chat{Visitor: v, VS: vs, Agent: agent, AS: as, Conv: ack.Conv}
}

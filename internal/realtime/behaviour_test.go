package realtime_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"tiski/internal/chat"

	"github.com/coder/websocket"

	"tiski/client"
	"tiski/internal/realtime"
	"tiski/internal/testsrv"
)

// frames collects what a stream sees, for assertions on ephemeral events.
type frames struct {
	mu  sync.Mutex
	all []client.Frame
}

func (f *frames) add(fr client.Frame) {
	f.mu.Lock()
	f.all = append(f.all, fr)
	f.mu.Unlock()
}

func (f *frames) find(match func(client.Frame) bool) (client.Frame, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.all {
		if match(fr) {
			return fr, true
		}
	}
	return client.Frame{}, false
}

type chatPair struct {
	env     *testsrv.Env
	c       *client.Client
	visitor *client.Visitor
	vs, as  *client.Stream
	vf, af  *frames
	agent   *client.Agent
	conv    string
}

// newPair starts a visitor chatting with an agent who took the conversation.
func newPair(t *testing.T, ctx context.Context, env *testsrv.Env) *chatPair {
	t.Helper()
	p := &chatPair{env: env, c: client.New(env.URL, testsrv.ShopOrigin), vf: &frames{}, af: &frames{}}
	var err error
	if p.visitor, err = p.c.NewVisitor(ctx, env.Site.WidgetKey, "fi"); err != nil {
		t.Fatal(err)
	}
	p.vs = p.visitor.Connect(client.StreamOptions{OnFrame: p.vf.add, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(p.vs.Close)
	ack, err := p.vs.Send(ctx, "", "hello", "text", "Hei!")
	if err != nil {
		t.Fatal(err)
	}
	p.conv = ack.Conv
	if p.agent, err = p.c.Login(ctx, env.Agents[0].Email, testsrv.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := p.agent.Take(ctx, p.conv); err != nil {
		t.Fatal(err)
	}
	p.as = p.agent.Connect(client.StreamOptions{OnFrame: p.af.add, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(p.as.Close)
	if err := p.as.Follow(ctx, p.conv); err != nil {
		t.Fatal(err)
	}
	return p
}

func wait(t *testing.T, ctx context.Context, s *client.Stream, what string, cond func() bool) {
	t.Helper()
	if err := s.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func TestTypingReadAndPresence(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 20*time.Second)
	p := newPair(t, ctx, env)

	// The agent sees the visitor's draft (the site allows previews)…
	if err := p.vs.Typing(ctx, p.conv, true, "Onko punaista kokoa M"); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.as, "visitor typing", func() bool {
		_, ok := p.af.find(func(f client.Frame) bool { return f.T == "typing" && f.On && f.Text == "Onko punaista kokoa M" })
		return ok
	})
	// …the visitor sees that the agent types, but never text or ids.
	if err := p.as.Typing(ctx, p.conv, true, "secret draft"); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.vs, "agent typing", func() bool {
		_, ok := p.vf.find(func(f client.Frame) bool { return f.T == "typing" && f.From != nil && f.From.Kind == "agent" })
		return ok
	})
	if f, _ := p.vf.find(func(f client.Frame) bool { return f.T == "typing" }); f.Text != "" || f.From.ID != "" {
		t.Fatalf("visitor saw agent draft or id: %+v", f)
	}
	// Presence: the visitor learns that an agent is connected.
	wait(t, ctx, p.vs, "agent presence", func() bool {
		_, ok := p.vf.find(func(f client.Frame) bool { return f.T == "presence" && f.State == "online" && f.From.Kind == "agent" })
		return ok
	})

	// Agent reply, then a note: the agent reads up to the note (seq 4);
	// the visitor learns it in its own numbering (3: hello, joined, reply).
	if _, err := p.as.Send(ctx, p.conv, "r1", "text", "Kyllä on."); err != nil {
		t.Fatal(err)
	}
	if _, err := p.as.Send(ctx, p.conv, "n1", "note", "asiakas kysyy värejä"); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.as, "agent holds 4", func() bool { return len(p.as.Messages(p.conv)) == 4 })
	if err := p.as.Read(ctx, p.conv, 4); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.vs, "read receipt", func() bool {
		_, ok := p.vf.find(func(f client.Frame) bool { return f.T == "read" && f.Reader == "agent" && f.Seq == 3 })
		return ok
	})
	// The visitor reads its 3 messages; the agent sees it as seq 3 too
	// (the note comes after).
	if err := p.vs.Read(ctx, p.conv, 3); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.as, "visitor read", func() bool {
		_, ok := p.af.find(func(f client.Frame) bool { return f.T == "read" && f.Reader == "visitor" && f.Seq == 3 })
		return ok
	})
	// Read positions are stored.
	var n int
	if err := env.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM read_marks WHERE conversation_id = $1`, p.conv).Scan(&n); err != nil || n != 2 {
		t.Fatalf("stored read marks %d: %v", n, err)
	}
	// Typing is never stored.
	if err := env.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = $1`, p.conv).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d messages stored, want 4", n)
	}
	// Leaving is announced.
	p.as.Close()
	wait(t, ctx, p.vs, "agent offline", func() bool {
		_, ok := p.vf.find(func(f client.Frame) bool { return f.T == "presence" && f.State == "offline" })
		return ok
	})
}

func TestTwoTabsStayInStep(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 20*time.Second)
	p := newPair(t, ctx, env)
	// A second tab of the same shopper (same token).
	tab2 := p.c.ResumeVisitor(env.Site.WidgetKey, p.visitor.ID, p.visitor.Token).Connect(client.StreamOptions{})
	defer tab2.Close()
	wait(t, ctx, tab2, "tab 2 catches up", func() bool { return len(tab2.Messages(p.conv)) == 2 })
	if _, err := tab2.Send(ctx, p.conv, "from-tab-2", "text", "toisesta välilehdestä"); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, p.vs, "tab 1 sees tab 2", func() bool { return len(p.vs.Messages(p.conv)) == 3 })

	// The agent closes; the shopper writes again in tab 1: a new
	// conversation starts, linked to the old one, and tab 2 follows it.
	if _, err := p.agent.Close(ctx, p.conv); err != nil {
		t.Fatal(err)
	}
	ack, err := p.vs.Send(ctx, p.conv, "after-close", "text", "vielä yksi asia")
	if err != nil {
		t.Fatal(err)
	}
	if ack.Conv == p.conv || ack.Seq != 1 {
		t.Fatalf("writing after close: %+v", ack)
	}
	wait(t, ctx, tab2, "tab 2 follows the new conversation", func() bool { return len(tab2.Messages(ack.Conv)) == 1 })
	convs, err := p.visitor.Conversations(ctx)
	if err != nil || len(convs) != 2 || convs[0].PreviousID != p.conv {
		t.Fatalf("history %+v: %v", convs, err)
	}
}

func TestEpochChangeMakesClientsRefetch(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 20*time.Second)
	p := newPair(t, ctx, env)
	for i := range 3 {
		if _, err := p.as.Send(ctx, p.conv, fmt.Sprint("a", i), "text", "x"); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, ctx, p.vs, "visitor holds 5", func() bool { return len(p.vs.Messages(p.conv)) == 5 })
	// A restore from an older backup: the last two messages are gone and
	// the epochs rotate.
	if err := env.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = $1 AND seq > 3`, p.conv); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE conversations SET last_seq = 3, last_visitor_seq = 3 WHERE id = $1`, p.conv)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Chat.RotateEpochs(ctx); err != nil || n != 1 {
		t.Fatalf("rotate epochs: %d %v", n, err)
	}
	// New messages reuse seq 4 and 5 with other content. A client trusting
	// its cache would now hold the wrong messages.
	if _, err := p.as.Send(ctx, p.conv, "post-restore", "text", "after the restore"); err != nil {
		t.Fatal(err)
	}
	p.vs.Drop()
	wait(t, ctx, p.vs, "reset and refetch", func() bool {
		ms := p.vs.Messages(p.conv)
		return p.vs.Resets.Load() == 1 && len(ms) == 4 && ms[3].Body == "after the restore"
	})
}

// TestSlowConsumerIsDisconnectedAndResumes: a client that stops reading is
// cut off rather than allowed to grow the server's memory, and resumes
// without losing a stored message.
func TestSlowConsumerIsDisconnectedAndResumes(t *testing.T) {
	// Small queues; the well-behaved clients read promptly and stay far below.
	env := testsrv.Start(t, testsrv.Options{Hub: realtime.Options{QueueFrames: 64, QueueBytes: 1 << 20, SendRate: 1e6, SendBurst: 1e6}})
	ctx := ctxT(t, 60*time.Second)
	p := newPair(t, ctx, env)

	// A raw agent socket that follows the conversation and then stops reading.
	hdr := http.Header{"Origin": {env.URL}, "Cookie": {agentCookie(t, ctx, env, env.Owner.Email)}}
	// A tiny receive buffer, so that the socket backs up after a few frames.
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stalled := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/api/console/v1/rt", &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: stalled})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	hello, _ := json.Marshal(map[string]any{"t": "hello", "v": 1, "subs": []map[string]any{{"conv": p.conv, "after": 0}}})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	// Flood: far more than the queue and the socket buffers hold, from
	// several writers at once (they share commits).
	body := strings.Repeat("ä", 5000)
	before := env.Hub.SlowConsumers.Load()
	start := time.Now()
	a := env.Agents[0]
	actor := chat.Actor{Kind: chat.AgentActor, ID: a.ID, TenantID: a.TenantID, Name: a.Name}
	var sent atomic.Int64
	var flood sync.WaitGroup
	for w := range 8 {
		flood.Add(1)
		go func() {
			defer flood.Done()
			for i := 0; env.Hub.SlowConsumers.Load() == before && i < 1000; i++ {
				if _, err := env.Chat.Send(ctx, actor, chat.SendInput{ConversationID: p.conv, ClientMsgID: fmt.Sprintf("flood-%d-%d", w, i), Kind: chat.Text, Body: body}); err != nil {
					t.Error(err)
					return
				}
				sent.Add(1)
			}
		}()
	}
	flood.Wait()
	if env.Hub.SlowConsumers.Load() == before {
		t.Fatal("the stalled client was never disconnected")
	}
	// The stalled socket delivers what it had queued, then ends. Frames of
	// concurrent writers may arrive out of order; the client keeps what it
	// got and resumes after the longest run it holds without a gap.
	got := map[int64]bool{}
	var closeErr error
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			closeErr = err
			break
		}
		var f struct {
			T   string `json:"t"`
			Seq int64  `json:"seq"`
		}
		json.Unmarshal(data, &f)
		if f.T == "msg" {
			got[f.Seq] = true
		}
	}
	// A close frame cannot pass a full pipe, so the socket may just end;
	// if a close code arrives it must be the slow-consumer one.
	if code := websocket.CloseStatus(closeErr); code != -1 && code != realtime.CloseSlowConsumer {
		t.Fatalf("closed with %v, want %d", closeErr, realtime.CloseSlowConsumer)
	}
	held := int64(0)
	for got[held+1] {
		held++
	}
	var stored int64
	env.DB.Read().QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE id = $1`, p.conv).Scan(&stored)
	if held >= stored {
		t.Fatalf("the stalled client received everything (%d); nothing was cut off", held)
	}
	ws2, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/api/console/v1/rt", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	ws2.SetReadLimit(1 << 20)
	hello, _ = json.Marshal(map[string]any{"t": "hello", "v": 1, "subs": []map[string]any{{"conv": p.conv, "after": held}}})
	ws2.Write(ctx, websocket.MessageText, hello)
	for {
		_, data, err := ws2.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			T   string `json:"t"`
			Seq int64  `json:"seq"`
		}
		json.Unmarshal(data, &f)
		if f.T == "msg" {
			if f.Seq <= held {
				t.Fatalf("resume sent seq %d, which the client holds", f.Seq)
			}
			got[f.Seq] = true
		}
		if f.T == "synced" {
			if f.Seq != stored {
				t.Fatalf("synced at %d, stored %d", f.Seq, stored)
			}
			break
		}
	}
	for seq := int64(1); seq <= stored; seq++ {
		if !got[seq] {
			t.Fatalf("message %d of %d never reached the client", seq, stored)
		}
	}
	t.Logf("cut off holding %d of %d; resumed in %v", held, stored, time.Since(start))
}

func agentCookie(t *testing.T, ctx context.Context, env *testsrv.Env, email string) string {
	t.Helper()
	body := strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, testsrv.Password))
	req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/console/v1/login", body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "tiski_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestHandshakeRefusals(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 20*time.Second)
	c := client.New(env.URL, testsrv.ShopOrigin)
	v, err := c.NewVisitor(ctx, env.Site.WidgetKey, "en")
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/widget/v1/sites/" + env.Site.WidgetKey + "/rt"

	// An origin the site does not allow never gets a socket.
	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", err, resp)
	}
	// An unknown site key.
	_, resp, err = websocket.Dial(ctx, strings.Replace(wsURL, env.Site.WidgetKey, "w_nosuchsite", 1), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {testsrv.ShopOrigin}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown site: %v %v", err, resp)
	}

	cases := []struct {
		name  string
		hello string
		code  string
		close websocket.StatusCode
	}{
		{"bad token", `{"t":"hello","v":1,"token":"v_wrong"}`, "unauthorized", realtime.CloseUnauthorized},
		{"no token", `{"t":"hello","v":1}`, "unauthorized", realtime.CloseUnauthorized},
		{"future version", `{"t":"hello","v":2,"token":"` + v.Token + `"}`, "unsupported", realtime.CloseBadFrame},
		{"not hello", `{"t":"send","id":"x","body":"hi"}`, "invalid", realtime.CloseBadFrame},
		{"unknown field", `{"t":"hello","v":1,"tokn":"x"}`, "invalid", realtime.CloseBadFrame},
		{"invalid utf-8", "{\"t\":\"hello\",\"v\":1,\"token\":\"\xff\"}", "invalid", realtime.CloseBadFrame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {testsrv.ShopOrigin}}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			ws.Write(ctx, websocket.MessageText, []byte(tc.hello))
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("no error frame: %v", err)
			}
			var f struct{ T, Code string }
			json.Unmarshal(data, &f)
			if f.T != "error" || f.Code != tc.code {
				t.Fatalf("got %s, want error %s", data, tc.code)
			}
			_, _, err = ws.Read(ctx)
			if got := websocket.CloseStatus(err); got != tc.close {
				t.Fatalf("closed with %v, want %d", err, tc.close)
			}
		})
	}
}

func TestBadFramesGetErrorsAndConnectionSurvives(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t, 20*time.Second)
	p := newPair(t, ctx, env)
	other := newPair(t, ctx, env) // another shopper's conversation
	cases := []struct {
		frame map[string]any
		code  string
	}{
		{map[string]any{"t": "send", "id": "x1", "conv": other.conv, "body": "hijack"}, "not_found"},
		{map[string]any{"t": "send", "id": "x2", "conv": p.conv, "body": strings.Repeat("ä", 5001)}, "too_large"},
		{map[string]any{"t": "send", "id": "x3", "conv": p.conv, "body": "   "}, "invalid"},
		{map[string]any{"t": "send", "id": "bad id!", "conv": p.conv, "body": "x"}, "invalid"},
		{map[string]any{"t": "send", "id": "x4", "conv": p.conv, "kind": "note", "body": "visitors cannot write notes"}, "invalid"},
		{map[string]any{"t": "fetch", "conv": other.conv, "after": 0}, "not_found"},
		{map[string]any{"t": "read", "conv": p.conv, "seq": 99}, "invalid"},
		{map[string]any{"t": "sub", "conv": "not-an-id"}, "not_found"},
		{map[string]any{"t": "typing", "conv": p.conv}, "invalid"},
		{map[string]any{"t": "nonsense"}, "invalid"},
	}
	// The client API only sends valid frames: write these raw, on a
	// socket of the same visitor.
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/widget/v1/sites/" + env.Site.WidgetKey + "/rt"
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {testsrv.ShopOrigin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := json.Marshal(map[string]any{"t": "hello", "v": 1, "token": p.visitor.Token})
	ws.Write(ctx, websocket.MessageText, hello)
	for i, tc := range cases {
		tc.frame["rid"] = fmt.Sprint("r", i)
		data, _ := json.Marshal(tc.frame)
		if err := ws.Write(ctx, websocket.MessageText, data); err != nil {
			t.Fatal(err)
		}
		for {
			_, reply, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("case %d: connection lost: %v", i, err)
			}
			var f struct{ T, RID, Code string }
			json.Unmarshal(reply, &f)
			if f.RID != fmt.Sprint("r", i) {
				continue // replay, presence…
			}
			if f.T != "error" || f.Code != tc.code {
				t.Fatalf("case %d %v: got %s, want error %s", i, tc.frame["t"], reply, tc.code)
			}
			break
		}
	}
	// Nothing of it was stored, and the connection still works.
	var n int
	env.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE client_msg_id LIKE 'x%'`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rejected messages stored", n)
	}
	ping, _ := json.Marshal(map[string]any{"t": "ping", "rid": "alive"})
	ws.Write(ctx, websocket.MessageText, ping)
	for {
		_, reply, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(reply), `"rid":"alive"`) {
			break
		}
	}
}

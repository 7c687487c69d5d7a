package httpapi_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/testsrv"
	"tiski/internal/user"
)

// frameLog collects what a stream sees.
type frameLog struct {
	mu  sync.Mutex
	all []client.Frame
}

func (f *frameLog) add(fr client.Frame) {
	f.mu.Lock()
	f.all = append(f.all, fr)
	f.mu.Unlock()
}

func (f *frameLog) find(match func(client.Frame) bool) (client.Frame, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.all {
		if match(fr) {
			return fr, true
		}
	}
	return client.Frame{}, false
}

func (f *frameLog) each(fn func(client.Frame)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.all {
		fn(fr)
	}
}

func agentLogin(t *testing.T, env *testsrv.Env, email string) *client.Agent {
	t.Helper()
	a, err := client.New(env.URL, testsrv.ShopOrigin).Login(ctxT(t), email, testsrv.Password)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func do(t *testing.T, a *client.Agent, method, path string, in, out any) {
	t.Helper()
	if err := a.Do(ctxT(t), method, path, in, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

func apiErr(t *testing.T, err error, status int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("want HTTP %d, got %v", status, err)
	}
	return e
}

// agentSay sends a text by the frames endpoint.
func agentSay(t *testing.T, a *client.Agent, conv, cmid, body string) {
	t.Helper()
	var replies []client.Frame
	do(t, a, "POST", "/rt/frames", map[string]any{"t": "send", "id": cmid, "conv": conv, "body": body}, &replies)
	if len(replies) != 1 || replies[0].T != "ack" {
		t.Fatalf("send %q: %+v", body, replies)
	}
}

// newVisitorChat starts a visitor with a first message and returns the
// visitor and conversation id.
func newVisitorChat(t *testing.T, env *testsrv.Env, name, email, body string) (*client.Visitor, string) {
	t.Helper()
	ctx := ctxT(t)
	v, err := client.New(env.URL, testsrv.ShopOrigin).NewVisitor(ctx, env.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	if name != "" || email != "" {
		if err := v.Do(ctx, "PATCH", "/me", map[string]any{"name": name, "email": email}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return v, sendText(t, v, "", "first", body).Conv
}

// Notes, whispers and transfer notes reach agents and nobody else: not the
// visitor's messages API, not their realtime stream, not the transcript.
func TestNotesNeverReachTheVisitor(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	v, conv := newVisitorChat(t, env, "Vieno Vierailija", "vieno@example.fi", "Missä tilaukseni on?")
	vf := &frameLog{}
	vs := v.Connect(client.StreamOptions{OnFrame: vf.add, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(vs.Close)

	aino, eero := agentLogin(t, env, env.Agents[0].Email), agentLogin(t, env, env.Agents[1].Email)
	boss := agentLogin(t, env, env.Owner.Email)
	if _, err := aino.Take(ctx, conv); err != nil {
		t.Fatal(err)
	}
	af := &frameLog{}
	as := aino.Connect(client.StreamOptions{OnFrame: af.add, Follow: []string{conv}, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(as.Close)
	if _, err := as.Send(ctx, conv, "r1", "text", "Katson heti."); err != nil {
		t.Fatal(err)
	}
	do(t, aino, "POST", "/conversations/"+conv+"/notes", map[string]any{"id": "n1", "body": "SALAINEN-1 asiakas vaikuttaa vihaiselta"}, nil)
	if _, err := as.Send(ctx, conv, "n2", "note", "SALAINEN-2 tilaus 4711 myöhässä"); err != nil {
		t.Fatal(err)
	}
	var whisper struct {
		M client.Message `json:"m"`
	}
	do(t, boss, "POST", "/conversations/"+conv+"/notes", map[string]any{"id": "w1", "body": "SALAINEN-3 tarjoa alennus", "whisper": true}, &whisper)
	if string(whisper.M.Data) != `{"whisper":true}` || whisper.M.Kind != "note" {
		t.Fatalf("whisper stored as %+v", whisper.M)
	}
	do(t, aino, "POST", "/conversations/"+conv+"/transfer", map[string]any{"agent_id": env.Agents[1].ID, "note": "SALAINEN-4 jatka tästä"}, nil)
	agentSay(t, eero, conv, "r2", "Hei, jatkan tästä!")
	if err := vs.WaitFor(ctx, func() bool {
		for _, m := range vs.Messages(conv) {
			if m.Body == "Hei, jatkan tästä!" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the visitor never got the last reply: %v", err)
	}

	// The agents' stream holds all four notes, numbered among the rest.
	all, err := aino.Messages(ctx, conv, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, m := range all {
		if m.Kind == "note" {
			notes++
			if m.VSeq != 0 {
				t.Errorf("note %q has a visitor sequence %d", m.Body, m.VSeq)
			}
		}
	}
	if notes != 4 {
		t.Fatalf("agents see %d notes, want 4: %+v", notes, all)
	}
	// The visitor's API, stream and the frames they saw: no note, no gap.
	vms, err := v.Messages(ctx, conv, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range vms {
		if m.Seq != int64(i+1) {
			t.Fatalf("visitor stream has a gap at %d: %+v", i, vms)
		}
		if strings.Contains(m.Body, "SALAINEN") || m.Kind == "note" {
			t.Fatalf("a note reached the visitor's API: %+v", m)
		}
	}
	if len(vms) != len(all)-notes {
		t.Fatalf("visitor sees %d messages, agents %d with %d notes", len(vms), len(all), notes)
	}
	for _, m := range vs.Messages(conv) {
		if strings.Contains(m.Body, "SALAINEN") {
			t.Fatalf("a note reached the visitor's stream: %+v", m)
		}
	}
	vf.each(func(f client.Frame) {
		raw, _ := json.Marshal(f)
		if strings.Contains(string(raw), "SALAINEN") || strings.Contains(string(raw), "whisper") {
			t.Errorf("a visitor frame carries a note: %s", raw)
		}
	})

	// The transcript holds what the visitor saw, and nothing else.
	var queued struct {
		Queued bool   `json:"queued"`
		To     string `json:"to"`
	}
	do(t, eero, "POST", "/conversations/"+conv+"/transcript", map[string]any{}, &queued)
	if !queued.Queued || queued.To != "vieno@example.fi" {
		t.Fatalf("transcript answer %+v", queued)
	}
	var text string
	if err := env.DB.Read().QueryRowContext(ctx, `SELECT text_body FROM mail_outbox WHERE kind = 'transcript' AND to_addr = $1`, queued.To).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Katson heti.") || !strings.Contains(text, "Hei, jatkan tästä!") || !strings.Contains(text, "Missä tilaukseni on?") {
		t.Fatalf("transcript misses the conversation: %q", text)
	}
	if strings.Contains(text, "SALAINEN") {
		t.Fatalf("transcript carries a note: %q", text)
	}
	if n := count(t, env, `SELECT COUNT(*) FROM events WHERE conversation_id = $1 AND type = 'conversation.transcript'`, conv); n != 1 {
		t.Fatalf("transcript events %d", n)
	}
}

// Transfers racing for an agent's last free slot: exactly one wins.
func TestTransferRaceRespectsTheCap(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	one := 1
	if _, err := env.Users.Update(ctx, env.Tenant.ID, env.Agents[1].ID, user.Update{MaxChats: &one}); err != nil {
		t.Fatal(err)
	}
	aino := agentLogin(t, env, env.Agents[0].Email)
	const n = 6
	convs := make([]string, n)
	for i := range convs {
		_, convs[i] = newVisitorChat(t, env, "", "", "Hei")
		if _, err := aino.Take(ctx, convs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = aino.Do(ctx, "POST", "/conversations/"+convs[i]+"/transfer", map[string]any{"agent_id": env.Agents[1].ID, "note": "sinulle"}, nil)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		if e := apiErr(t, err, 409); !strings.Contains(e.Message, "capacity (1/1)") {
			t.Errorf("refusal says %q", e.Message)
		}
	}
	if won != 1 {
		t.Fatalf("%d transfers won the last slot, want 1: %v", won, errs)
	}
	if got := count(t, env, `SELECT COUNT(*) FROM conversations WHERE assignee_id = $1 AND status = 'assigned'`, env.Agents[1].ID); got != 1 {
		t.Fatalf("agent holds %d conversations over a cap of 1", got)
	}
	if got := count(t, env, `SELECT COUNT(*) FROM events WHERE type = 'conversation.transferred'`); got != 1 {
		t.Fatalf("%d transfer events, want 1", got)
	}
	if got := count(t, env, `SELECT COUNT(*) FROM messages WHERE kind = 'note' AND body = 'sinulle'`); got != 1 {
		t.Fatalf("%d transfer notes stored, want 1 (losers must write nothing)", got)
	}
}

// A transfer to a department puts the chat back in the queue for it.
func TestTransferToDepartmentRequeues(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ctx := ctxT(t)
	dep, err := env.Tenants.CreateDepartment(ctx, env.Tenant.ID, "Laskutus")
	if err != nil {
		t.Fatal(err)
	}
	_, conv := newVisitorChat(t, env, "Ville", "", "Laskussa on virhe")
	aino, eero := agentLogin(t, env, env.Agents[0].Email), agentLogin(t, env, env.Agents[1].Email)
	if _, err := aino.Take(ctx, conv); err != nil {
		t.Fatal(err)
	}
	// Only the conversation's agent (or a supervisor) may move it.
	err = eero.Do(ctx, "POST", "/conversations/"+conv+"/transfer", map[string]any{"department_id": dep.ID}, nil)
	apiErr(t, err, 403)
	var c client.Conversation
	do(t, aino, "POST", "/conversations/"+conv+"/transfer", map[string]any{"department_id": dep.ID, "note": "laskutukselle"}, &c)
	if c.Status != "queued" || c.AssigneeID != "" {
		t.Fatalf("after transfer to a department: %+v", c)
	}
	fc.Advance(95 * time.Second)
	var q struct {
		Conversations []struct {
			ID             string `json:"id"`
			DepartmentID   string `json:"department_id"`
			DepartmentName string `json:"department_name"`
			WaitSeconds    int64  `json:"wait_seconds"`
			VisitorName    string `json:"visitor_name"`
			Preview        string `json:"preview"`
		} `json:"conversations"`
	}
	do(t, eero, "GET", "/inbox/queue", nil, &q)
	if len(q.Conversations) != 1 {
		t.Fatalf("queue %+v", q)
	}
	it := q.Conversations[0]
	if it.ID != conv || it.DepartmentID != dep.ID || it.DepartmentName != "Laskutus" || it.WaitSeconds != 95 || it.VisitorName != "Ville" || it.Preview != "Laskussa on virhe" {
		t.Fatalf("queue item %+v", it)
	}
	ms, err := eero.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last2 := ms[len(ms)-2:]
	if last2[0].Event != "transferred" || last2[1].Kind != "note" || last2[1].Body != "laskutukselle" {
		t.Fatalf("transfer left %+v", last2)
	}
	if n := count(t, env, `SELECT COUNT(*) FROM events WHERE conversation_id = $1 AND type = 'conversation.transferred'`, conv); n != 1 {
		t.Fatalf("transfer events %d", n)
	}
}

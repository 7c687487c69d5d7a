package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

type fixture struct {
	db     *db.DB
	clock  *clock.Fake
	chat   *chat.Service
	tenant tenant.Tenant
	site   site.Site
	agent  chat.Actor
	agent2 chat.Actor
	sup    chat.Actor
	users  *user.Store
	vis    *visitor.Store
	notes  *recorder
}

type recorder struct {
	mu      sync.Mutex
	changes []chat.Change
}

func (r *recorder) Notify(_ context.Context, c chat.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

var cheap = auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	f := &fixture{db: d, clock: clk, notes: &recorder{}}
	f.chat = chat.NewService(d, clk, f.notes, nil)
	var err error
	if f.tenant, err = tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy"); err != nil {
		t.Fatal(err)
	}
	if f.site, err = site.NewStore(d, clk).Create(ctx, f.tenant.ID, site.New{Name: "Kauppa", Origins: []string{"https://kauppa.example"}}); err != nil {
		t.Fatal(err)
	}
	f.users = user.NewStore(d, clk, cheap)
	f.vis = visitor.NewStore(d, clk, 365*24*time.Hour)
	mk := func(email string, role user.Role, max int) chat.Actor {
		u, err := f.users.Create(ctx, f.tenant.ID, user.New{Email: email, Name: email[:5], Role: role, Password: "correct horse battery", MaxChats: max})
		if err != nil {
			t.Fatal(err)
		}
		return chat.Actor{Kind: chat.AgentActor, ID: u.ID, TenantID: f.tenant.ID, Name: u.Name, Supervisor: role.AtLeast(user.Supervisor)}
	}
	f.agent = mk("aino@kauppa.example", user.Agent, 2)
	f.agent2 = mk("eero@kauppa.example", user.Agent, 2)
	f.sup = mk("sanna@kauppa.example", user.Owner, 5)
	return f
}

func (f *fixture) visitor(t *testing.T) chat.Actor {
	t.Helper()
	v, _, err := f.vis.Create(context.Background(), f.tenant.ID, f.site.ID, "fi")
	if err != nil {
		t.Fatal(err)
	}
	return chat.Actor{Kind: chat.VisitorActor, ID: v.ID, TenantID: f.tenant.ID, SiteID: f.site.ID}
}

func text(conv, cmid, body string) chat.SendInput {
	return chat.SendInput{ConversationID: conv, ClientMsgID: cmid, Kind: chat.Text, Body: body}
}

func TestConversationLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)

	r, err := f.chat.Send(ctx, v, text("", "m1", "Toimitetaanko Ouluun?"))
	if err != nil {
		t.Fatal(err)
	}
	conv := r.Conversation
	if conv.Status != chat.Queued || r.Message.Seq != 1 || r.Message.VisitorSeq != 1 {
		t.Fatalf("first message: status %s seq %d/%d", conv.Status, r.Message.Seq, r.Message.VisitorSeq)
	}
	// An agent cannot answer before taking the conversation.
	if _, err := f.chat.Send(ctx, f.agent, text(conv.ID, "a1", "Hei")); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("send before take: %v", err)
	}
	if conv, err = f.chat.Assign(ctx, f.agent, conv.ID, "", ""); err != nil || conv.Status != chat.Assigned || conv.AssigneeID != f.agent.ID {
		t.Fatalf("take: %v %+v", err, conv)
	}
	// A second agent cannot take it away.
	if _, err := f.chat.Assign(ctx, f.agent2, conv.ID, "", ""); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second take: %v", err)
	}
	if _, err := f.chat.Send(ctx, f.agent, text(conv.ID, "a1", "Kyllä, 2–3 päivässä.")); err != nil {
		t.Fatal(err)
	}
	note, err := f.chat.Send(ctx, f.agent, chat.SendInput{ConversationID: conv.ID, ClientMsgID: "n1", Kind: chat.Note, Body: "VIP customer"})
	if err != nil || note.Message.VisitorSeq != 0 {
		t.Fatalf("note: %v %+v", err, note.Message)
	}
	if conv, err = f.chat.Assign(ctx, f.agent, conv.ID, f.agent2.ID, "asks about delivery"); err != nil || conv.AssigneeID != f.agent2.ID {
		t.Fatalf("transfer: %v", err)
	}
	if conv, err = f.chat.Close(ctx, f.agent2, conv.ID); err != nil || conv.Status != chat.Closed || conv.ClosedBy != "agent" {
		t.Fatalf("close: %v %+v", err, conv)
	}
	if _, err := f.chat.Rate(ctx, v, conv.ID, "good", "Kiitos!"); err != nil {
		t.Fatal(err)
	}

	// The agent's stream has everything, gapless; the visitor's hides notes.
	all, _, err := f.chat.Messages(ctx, f.agent2, conv.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("agent stream gap at %d: seq %d", i, m.Seq)
		}
		kinds = append(kinds, string(m.Kind)+":"+m.Event)
	}
	want := "[text: event:joined text: note: event:transferred note: event:closed event:rated]"
	if fmt.Sprint(kinds) != want {
		t.Fatalf("agent stream %v, want %s", kinds, want)
	}
	seen, _, err := f.chat.Messages(ctx, v, conv.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 6 {
		t.Fatalf("visitor sees %d messages, want 6", len(seen))
	}
	for i, m := range seen {
		if m.VisitorSeq != int64(i+1) || m.Kind == chat.Note {
			t.Fatalf("visitor stream wrong at %d: %+v", i, m)
		}
	}

	// Writing after close starts a new conversation linked to the old one.
	r2, err := f.chat.Send(ctx, v, text(conv.ID, "m2", "Vielä yksi kysymys"))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Conversation.ID == conv.ID || r2.Conversation.PreviousID != conv.ID || r2.Message.Seq != 1 {
		t.Fatalf("new conversation: %+v", r2.Conversation)
	}
	hist, err := f.chat.VisitorConversations(ctx, f.tenant.ID, v.ID, 0)
	if err != nil || len(hist) != 2 || hist[0].ID != r2.Conversation.ID {
		t.Fatalf("history: %v %+v", err, hist)
	}
}

func TestSendIsIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	first, err := f.chat.Send(ctx, v, text("", "same-id", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.chat.Send(ctx, v, text(first.Conversation.ID, "same-id", "hello"))
	if err != nil || !again.Duplicate || again.Message.ID != first.Message.ID || again.Message.Seq != first.Message.Seq {
		t.Fatalf("retry: %v %+v", err, again)
	}
	// Even after the conversation closed, the retry is recognised.
	if _, err := f.chat.Close(ctx, v, first.Conversation.ID); err != nil {
		t.Fatal(err)
	}
	late, err := f.chat.Send(ctx, v, text("", "same-id", "hello"))
	if err != nil || !late.Duplicate || late.Message.ID != first.Message.ID {
		t.Fatalf("late retry: %v %+v", err, late)
	}
	if _, err := f.chat.Send(ctx, v, text("", "same-id", "different")); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("reuse with other body: %v", err)
	}
	convs, _ := f.chat.VisitorConversations(ctx, f.tenant.ID, v.ID, 0)
	if len(convs) != 1 {
		t.Fatalf("retries started %d conversations", len(convs))
	}
}

func TestConcurrentSendsAreGapless(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	first, err := f.chat.Send(ctx, v, text("", "start", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	conv := first.Conversation
	if _, err := f.chat.Assign(ctx, f.agent, conv.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				a := v
				if w%2 == 1 {
					a = f.agent
				}
				// Every send is tried twice: the retry must not add a row.
				for range 2 {
					if _, err := f.chat.Send(ctx, a, text(conv.ID, fmt.Sprintf("w%d-%d", w, i), "msg")); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, c, err := f.chat.Messages(ctx, f.agent, conv.ID, 0, chat.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 402 || c.LastSeq != 402 {
		t.Fatalf("stored %d messages, last_seq %d; want 402", len(all), c.LastSeq)
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("gap at %d: %d", i, m.Seq)
		}
	}
	if st := f.db.Stats(); st.Commits >= st.Writes {
		t.Logf("no batching observed: %+v", st)
	}
}

func TestCapacityAndPermissions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var convs []chat.Conversation
	for i := range 3 {
		r, err := f.chat.Send(ctx, f.visitor(t), text("", fmt.Sprint("c", i), "hi"))
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, r.Conversation)
	}
	for _, c := range convs[:2] {
		if _, err := f.chat.Assign(ctx, f.agent, c.ID, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.chat.Assign(ctx, f.agent, convs[2].ID, "", ""); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("over cap: %v", err)
	}
	// An agent cannot push a queued chat onto a colleague; a supervisor can.
	if _, err := f.chat.Assign(ctx, f.agent2, convs[2].ID, f.sup.ID, ""); !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("agent assigning to other: %v", err)
	}
	if _, err := f.chat.Assign(ctx, f.sup, convs[2].ID, f.agent2.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Another tenant's actor sees nothing.
	other := chat.Actor{Kind: chat.AgentActor, ID: f.agent.ID, TenantID: "00000000-0000-7000-8000-000000000000", Supervisor: true}
	if _, err := f.chat.Get(ctx, other, convs[0].ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("cross-tenant get: %v", err)
	}
	if _, err := f.chat.Close(ctx, other, convs[0].ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("cross-tenant close: %v", err)
	}
	// A visitor cannot read another visitor's conversation.
	if _, _, err := f.chat.Messages(ctx, f.visitor(t), convs[0].ID, 0, 10); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("foreign visitor: %v", err)
	}
}

func TestCloseInactive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	r, err := f.chat.Send(ctx, v, text("", "x", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.chat.CloseInactive(ctx, 30*time.Minute); err != nil || n != 0 {
		t.Fatalf("fresh conversation closed: %d %v", n, err)
	}
	f.clock.Advance(31 * time.Minute)
	if n, err := f.chat.CloseInactive(ctx, 30*time.Minute); err != nil || n != 1 {
		t.Fatalf("idle conversation not closed: %d %v", n, err)
	}
	c, err := f.chat.Get(ctx, v, r.Conversation.ID)
	if err != nil || c.Status != chat.Closed || c.ClosedBy != "timeout" {
		t.Fatalf("after sweep: %v %+v", err, c)
	}
}

func TestReadMarksMoveForward(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	r, _ := f.chat.Send(ctx, v, text("", "1", "a"))
	f.chat.Send(ctx, v, text("", "2", "b"))
	conv := r.Conversation.ID
	if err := f.chat.MarkRead(ctx, f.agent, conv, 2); err != nil {
		t.Fatal(err)
	}
	if err := f.chat.MarkRead(ctx, f.agent, conv, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.chat.MarkRead(ctx, f.agent, conv, 3); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("beyond last: %v", err)
	}
	marks, err := f.chat.ReadMarks(ctx, f.tenant.ID, conv)
	if err != nil || len(marks) != 1 || marks[0].Seq != 2 {
		t.Fatalf("marks %v %+v", err, marks)
	}
}

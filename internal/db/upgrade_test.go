package db_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/visitor"
)

// TestUpgradeRebuildsMessagesWithoutLoss: migration 0017 rebuilds the
// messages table of a database that has conversations in it. Every
// message keeps its id and numbers, history search still finds old text,
// retries of old sends are still recognised, and new sends go on from the
// stored sequence.
func TestUpgradeRebuildsMessagesWithoutLoss(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "old.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.MigrateUpTo(ctx, 16, time.Now()); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	ten, err := tenant.NewStore(d, clk).Create(ctx, "Vanha Kauppa Oy")
	if err != nil {
		t.Fatal(err)
	}
	st, err := site.NewStore(d, clk).Create(ctx, ten.ID, site.New{Name: "Vanha", Origins: []string{"https://vanha.example"}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := visitor.NewStore(d, clk, time.Hour).Create(ctx, ten.ID, st.ID, "fi")
	if err != nil {
		t.Fatal(err)
	}
	shopper := chat.Actor{Kind: chat.VisitorActor, ID: v.ID, TenantID: ten.ID, SiteID: st.ID}
	svc := chat.NewService(d, clk, nil, nil)
	send := func(conv, cmid, body string) chat.SendResult {
		t.Helper()
		r, err := svc.Send(ctx, shopper, chat.SendInput{ConversationID: conv, ClientMsgID: cmid, Kind: chat.Text, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := send("", "o1", "Onko Kultakala-mukia?")
	conv := first.Conversation.ID
	send(conv, "o2", "Entä lautasia?")
	before, _, err := svc.Messages(ctx, shopper, conv, 0, 0)
	if err != nil || len(before) != 2 {
		t.Fatalf("before: %v %d", err, len(before))
	}

	if n, err := d.Migrate(ctx, time.Now()); err != nil || n == 0 {
		t.Fatalf("upgrade applied %d: %v", n, err)
	}
	after, _, err := svc.Messages(ctx, shopper, conv, 0, 0)
	if err != nil || len(after) != len(before) {
		t.Fatalf("after: %v %d of %d", err, len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.ID != b.ID || a.Seq != b.Seq || a.VisitorSeq != b.VisitorSeq || a.Body != b.Body || a.ClientMsgID != b.ClientMsgID {
			t.Fatalf("message %d changed: %+v → %+v", i, b, a)
		}
	}
	if r := send(conv, "o1", "Onko Kultakala-mukia?"); !r.Duplicate || r.Message.ID != first.Message.ID {
		t.Fatalf("a retry of an old send was stored again: %+v", r)
	}
	if r := send(conv, "n1", "Kiitos!"); r.Duplicate || r.Message.Seq != int64(len(before)+1) {
		t.Fatalf("new send: %+v", r.Message)
	}
	if _, err := svc.Close(ctx, shopper, conv); err != nil {
		t.Fatal(err)
	}
	items, _, err := svc.History(ctx, ten.ID, v.ID, chat.HistoryFilter{Text: "kultakala", Limit: 5})
	if err != nil || len(items) != 1 || items[0].ID != conv {
		t.Fatalf("search for old text: %v %+v", err, items)
	}
}

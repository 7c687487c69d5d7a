package chat_test

import (
	"context"
	"testing"

	"tiski/internal/chat"
	"tiski/internal/db"
)

// TestStreamsAroundNotes: notes take agent sequence numbers but no visitor
// ones; each stream, its resume points and the read marks translated
// between the two numberings stay right with notes in between (the
// visitor stream is read through the (conversation_id, seq) index).
func TestStreamsAroundNotes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	r, err := f.chat.Send(ctx, v, text("", "v1", "eka"))
	if err != nil {
		t.Fatal(err)
	}
	conv := r.Conversation.ID
	if _, err := f.chat.Assign(ctx, f.agent, conv, "", ""); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		a    chat.Actor
		in   chat.SendInput
		note bool
	}{
		{f.agent, chat.SendInput{ConversationID: conv, ClientMsgID: "n1", Kind: chat.Note, Body: "muistiinpano 1"}, true},
		{f.agent, chat.SendInput{ConversationID: conv, ClientMsgID: "n2", Kind: chat.Note, Body: "muistiinpano 2"}, true},
		{f.agent, text(conv, "a1", "toka"), false},
		{f.agent, chat.SendInput{ConversationID: conv, ClientMsgID: "n3", Kind: chat.Note, Body: "muistiinpano 3"}, true},
		{v, text(conv, "v2", "kolmas"), false},
	}
	for _, s := range steps {
		if _, err := f.chat.Send(ctx, s.a, s.in); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := f.chat.Messages(ctx, f.agent, conv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	visible, _, err := f.chat.Messages(ctx, v, conv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []chat.Message
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("agent stream not gapless at %d: %+v", i, m)
		}
		if m.Kind != chat.Note {
			want = append(want, m)
		}
	}
	if len(visible) != len(want) || len(visible) == len(all) {
		t.Fatalf("visitor stream has %d of %d messages, want %d", len(visible), len(all), len(want))
	}
	for i, m := range visible {
		if m.VisitorSeq != int64(i+1) || m.ID != want[i].ID || m.Kind == chat.Note {
			t.Fatalf("visitor stream at %d: %+v", i, m)
		}
	}
	// Resuming from every point gives exactly the rest.
	for after := range len(visible) + 1 {
		rest, _, err := f.chat.Messages(ctx, v, conv, int64(after), 0)
		if err != nil || len(rest) != len(visible)-after || (len(rest) > 0 && rest[0].ID != visible[after].ID) {
			t.Fatalf("resume after %d: %v %d messages", after, err, len(rest))
		}
	}
	rest, _, err := f.chat.Messages(ctx, v, conv, 1, 1)
	if err != nil || len(rest) != 1 || rest[0].VisitorSeq != 2 {
		t.Fatalf("page of one after 1: %v %+v", err, rest)
	}

	// Read marks: the visitor's position in agent numbers and back.
	last := visible[len(visible)-1]
	f.notes.mu.Lock()
	f.notes.changes = nil
	f.notes.mu.Unlock()
	if err := f.chat.MarkRead(ctx, v, conv, visible[1].VisitorSeq); err != nil {
		t.Fatal(err)
	}
	if err := f.chat.MarkRead(ctx, f.agent, conv, last.Seq-1); err != nil {
		t.Fatal(err)
	}
	f.notes.mu.Lock()
	changes := f.notes.changes
	f.notes.mu.Unlock()
	if len(changes) != 2 || changes[0].Read == nil || changes[1].Read == nil {
		t.Fatalf("read changes: %+v", changes)
	}
	if r := changes[0].Read; r.AgentSeq != visible[1].Seq || r.VisitorSeq != visible[1].VisitorSeq {
		t.Fatalf("visitor's mark %+v, want agent seq %d", r, visible[1].Seq)
	}
	// The message before the visitor's last is a note: the agent's mark
	// there means the visitor has seen up to the visible one before it.
	if all[last.Seq-2].Kind != chat.Note {
		t.Fatalf("test set-up: message %d is %s", last.Seq-1, all[last.Seq-2].Kind)
	}
	if r := changes[1].Read; r.AgentSeq != last.Seq-1 || r.VisitorSeq != last.VisitorSeq-1 {
		t.Fatalf("agent's mark %+v, want visitor seq %d", r, last.VisitorSeq-1)
	}
}

// TestSearchFindsTextBeforeAndAfterIndexing: history search finds a message
// while its text waits in SQLite's index queue and after the indexer has
// moved it, and the indexer empties the queue.
func TestSearchFindsTextBeforeAndAfterIndexing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v := f.visitor(t)
	r, err := f.chat.Send(ctx, v, text("", "v1", "Onko Kultakala-mukia vielä?"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.chat.Close(ctx, v, r.Conversation.ID); err != nil {
		t.Fatal(err)
	}
	find := func(when string) {
		t.Helper()
		items, _, err := f.chat.History(ctx, f.tenant.ID, f.agent.ID, chat.HistoryFilter{Text: "kultakala", Limit: 10})
		if err != nil || len(items) != 1 || items[0].ID != r.Conversation.ID {
			t.Fatalf("%s: %v %+v", when, err, items)
		}
	}
	pending := func() int {
		t.Helper()
		if f.db.Dialect != db.SQLite {
			return 0
		}
		var n int
		if err := f.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM messages_search_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if f.db.Dialect == db.SQLite && pending() == 0 {
		t.Fatal("the message's text is not queued for the index")
	}
	find("queued")
	moved, err := f.chat.IndexSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.db.Dialect == db.SQLite && moved == 0 {
		t.Fatal("the indexer moved nothing")
	}
	if n := pending(); n != 0 {
		t.Fatalf("%d rows left in the queue", n)
	}
	find("indexed")
	if moved, err := f.chat.IndexSearch(ctx); err != nil || moved != 0 {
		t.Fatalf("second run moved %d: %v", moved, err)
	}
}

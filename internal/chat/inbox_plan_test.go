package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tiski/internal/chat"
	"tiski/internal/db"
)

// The inbox must read a page of the open-conversations index, never sort
// every open conversation: its time would grow with the open count.
func TestInboxPlanUsesTheOpenIndex(t *testing.T) {
	f := newFixture(t)
	if f.db.Dialect != db.SQLite {
		t.Skip("query plans are checked on SQLite; PostgreSQL plans depend on its statistics")
	}
	cases := map[string]chat.InboxFilter{
		"first page": {Limit: 50},
		"next page":  {Limit: 50, Before: time.Now(), BeforeID: "x"},
		"queued":     {Statuses: []chat.Status{chat.Queued}, Limit: 50},
	}
	for name, filter := range cases {
		t.Run(name, func(t *testing.T) {
			q, args := chat.InboxSQL(f.tenant.ID, filter)
			all := queryPlan(t, f.db, q, args...)
			if !strings.Contains(all, "conversations_open_activity") || strings.Contains(all, "TEMP B-TREE") {
				t.Fatalf("the inbox does not read the open-conversations index in order: %s", all)
			}
		})
	}
	// A listing that includes closed conversations cannot use it, and must
	// still return them.
	q, _ := chat.InboxSQL(f.tenant.ID, chat.InboxFilter{Statuses: []chat.Status{chat.Closed}})
	if strings.Contains(q, "<> 'closed'") {
		t.Fatalf("a listing of closed conversations excludes them: %s", q)
	}
}

// The inactivity sweeper reads one of the partial indexes of open
// conversations, so its cost follows the open count, not the history: the
// index over all conversations' activity it used to read was dropped
// because every message moved an entry in it.
func TestInactivitySweepPlanUsesTheOpenIndex(t *testing.T) {
	f := newFixture(t)
	if f.db.Dialect != db.SQLite {
		t.Skip("query plans are checked on SQLite; PostgreSQL plans depend on its statistics")
	}
	all := queryPlan(t, f.db, chat.InactiveSQL, time.Now())
	if !strings.Contains(all, "conversations_open_activity") && !strings.Contains(all, "conversations_one_active") {
		t.Fatalf("the sweeper does not read an index of open conversations only: %s", all)
	}
}

// queryPlan returns SQLite's plan for q, steps joined by " | ".
func queryPlan(t *testing.T, d *db.DB, q string, args ...any) string {
	t.Helper()
	rows, err := d.Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, " | ")
}

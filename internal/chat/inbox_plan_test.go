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
			rows, err := f.db.Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
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
			all := strings.Join(plan, " | ")
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

//go:build !race

// The race detector slows the pure-Go SQLite many times over; this test
// measures, so it runs in the plain and PostgreSQL suites.

package chat_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"tiski/internal/chat"
	"tiski/internal/id"
)

// seedHistory stores n closed conversations of words messages each,
// directly in SQL (the service would take far longer), a day apart in
// closing time. Every 1000th conversation mentions "kultakala".
func seedHistory(t testing.TB, f *fixture, n, perConv int) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 500
	for start := 0; start < n; start += batch {
		err := f.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				vid, cid := id.New(), id.New()
				at := base.Add(time.Duration(i) * time.Hour)
				if _, err := tx.ExecContext(ctx, `INSERT INTO visitors (id, tenant_id, site_id, token_hash, token_expires_at, name, email, created_at, last_seen_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $5, $5)`, vid, f.tenant.ID, f.site.ID, id.Hash(vid), at, "Asiakas "+strconv.Itoa(i),
					"asiakas"+strconv.Itoa(i)+"@example.fi"); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, tenant_id, site_id, visitor_id, epoch, status, assignee_id,
					last_seq, last_visitor_seq, closed_by, created_at, closed_at, last_activity_at)
					VALUES ($1, $2, $3, $4, 'e', 'closed', $5, $6, $6, 'agent', $7, $8, $8)`,
					cid, f.tenant.ID, f.site.ID, vid, f.agent.ID, perConv, at, at.Add(10*time.Minute)); err != nil {
					return err
				}
				for k := 1; k <= perConv; k++ {
					body := fmt.Sprintf("Viesti %d tilauksesta %d, toimitus ja palautus", k, i)
					if i%1000 == 0 && k == perConv/2 {
						body = "Kadotin KULTAKALAN tilauksen"
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, tenant_id, conversation_id, seq, visitor_seq, sender_kind, sender_id,
						kind, body, body_lc, created_at) VALUES ($1, $2, $3, $4, $4, 'visitor', $5, 'text', $6, lower($6), $7)`,
						id.New(), f.tenant.ID, cid, k, vid, body, at); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// History over a large tenant answers by text, visitor and date in well
// under a second; TISKI_HISTORY_N raises the size for a manual run.
func TestHistoryOnLargeData(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a large history")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("TISKI_HISTORY_N")); err == nil && v > 0 {
		n = v
	}
	f := newFixture(t)
	const perConv = 20
	seedHistory(t, f, n, perConv)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		f     chat.HistoryFilter
		want  int
		limit time.Duration
	}{
		{"latest page", chat.HistoryFilter{Limit: 50}, 50, time.Second},
		{"rare text over everything", chat.HistoryFilter{Text: "kultakalan", Limit: 50}, (n + 999) / 1000, 3 * time.Second},
		{"common text", chat.HistoryFilter{Text: "palautus", Limit: 50}, 50, time.Second},
		{"visitor", chat.HistoryFilter{Visitor: "asiakas 17", Limit: 50}, -1, 2 * time.Second},
		{"one week", chat.HistoryFilter{From: time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), Limit: 200}, 168, time.Second},
		{"agent and text", chat.HistoryFilter{AgentID: f.agent.ID, Text: "kultakala", Limit: 50}, (n + 999) / 1000, 3 * time.Second},
	} {
		start := time.Now()
		items, _, err := f.chat.History(ctx, f.tenant.ID, f.agent.ID, tc.f)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want >= 0 && len(items) != tc.want {
			t.Errorf("%s: %d results, want %d", tc.name, len(items), tc.want)
		}
		t.Logf("%s over %d conversations, %d messages: %d results in %v", tc.name, n, n*perConv, len(items), took)
		// Generous bounds for a busy 2-core machine; they catch a lost index
		// or a quadratic query, not milliseconds.
		if took > tc.limit {
			t.Errorf("%s took %v (limit %v)", tc.name, took, tc.limit)
		}
	}
}

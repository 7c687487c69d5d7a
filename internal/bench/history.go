package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"tiski/internal/chat"
	"tiski/internal/id"
	"tiski/internal/server"
)

// HistoryRun is the query phase on one seeded database size.
type HistoryRun struct {
	Messages      int     `json:"messages"`
	Conversations int     `json:"conversations"`
	Open          int     `json:"open_conversations"`
	SeedSeconds   float64 `json:"seed_s"`
	DBBytes       int64   `json:"db_bytes"`
	LastLong      Dist    `json:"last50_long_conversation"`   // conversations of 500 messages
	LastAny       Dist    `json:"last50_random_conversation"` // any conversation
	Inbox         Dist    `json:"inbox_first_page"`
	InboxDeep     Dist    `json:"inbox_page_after_1000"`
	Queries       int     `json:"queries_each"`
}

// history seeds a fresh database (same schema and settings as the server)
// with n messages in n/10 conversations by direct SQL, then times the two
// queries the console runs most through chat.Service: the last 50
// messages of a conversation and a page of the inbox. No sockets: this is
// the database's share of the request.
func history(ctx context.Context, n int, log func(string, ...any)) (HistoryRun, error) {
	hr := HistoryRun{Messages: n, Conversations: max(n/10, 1), Queries: min(2000, max(n/10, 100))}
	node, err := startLocalNode(ctx, "history", nil)
	if err != nil {
		return hr, err
	}
	defer node.Close()
	srv, set, dir := node.srv, node.set, node.dir
	tenant, site, owner := set.Tenant.ID, set.Site.ID, set.Owner.ID
	log("history: seeding %d messages in %d conversations", n, hr.Conversations)
	start := time.Now()
	convs, long, err := seed(ctx, srv, tenant, site, owner, hr.Conversations, n)
	if err != nil {
		return hr, fmt.Errorf("seed: %w", err)
	}
	hr.SeedSeconds = time.Since(start).Seconds()
	hr.Open = len(convs) / 50
	for _, f := range []string{"tiski.db", "tiski.db-wal"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			hr.DBBytes += st.Size()
		}
	}
	agent := chat.Actor{Kind: chat.AgentActor, ID: owner, TenantID: tenant}
	rng := rand.New(rand.NewPCG(1, 2))
	last50 := func(conv string, s *samples) error {
		t := time.Now()
		c, err := srv.Chat.Get(ctx, agent, conv)
		if err != nil {
			return err
		}
		ms, _, err := srv.Chat.Messages(ctx, agent, conv, max(c.LastSeq-50, 0), 50)
		if err != nil {
			return err
		}
		s.add(time.Since(t))
		if len(ms) == 0 {
			return fmt.Errorf("conversation %s: no messages", conv)
		}
		return nil
	}
	var sLong, sAny, sInbox, sDeep samples
	for range hr.Queries {
		if err := last50(long[rng.IntN(len(long))], &sLong); err != nil {
			return hr, err
		}
		if err := last50(convs[rng.IntN(len(convs))], &sAny); err != nil {
			return hr, err
		}
	}
	// The inbox: its first page, and the page after 1,000 rows (keyset).
	first, err := srv.Chat.Inbox(ctx, tenant, chat.InboxFilter{Limit: 50})
	if err != nil || len(first) == 0 {
		return hr, fmt.Errorf("inbox: %d rows, %v", len(first), err)
	}
	var cursor chat.Conversation
	page := first
	for i := 0; i < 20 && len(page) == 50; i++ {
		cursor = page[len(page)-1]
		if page, err = srv.Chat.Inbox(ctx, tenant, chat.InboxFilter{Limit: 50, Before: cursor.LastActivityAt, BeforeID: cursor.ID}); err != nil {
			return hr, err
		}
	}
	for range hr.Queries / 4 {
		t := time.Now()
		if _, err := srv.Chat.Inbox(ctx, tenant, chat.InboxFilter{Limit: 50}); err != nil {
			return hr, err
		}
		sInbox.add(time.Since(t))
		t = time.Now()
		if _, err := srv.Chat.Inbox(ctx, tenant, chat.InboxFilter{Limit: 50, Before: cursor.LastActivityAt, BeforeID: cursor.ID}); err != nil {
			return hr, err
		}
		sDeep.add(time.Since(t))
	}
	hr.LastLong, hr.LastAny, hr.Inbox, hr.InboxDeep = sLong.dist(), sAny.dist(), sInbox.dist(), sDeep.dist()
	return hr, nil
}

// seed writes nConv conversations (one visitor each, 1 in 50 still open,
// activity spread over 90 days) and nMsg messages: 200 long conversations
// of 500 messages (or fewer, on a small database), the rest spread evenly.
// It returns every conversation id and the long ones.
func seed(ctx context.Context, srv *server.Server, tenant, site, agent string, nConv, nMsg int) (convs, long []string, err error) {
	now := time.Now().UTC()
	longN := min(200, nConv/10)
	longLen := min(500, nMsg/max(2*longN, 1))
	rest := nMsg - longN*longLen
	convs = make([]string, nConv)
	for i := range convs {
		convs[i] = id.New()
	}
	long = convs[:longN]
	counts := make([]int, nConv)
	for i := range counts {
		if i < longN {
			counts[i] = longLen
		} else {
			counts[i] = rest / (nConv - longN)
			if i-longN < rest%(nConv-longN) {
				counts[i]++
			}
		}
	}
	body := body("seed")
	const batch = 20000
	type job struct{ from, to int } // conversations [from, to)
	var jobs []job
	for from, rows := 0, 0; from < nConv; {
		to := from
		for rows = 0; to < nConv && rows < batch; to++ {
			rows += counts[to] + 1
		}
		jobs = append(jobs, job{from, to})
		from = to
	}
	for _, j := range jobs {
		err := srv.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			insV, err := tx.PrepareContext(ctx, `INSERT INTO visitors (id, tenant_id, site_id, token_hash, token_expires_at, created_at, last_seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6)`)
			if err != nil {
				return err
			}
			insC, err := tx.PrepareContext(ctx, `INSERT INTO conversations (id, tenant_id, site_id, visitor_id, epoch, status, assignee_id,
				last_seq, last_visitor_seq, closed_by, created_at, assigned_at, closed_at, last_message_at, last_activity_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $10, $11, $12, $12)`)
			if err != nil {
				return err
			}
			// A conversation's messages in one statement: the rows are made
			// inside SQLite, which seeds several times faster than a round
			// trip through database/sql per row.
			insM, err := tx.PrepareContext(ctx, `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $1)
				INSERT INTO messages (id, tenant_id, conversation_id, seq, visitor_seq, sender_kind, sender_id, client_msg_id, kind, body, created_at, body_lc)
				SELECT $2 || '-' || n, $3, $2, n, n, CASE n % 2 WHEN 1 THEN 'visitor' ELSE 'agent' END,
					CASE n % 2 WHEN 1 THEN $4 ELSE $5 END, 's' || n, 'text', $6, $7, lower($6) FROM k`)
			if err != nil {
				return err
			}
			for i := j.from; i < j.to; i++ {
				vid := id.New()
				created := now.Add(-time.Duration(nConv-i) * 90 * 24 * time.Hour / time.Duration(nConv))
				if _, err := insV.ExecContext(ctx, vid, tenant, site, "seed-"+vid, now.Add(365*24*time.Hour), created); err != nil {
					return err
				}
				status, closedBy, closedAt := "closed", any("agent"), any(created.Add(time.Hour))
				if i%50 == 0 {
					status, closedBy, closedAt = "assigned", nil, nil
				}
				last := created.Add(time.Duration(counts[i]) * time.Second)
				if _, err := insC.ExecContext(ctx, convs[i], tenant, site, vid, "seed", status, agent, counts[i], closedBy, created, closedAt, last); err != nil {
					return err
				}
				if counts[i] > 0 {
					if _, err := insM.ExecContext(ctx, counts[i], convs[i], tenant, vid, agent, body, created); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return convs, long, nil
}

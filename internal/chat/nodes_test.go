package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

// TestNodesShareOnePostgres: two nodes (each its own pools and group-commit
// queue with several committers) on one PostgreSQL database. Agents grab
// the queue from both at once while visitors write from both, each message
// also retried on the other node. Row locks keep it straight: no chat is
// taken twice, nobody goes over their cap, every stream stays gapless and
// every retried message is stored once.
func TestNodesShareOnePostgres(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.PostgresSchema(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	var nodes [2]*chat.Service
	var dbs [2]*db.DB
	for i := range nodes {
		d, err := db.Open(ctx, dsn, db.Options{Writers: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx, clk.Now()); err != nil {
			t.Fatal(err)
		}
		dbs[i], nodes[i] = d, chat.NewService(d, clk, nil, nil)
	}
	tn, err := tenant.NewStore(dbs[0], clk).Create(ctx, "Kauppa Oy")
	if err != nil {
		t.Fatal(err)
	}
	st, err := site.NewStore(dbs[0], clk).Create(ctx, tn.ID, site.New{Name: "Kauppa", Origins: []string{"https://kauppa.example"}})
	if err != nil {
		t.Fatal(err)
	}
	users := user.NewStore(dbs[1], clk, cheap)
	const agents, maxChats, visitors, msgs = 4, 4, 24, 12
	var as []chat.Actor
	for j := range agents {
		u, err := users.Create(ctx, tn.ID, user.New{Email: fmt.Sprintf("agent%d@kauppa.example", j), Name: "Agent", Role: user.Agent,
			Password: "correct horse battery", MaxChats: maxChats})
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, chat.Actor{Kind: chat.AgentActor, ID: u.ID, TenantID: tn.ID, Name: u.Name})
	}
	vstore := visitor.NewStore(dbs[0], clk, time.Hour)
	vs := make([]chat.Actor, visitors)
	convs := make([]string, visitors)
	for i := range visitors {
		v, _, err := vstore.Create(ctx, tn.ID, st.ID, "fi")
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = chat.Actor{Kind: chat.VisitorActor, ID: v.ID, TenantID: tn.ID, SiteID: st.ID}
		r, err := nodes[i%2].Send(ctx, vs[i], text("", "hello", "Hei"))
		if err != nil {
			t.Fatal(err)
		}
		convs[i] = r.Conversation.ID
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string][]string{}
	fail := make(chan error, 1000)
	// Every agent tries every chat from both nodes at once.
	for _, a := range as {
		for n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range visitors {
					conv := convs[(k+7*n)%visitors]
					c, err := nodes[n].Assign(ctx, a, conv, "", "")
					switch {
					case err == nil:
						if c.AssigneeID == a.ID && c.Status == chat.Assigned {
							mu.Lock()
							if len(won[conv]) == 0 || won[conv][len(won[conv])-1] != a.ID {
								won[conv] = append(won[conv], a.ID)
							}
							mu.Unlock()
						}
					case apperr.Is(err, apperr.Conflict):
					default:
						fail <- fmt.Errorf("assign: %w", err)
					}
				}
			}()
		}
	}
	// Visitors write meanwhile; each message is sent on both nodes.
	for i := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range msgs {
				for n := range nodes {
					if _, err := nodes[(n+k)%2].Send(ctx, vs[i], text(convs[i], fmt.Sprint("m", k), "viesti")); err != nil {
						fail <- fmt.Errorf("visitor %d: %w", i, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}

	t.Logf("writes run again after a deadlock or a lost connection: %d and %d", dbs[0].Stats().Reruns, dbs[1].Stats().Reruns)
	load := map[string]int{}
	taken := 0
	for _, conv := range convs {
		switch w := won[conv]; len(w) {
		case 0:
		case 1:
			load[w[0]]++
			taken++
		default:
			t.Fatalf("chat %s was taken by %v", conv, w)
		}
	}
	if taken != agents*maxChats {
		t.Fatalf("%d chats taken, want %d (every agent at the cap)", taken, agents*maxChats)
	}
	for a, n := range load {
		if n > maxChats {
			t.Fatalf("agent %s holds %d chats, cap %d", a, n, maxChats)
		}
	}
	var twice int
	if err := dbs[0].Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT conversation_id FROM events
		WHERE type = 'assigned' GROUP BY conversation_id HAVING COUNT(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Fatalf("%d chats have more than one assignment event", twice)
	}
	for i, conv := range convs {
		ms, _, err := nodes[i%2].Messages(ctx, vs[i], conv, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		texts := 0
		for k, m := range ms {
			if m.VisitorSeq != int64(k+1) {
				t.Fatalf("chat %d: visitor stream has seq %d at %d", i, m.VisitorSeq, k+1)
			}
			if m.Kind == chat.Text {
				texts++
			}
		}
		if texts != 1+msgs {
			t.Fatalf("chat %d holds %d texts, want %d (each retry stored once)", i, texts, 1+msgs)
		}
	}
}

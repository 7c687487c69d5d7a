package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"tiski/internal/chat"
	"tiski/internal/db"
	"tiski/internal/httpapi"
	"tiski/internal/server"
)

// ProbeRun is the store probe with a number of concurrent writers.
type ProbeRun struct {
	Writers   int     `json:"writers"`
	Seconds   float64 `json:"duration_s"`
	Stored    int64   `json:"stored"`
	PerSec    float64 `json:"stored_per_s"`
	Commits   int64   `json:"commits"`
	PerCommit float64 `json:"writes_per_commit"`
	Ack       Dist    `json:"send_to_commit"`
}

// probe makes group commit visible, which the child process cannot show
// from outside: it builds a node in this process (no listener), and has 1,
// 16 and 256 writers call chat.Service.Send as fast as commits return,
// counting commits with the database's own counters.
func probe(ctx context.Context, c Config) ([]ProbeRun, error) {
	node, err := startLocalNode(ctx, "probe", nil)
	if err != nil {
		return nil, err
	}
	defer node.Close()
	srv, set := node.srv, node.set
	// The search indexer shares the one writer in a real server.
	ictx, stopIndexer := context.WithCancel(ctx)
	var indexer sync.WaitGroup
	indexer.Go(func() { srv.Chat.RunSearchIndexer(ictx, time.Second, func(error) {}) })
	defer indexer.Wait()
	defer stopIndexer()
	dur := min(max(c.Duration/5, time.Second), 10*time.Second)
	var runs []ProbeRun
	for _, writers := range []int{1, 16, 256} {
		var lat samples
		var errs errList
		var ready, done sync.WaitGroup
		var before db.Stats
		var start time.Time
		begin := make(chan struct{})
		ready.Add(writers)
		for range writers {
			done.Go(func() {
				// Each writer is a visitor whose conversation is started
				// before the clock runs.
				conv, err := probeVisitor(ctx, srv, set)
				ready.Done()
				<-begin
				if err != nil {
					errs.add(err)
					return
				}
				var ds []time.Duration
				for k := 0; time.Since(start) < dur; k++ {
					t := time.Now()
					if _, err := conv.send(fmt.Sprintf("p-%d", k)); err != nil {
						errs.add(err)
						break
					}
					ds = append(ds, time.Since(t))
				}
				lat.addAll(ds)
			})
		}
		ready.Wait()
		before, start = srv.DB.Stats(), time.Now()
		close(begin)
		done.Wait()
		el := time.Since(start)
		if err := errs.first(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		after := srv.DB.Stats()
		pr := ProbeRun{Writers: writers, Seconds: el.Seconds(), Stored: after.Writes - before.Writes, Commits: after.Commits - before.Commits, Ack: lat.dist()}
		pr.PerSec = float64(pr.Stored) / el.Seconds()
		if pr.Commits > 0 {
			pr.PerCommit = float64(pr.Stored) / float64(pr.Commits)
		}
		runs = append(runs, pr)
	}
	return runs, nil
}

// probeConv is a visitor's conversation in the probe's node.
type probeConv struct {
	ctx   context.Context
	srv   *server.Server
	actor chat.Actor
	id    string
}

func probeVisitor(ctx context.Context, srv *server.Server, set httpapi.SetupResult) (*probeConv, error) {
	v, _, err := srv.Visitors.Create(ctx, set.Tenant.ID, set.Site.ID, "en")
	if err != nil {
		return nil, err
	}
	c := &probeConv{ctx: ctx, srv: srv, actor: chat.Actor{Kind: chat.VisitorActor, ID: v.ID, TenantID: v.TenantID, SiteID: v.SiteID}}
	c.id, err = c.send("start")
	return c, err
}

func (c *probeConv) send(cmid string) (string, error) {
	res, err := c.srv.Chat.Send(c.ctx, c.actor, chat.SendInput{ConversationID: c.id, ClientMsgID: cmid, Kind: chat.Text, Body: body(cmid)})
	return res.Conversation.ID, err
}

// errList keeps the first error of many goroutines.
type errList struct {
	mu  sync.Mutex
	err error
}

func (e *errList) add(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.mu.Unlock()
}

func (e *errList) first() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

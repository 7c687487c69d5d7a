package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"tiski/client"
)

// CrossNode is the round trip with the visitor and the agent on the same
// node, then on two nodes joined by the NATS bus, over one PostgreSQL.
type CrossNode struct {
	Status   string     `json:"status"` // "ran", or why not
	Visitors int        `json:"visitors,omitempty"`
	OneNode  *RoundTrip `json:"one_node,omitempty"`
	TwoNodes *RoundTrip `json:"two_nodes,omitempty"`
	AddedP99 float64    `json:"added_p99_ms,omitempty"`
	Verify   *Verify    `json:"verify,omitempty"`
}

// crossNode runs when both --pg and --bus are given: it makes a fresh
// schema in the PostgreSQL, starts two nodes on it sharing the bus (a
// prefix of their own keeps other users of the NATS server apart),
// connects the shoppers to node A, and measures the round trip with the
// agents first on A, then on B. Restarting the NATS server is not part of
// it: the server is shared; the scale-out tests cover an outage.
func (r *run) crossNode(ctx context.Context) CrossNode {
	cfg := r.cfg
	if cfg.Bus == "" || cfg.PG == "" {
		return CrossNode{Status: "not available: needs --pg postgres://… and --bus nats://… (two nodes share a database and a bus)"}
	}
	cn, err := r.crossNodeRun(ctx)
	if err != nil {
		cn.Status = "failed: " + err.Error()
	}
	return cn
}

func (r *run) crossNodeRun(ctx context.Context) (CrossNode, error) {
	cn := CrossNode{Visitors: 200}
	admin, err := sql.Open("pgx", r.cfg.PG)
	if err != nil {
		return cn, err
	}
	defer admin.Close()
	schema := "tiski_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return cn, fmt.Errorf("create schema: %w", err)
	}
	defer admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	u, err := url.Parse(r.cfg.PG)
	if err != nil {
		return cn, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	flags := []string{"--db", u.String(), "--bus", r.cfg.Bus, "--bus-prefix", schema + "."}
	bin := r.cfg.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return cn, err
		}
	}
	a, err := startNode(ctx, bin, r.log, true, flags...)
	if err != nil {
		return cn, fmt.Errorf("node A: %w", err)
	}
	defer a.Stop()
	// A rate well inside what one PostgreSQL on these cores commits, so
	// that the difference is the bus hop and not a queue.
	rate := 200.0
	sub := &run{cfg: Config{Visitors: cn.Visitors, Agents: 4, Rates: []float64{rate, rate}, Duration: min(r.cfg.Duration, 20*time.Second)},
		res: &Result{}, srv: a, log: r.log, base: time.Now()}
	for range 2 {
		sub.open = append(sub.open, newOpenState(cn.Visitors, rate, sub.cfg.Duration))
	}
	defer sub.closeStreams()
	r.logf("cross-node: node A at %s, set-up", a.URL)
	if err := sub.setup(ctx, a.URL); err != nil {
		return cn, err
	}
	b, err := startNode(ctx, bin, r.log, false, flags...)
	if err != nil {
		return cn, fmt.Errorf("node B: %w", err)
	}
	defer b.Stop()
	r.logf("cross-node: one node, %.0f msgs/s", rate)
	if err := sub.roundTrip(ctx, 0); err != nil {
		return cn, err
	}
	// The agents move to node B; the shoppers stay on A.
	r.logf("cross-node: agents on node B at %s, %.0f msgs/s", b.URL, rate)
	cb := client.New(b.URL, Origin)
	cb.HTTP = sub.c.HTTP
	follows := map[*agentConn][]string{}
	for i, v := range sub.vis {
		ag := sub.agents[i%len(sub.agents)]
		follows[ag] = append(follows[ag], v.conv)
	}
	for _, ag := range sub.agents {
		ag.s.Close()
		ag.a = ag.a.Via(cb)
		ag.s = ag.a.Connect(client.StreamOptions{OnFrame: sub.onAgentFrame})
		for _, conv := range follows[ag] {
			if err := ag.s.Follow(ctx, conv); err != nil {
				return cn, err
			}
		}
	}
	if err := sub.roundTrip(ctx, 1); err != nil {
		return cn, err
	}
	if err := sub.verify(ctx); err != nil {
		return cn, err
	}
	one, two := sub.res.RoundTrip[0], sub.res.RoundTrip[1]
	cn.OneNode, cn.TwoNodes, cn.Verify = &one, &two, &sub.res.Verify
	cn.AddedP99 = two.Latency.P99 - one.Latency.P99
	cn.Status = "ran"
	return cn, nil
}

package bench

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"time"

	"tiski/internal/config"
)

// Goroutines is the in-process count of the server's goroutines per idle
// connection, and whether they all end after a mass drop.
type Goroutines struct {
	Connections  int     `json:"connections"`
	Before       int     `json:"before"`
	Connected    int     `json:"with_connections"`
	PerConn      float64 `json:"per_connection"`
	AfterDrop    int     `json:"after_drop"`
	Leaked       int     `json:"leaked"`
	DrainSeconds float64 `json:"drain_s"`
}

// goroutineProbe counts goroutines, which the child process does not
// report: it runs a node in this process, opens n visitor WebSockets with a
// hand-written client that needs no goroutines of its own (a socket, the
// upgrade request and a masked hello frame), reads the count, then drops
// every socket at once and waits for the count to come back.
func goroutineProbe(ctx context.Context, n int) (Goroutines, error) {
	g := Goroutines{Connections: n}
	node, err := startLocalNode(ctx, "goroutines", func(c *config.Config) { c.NewVisitorsPerSec = 1e6 })
	if err != nil {
		return g, err
	}
	defer node.Close()
	srv, set := node.srv, node.set
	ln, err := srv.Listen()
	if err != nil {
		return g, err
	}
	go srv.Serve(ln)
	tokens := make([]string, n)
	for i := range tokens {
		_, tok, err := srv.Visitors.Create(ctx, set.Tenant.ID, set.Site.ID, "en")
		if err != nil {
			return g, err
		}
		tokens[i] = tok
	}
	path := "/api/widget/v1/sites/" + set.Site.WidgetKey + "/rt"
	g.Before = settledGoroutines(ctx, -1)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, tok := range tokens {
		c, err := rawVisitorConn(ln.Addr().String(), path, tok)
		if err != nil {
			return g, err
		}
		conns = append(conns, c)
	}
	g.Connected = settledGoroutines(ctx, -1)
	g.PerConn = float64(g.Connected-g.Before) / float64(n)
	start := time.Now()
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	g.AfterDrop = settledGoroutines(ctx, g.Before)
	g.DrainSeconds = time.Since(start).Seconds()
	g.Leaked = max(g.AfterDrop-g.Before, 0)
	return g, nil
}

// settledGoroutines waits (at most 20 s) until the goroutine count stops
// moving, or reaches target if that is not negative, and returns it.
func settledGoroutines(ctx context.Context, target int) int {
	prev := runtime.NumGoroutine()
	for i := 0; i < 200; i++ {
		if sleepCtx(ctx, 100*time.Millisecond) != nil {
			break
		}
		cur := runtime.NumGoroutine()
		if target >= 0 && cur <= target || target < 0 && cur == prev && i >= 5 {
			return cur
		}
		prev = cur
	}
	return prev
}

// rawVisitorConn opens a visitor WebSocket by hand and waits for the
// server's welcome.
func rawVisitorConn(addr, path, token string) (net.Conn, error) {
	c, _, err := dialRaw(addr, path, http.Header{"Origin": {Origin}}, []byte(`{"t":"hello","v":1,"token":"`+token+`"}`))
	return c, err
}

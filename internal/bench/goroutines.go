package bench

import (
	"context"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"tiski/internal/auth"
	"tiski/internal/config"
	"tiski/internal/httpapi"
	"tiski/internal/server"
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
	dir, err := os.MkdirTemp("", "tiski-goroutines-")
	if err != nil {
		return g, err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	cfg.NewVisitorsPerSec = 1e6
	cheap := auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}
	srv, err := server.New(ctx, server.Options{Config: cfg, Hasher: &cheap})
	if err != nil {
		return g, err
	}
	defer srv.Shutdown(context.Background())
	ln, err := srv.Listen()
	if err != nil {
		return g, err
	}
	go srv.Serve(ln)
	set, err := httpapi.Bootstrap(ctx, srv.DB, srv.Clock, srv.Sites, srv.Users, httpapi.SetupInput{Organisation: "Goroutines",
		SiteName: "Goroutines", SiteOrigins: []string{Origin}, Email: "owner@bench.tiski.invalid", Name: "Owner", Password: "goroutine-password"})
	if err != nil {
		return g, err
	}
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

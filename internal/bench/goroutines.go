package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
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
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nOrigin: " + Origin +
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	hello := maskedFrame([]byte(`{"t":"hello","v":1,"token":"` + token + `"}`))
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append([]byte(req), hello...)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !bytes.Contains([]byte(status), []byte(" 101 ")) {
		c.Close()
		return nil, fmt.Errorf("upgrade: %q %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	var h [4]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		c.Close()
		return nil, err
	}
	size := int(h[1] & 0x7F)
	if size == 126 {
		if _, err := io.ReadFull(br, h[2:4]); err != nil {
			c.Close()
			return nil, err
		}
		size = int(binary.BigEndian.Uint16(h[2:4]))
	}
	first := make([]byte, size)
	if _, err := io.ReadFull(br, first); err != nil || !bytes.Contains(first, []byte(`"welcome"`)) {
		c.Close()
		return nil, fmt.Errorf("no welcome: %q %v", first, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func maskedFrame(p []byte) []byte {
	b := []byte{0x81}
	if len(p) <= 125 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = append(b, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i&3])
	}
	return b
}

// Package testsrv starts a real Tiski node for tests: a fresh database in a
// temp dir, a listener on an ephemeral loopback port, one tenant with a
// site and agents. Tests talk to it over real HTTP and WebSockets.
package testsrv

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"tiski/internal/auth"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/db/dbtest"
	"tiski/internal/httpapi"
	"tiski/internal/realtime"
	"tiski/internal/realtime/natsbus/natstest"
	"tiski/internal/server"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/user"
)

// ShopOrigin is the origin the test site allows.
const ShopOrigin = "https://shop.example"

// Password is every seeded agent's password.
const Password = "correct horse battery"

// Env is a running node with seed data.
type Env struct {
	*server.Server
	URL    string // http://127.0.0.1:PORT
	Tenant tenant.Tenant
	Site   site.Site
	Owner  user.User
	Agents []user.User
	Clock  clock.Clock
}

// Options tune Start.
type Options struct {
	Clock  clock.Clock
	Hub    realtime.Options
	Agents int // besides the owner; default 2
	Bus    realtime.Bus
	Config func(*config.Config)
	// Limits default to generous ones: every test client shares 127.0.0.1.
	Limits *httpapi.Limits
	// NoSeed starts an empty installation (no tenant, site or users), as
	// on a first run; Env.Tenant, Site, Owner and Agents stay empty.
	NoSeed bool
}

// Cheap argon2 parameters: tests create many accounts.
var cheap = auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}

// Start runs a node until the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	// TISKI_TEST_DB=postgres: a PostgreSQL schema of the test's own.
	cfg.DB = dbtest.DSN(t)
	// TISKI_TEST_BUS=nats: the shared NATS, with subjects of the test's own.
	if natstest.Selected() && o.Bus == nil {
		cfg.Bus, cfg.BusPrefix = natstest.URL(t), natstest.Prefix()
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	if o.Agents == 0 {
		o.Agents = 2
	}
	limits := httpapi.Limits{NewVisitorsPerSec: 1000, NewVisitorsBurst: 10000, UploadsPerSec: 1000, UploadsBurst: 10000,
		LoginsPerSec: 1000, LoginsBurst: 10000}
	if o.Limits != nil {
		limits = *o.Limits
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Options{Config: cfg, Clock: o.Clock, Hasher: &cheap, Hub: o.Hub, Bus: o.Bus, Limits: limits})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	e := &Env{Server: srv, URL: "http://" + ln.Addr().String(), Clock: srv.Clock}
	if o.NoSeed {
		return e
	}
	res, err := httpapi.Bootstrap(ctx, srv.DB, srv.Clock, srv.Sites, srv.Users, httpapi.SetupInput{
		Organisation: "Kauppa Oy", SiteName: "Kauppa", SiteOrigins: []string{ShopOrigin},
		Email: "owner@kauppa.example", Name: "Omistaja", Password: Password})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	e.Tenant, e.Site, e.Owner = res.Tenant, res.Site, res.Owner
	names := []string{"Aino", "Eero", "Kaisa", "Mikko", "Sanna", "Timo", "Liisa", "Pekka"}
	for i := range o.Agents {
		name := names[i%len(names)]
		u, err := srv.Users.Create(ctx, e.Tenant.ID, user.New{Email: lower(name) + strconv.Itoa(i) + "@kauppa.example", Name: name,
			Role: user.Agent, Password: Password, MaxChats: 50})
		if err != nil {
			t.Fatalf("seed agent: %v", err)
		}
		e.Agents = append(e.Agents, u)
	}
	return e
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// Client is an HTTP client that does not follow redirects.
func Client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Package server wires Tiski together: it opens the database, builds the
// stores, the chat service, the realtime hub and the HTTP edge, runs the
// background sweepers, and shuts everything down in the order that loses
// nothing.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"tiski/internal/attachment"
	"tiski/internal/auth"
	"tiski/internal/canned"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/db"
	"tiski/internal/httpapi"
	"tiski/internal/id"
	"tiski/internal/mail"
	"tiski/internal/presence"
	"tiski/internal/realtime"
	"tiski/internal/realtime/membus"
	"tiski/internal/realtime/natsbus"
	"tiski/internal/site"
	"tiski/internal/tag"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/visitor"
	"tiski/web"
)

// Options build a Server. Only Config is required.
type Options struct {
	Config config.Config
	Logger *slog.Logger
	Clock  clock.Clock
	Hasher *auth.Hasher
	// Bus overrides the bus chosen by Config.Bus.
	Bus realtime.Bus
	Hub realtime.Options
	// Mount adds routes (the demo shop, front-end assets).
	Mount func(*http.ServeMux)
	// Limits override the edge's per-address rate limits.
	Limits httpapi.Limits
	// Presence tunes the away rules (grace and idle periods).
	Presence presence.Options
	// DBCheckEvery is how often a node on PostgreSQL checks that the
	// database answers (default 1 s).
	DBCheckEvery time.Duration
}

// Server is a running Tiski node.
type Server struct {
	Config   config.Config
	Log      *slog.Logger
	Clock    clock.Clock
	DB       *db.DB
	Bus      realtime.Bus
	Tenants  *tenant.Store
	Sites    *site.Store
	Users    *user.Store
	Visitors *visitor.Store
	Sessions *auth.Sessions
	Chat     *chat.Service
	Files    *attachment.Store
	Hub      *realtime.Hub
	HTTP     *httpapi.Server
	// Mail delivers the outbox; nil when email is not configured.
	Mail *mail.Worker
	// Presence keeps agents' availability (heartbeats, away sweeper).
	Presence *presence.Service
	Tags     *tag.Store
	Canned   *canned.Store
	// SetupToken unlocks first-run set-up on this run.
	SetupToken string

	health       *health
	dbCheckEvery time.Duration

	httpServer *http.Server
	unlock     func()
	stop       context.CancelFunc
	bg         sync.WaitGroup
}

// New opens and migrates the database and builds a node. Call Serve, then
// Shutdown.
func New(ctx context.Context, o Options) (*Server, error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.Real()
	}
	hasher := auth.Hasher{P: auth.DefaultParams}
	if o.Hasher != nil {
		hasher = *o.Hasher
	}
	// The embedded database belongs to one process; on PostgreSQL several
	// nodes may share a data directory (uploaded files on shared storage).
	unlock := func() {}
	if !db.IsPostgresURL(cfg.DB) {
		var err error
		if unlock, err = LockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{Logger: log, Writers: cfg.DBWriters, ReadConns: cfg.DBReadConns})
	if err != nil {
		unlock()
		return nil, fmt.Errorf("open database: %w", err)
	}
	fail := func(err error) (*Server, error) {
		d.Close()
		unlock()
		return nil, err
	}
	if _, err := d.Migrate(ctx, clk.Now()); err != nil {
		return fail(fmt.Errorf("migrate database: %w", err))
	}
	fileSecret, err := d.Meta(ctx, "file_url_secret", func() string { return id.Secret("") })
	if err != nil {
		return fail(err)
	}
	hl := newHealth(cfg.ShutdownTimeout)
	bus := o.Bus
	if bus == nil {
		if cfg.Bus == "mem" {
			bus = membus.New()
		} else {
			nb, err := natsbus.Connect(cfg.Bus, natsbus.Options{Name: "tiski " + cfg.Addr, Logger: log,
				OnState: hl.setBus})
			if err != nil {
				return fail(fmt.Errorf("connect to NATS at %s: %w", cfg.Bus, err))
			}
			bus = nb
		}
	}
	if o.Hub.Prefix == "" {
		o.Hub.Prefix = cfg.BusPrefix
	}
	s := &Server{Config: cfg, Log: log, Clock: clk, DB: d, Bus: bus, health: hl, dbCheckEvery: o.DBCheckEvery,
		Tenants:  tenant.NewStore(d, clk),
		Sites:    site.NewStore(d, clk),
		Users:    user.NewStore(d, clk, hasher),
		Visitors: visitor.NewStore(d, clk, cfg.VisitorTokenTTL),
		Sessions: auth.NewSessions(d, clk, cfg.SessionIdle, cfg.SessionMaxAge),
	}
	s.Chat = chat.NewService(d, clk, nil, log)
	if s.Files, err = attachment.NewStore(filepath.Join(cfg.DataDir, "files"), []byte(fileSecret), d, clk, cfg.MaxUploadBytes); err != nil {
		return fail(err)
	}
	s.unlock = unlock
	if cfg.MailEnabled() {
		s.Mail = mail.NewWorker(d, mail.NewSMTP(mail.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS}), clk, log)
	}
	s.Hub = realtime.NewHub(bus, s.Chat, s.Files, clk, log, o.Hub)
	if nb, ok := bus.(*natsbus.Bus); ok && !nb.Up() {
		hl.setBus(false) // lost while the node was being built
	}
	hl.attach(s.Hub)
	po := o.Presence
	if po.Grace == 0 {
		po.Grace = cfg.AwayGrace
	}
	if po.Idle == 0 {
		po.Idle = cfg.AwayIdle
	}
	s.Presence = presence.New(d, clk, s.Users, s.Chat, s.Hub, s.Hub.ConnectedAgents, log, po)
	s.Chat.SetNotifier(presence.Notifier{Next: s.Hub, Presence: s.Presence})
	s.Tags, s.Canned = tag.NewStore(d, clk), canned.NewStore(d, clk)
	s.Hub.SetHooks(realtime.Hooks{
		AgentActivity: func(tenantID, userID string) { s.Presence.Touch(context.Background(), tenantID, userID) },
		TypingPreview: func(ctx context.Context, tenantID, siteID string) bool {
			st, err := s.Sites.Get(ctx, tenantID, siteID)
			return err == nil && st.Settings.TypingPreview
		},
	})
	s.SetupToken = id.Secret("")[:32]
	limits := o.Limits
	if limits.NewVisitorsPerSec == 0 {
		limits.NewVisitorsPerSec, limits.NewVisitorsBurst = cfg.NewVisitorsPerSec, int(30*cfg.NewVisitorsPerSec)+1
	}
	s.HTTP = httpapi.New(httpapi.Deps{
		DB: d, Tenants: s.Tenants, Sites: s.Sites, Users: s.Users, Visitors: s.Visitors,
		Sessions: s.Sessions, Throttle: auth.NewThrottle(d, clk), Chat: s.Chat, Files: s.Files, Hub: s.Hub,
		Clock: clk, Log: log, PublicURL: cfg.PublicURL, SetupToken: s.SetupToken,
		Ready: s.ready, Mount: o.Mount, Limits: limits,
		Assets: web.Assets(), Manifest: web.Manifest(),
		Presence: s.Presence, Tags: s.Tags, Canned: s.Canned,
	})
	return s, nil
}

func (s *Server) ready(ctx context.Context) error {
	if err := s.DB.Ping(ctx); err != nil {
		return errors.New("database unavailable")
	}
	if busUp, _ := s.health.state(); !busUp {
		return errors.New("event bus unavailable")
	}
	return nil
}

// Listen opens the configured address.
func (s *Server) Listen() (net.Listener, error) {
	return net.Listen("tcp", s.Config.Addr)
}

// Serve answers HTTP on ln and runs the background sweepers until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.httpServer = &http.Server{
		Handler:           s.HTTP,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.sweep(ctx)
	}()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.Presence.Run(ctx, s.presenceInterval())
	}()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.Chat.RunSearchIndexer(ctx, time.Second, func(err error) { s.Log.Warn("indexing messages for search", "err", err) })
	}()
	if s.DB.Dialect == db.Postgres {
		every := s.dbCheckEvery
		if every <= 0 {
			every = time.Second
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.watchDB(ctx, every)
		}()
	}
	if s.Mail != nil {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.Mail.Run(ctx, 15*time.Second)
		}()
	}
	err := s.httpServer.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// presenceInterval is how often this node beats and sweeps presence: a
// third of the grace period, so an agent who left is away within about
// 1⅓ grace periods.
func (s *Server) presenceInterval() time.Duration {
	return max(s.Presence.Grace()/3, time.Second)
}

// sweep closes idle conversations and forgets expired sessions, once a
// minute. Every node may run it: each close re-checks under a row lock.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Chat.CloseInactive(ctx, s.Config.InactivityTimeout); err != nil && ctx.Err() == nil {
				s.Log.Warn("closing idle conversations", "err", err)
			} else if n > 0 {
				s.Log.Info("closed idle conversations", "count", n)
			}
			if _, err := s.Sessions.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("sweeping sessions", "err", err)
			}
		}
	}
}

// Shutdown stops taking requests, lets requests and frames in flight finish
// (each acknowledged message is committed before its ack is written), closes
// the realtime connections so clients resume elsewhere, and closes the
// database after its last queued write.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.stop != nil {
		s.stop()
	}
	var errs []error
	httpDone := make(chan error, 1)
	if s.httpServer != nil {
		// Stop accepting and wait for plain requests; realtime streams are
		// the hub's to drain, meanwhile.
		go func() { httpDone <- s.httpServer.Shutdown(ctx) }()
	} else {
		httpDone <- nil
	}
	s.Hub.Shutdown(ctx)
	if err := <-httpDone; err != nil {
		errs = append(errs, err)
	}
	s.bg.Wait()
	if err := s.Bus.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.DB.Close(); err != nil {
		errs = append(errs, err)
	}
	s.unlock()
	return errors.Join(errs...)
}

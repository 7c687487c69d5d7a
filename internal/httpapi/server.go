// Package httpapi is Tiski's HTTP edge: the widget API for shoppers, the
// console API for agents, first-run set-up, files, the realtime endpoints
// and health checks. Handlers decode, validate, call the domain and answer;
// errors map to statuses in one place (errors.go).
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
	"tiski/internal/apperr"

	"tiski/internal/attachment"
	"tiski/internal/auth"
	"tiski/internal/canned"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/presence"
	"tiski/internal/ratelimit"
	"tiski/internal/realtime"
	"tiski/internal/site"
	"tiski/internal/tag"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

// Deps are what the HTTP edge calls.
type Deps struct {
	DB       *db.DB
	Tenants  *tenant.Store
	Sites    *site.Store
	Users    *user.Store
	Visitors *visitor.Store
	Sessions *auth.Sessions
	Throttle *auth.Throttle
	Chat     *chat.Service
	Files    *attachment.Store
	Hub      *realtime.Hub
	Clock    clock.Clock
	Log      *slog.Logger
	// PublicURL is the origin browsers reach Tiski at; empty means "the
	// Host of each request" (fine behind no proxy).
	PublicURL string
	// SetupToken must accompany first-run set-up (printed at start).
	SetupToken string
	// Ready reports whether the node can take traffic.
	Ready func(ctx context.Context) error
	// Extra routes (the demo shop, assets of later front-ends).
	Mount func(mux *http.ServeMux)
	// Limits per client address; zero values take the defaults.
	Limits Limits
	// Assets are the built front-ends (web.Assets) and Manifest maps their
	// logical names to hashed files.
	Assets   fs.FS
	Manifest map[string]string
	// The console's domains.
	Presence *presence.Service
	Tags     *tag.Store
	Canned   *canned.Store
}

// Limits are per-address rates (events a second, and bursts) at the edge.
// Many shoppers may share one address (mobile carriers' NAT), so the
// defaults are generous; they stop floods, not people.
type Limits struct {
	NewVisitorsPerSec float64
	NewVisitorsBurst  int
	UploadsPerSec     float64
	UploadsBurst      int
	LoginsPerSec      float64
	LoginsBurst       int
}

func (l *Limits) defaults() {
	if l.NewVisitorsPerSec <= 0 {
		l.NewVisitorsPerSec, l.NewVisitorsBurst = 2, 60
	}
	if l.UploadsPerSec <= 0 {
		l.UploadsPerSec, l.UploadsBurst = 1, 20
	}
	if l.LoginsPerSec <= 0 {
		l.LoginsPerSec, l.LoginsBurst = 0.5, 10
	}
}

// Server serves Tiski's HTTP API.
type Server struct {
	Deps
	log       *slog.Logger
	mux       *http.ServeMux
	visitorRL *ratelimit.Keyed // new visitors per client address
	uploadRL  *ratelimit.Keyed // uploads per client address
	loginRL   *ratelimit.Keyed // login attempts per client address
}

// New builds the server and its routes.
func New(d Deps) *Server {
	d.Limits.defaults()
	l := d.Limits
	s := &Server{Deps: d, log: d.Log, mux: http.NewServeMux(),
		visitorRL: ratelimit.NewKeyed(l.NewVisitorsPerSec, l.NewVisitorsBurst),
		uploadRL:  ratelimit.NewKeyed(l.UploadsPerSec, l.UploadsBurst),
		loginRL:   ratelimit.NewKeyed(l.LoginsPerSec, l.LoginsBurst),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes()
	if d.Mount != nil {
		d.Mount(s.mux)
	}
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /files/{tenant}/{id}", s.Files)
	m.HandleFunc("GET /widget.js", s.serveAsset("widget.js"))
	m.HandleFunc("GET /assets/{file}", s.assetFile)
	m.HandleFunc("GET /{$}", s.home)
	// Anything else under /api/ answers in the API's error shape.
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})

	// First-run set-up.
	m.HandleFunc("GET /api/setup", s.setupStatus)
	m.HandleFunc("POST /api/setup", s.setup)

	s.widgetRoutes(m)
	s.consoleRoutes(m)
	s.teamRoutes(m)
	s.offlineRoutes(m)
	s.photoRoutes(m)
}

// ServeHTTP runs the middleware common to every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeJSON(rec, 500, errorBody{Error: errorDetail{Code: "internal", Message: "internal error"}})
			}
		}
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "dur", time.Since(start))
	}()
	s.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and websocket.Accept reach the
// underlying writer (Flush, Hijack, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

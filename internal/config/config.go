// Package config holds Tiski's settings: defaults, overridden by TISKI_*
// environment variables, overridden by command-line flags.
package config

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"tiski/internal/validate"
)

// Config is every setting of a Tiski server.
type Config struct {
	Addr    string // listen address, HOST:PORT
	DataDir string // embedded database, uploaded files
	DB      string // database URL; empty: SQLite in DataDir
	// DBWriters is how many connections commit writes (PostgreSQL; SQLite
	// has one writer). DBReadConns sizes the read pool.
	DBWriters   int
	DBReadConns int
	Bus         string // "mem" (single node) or a nats:// URL
	// BusPrefix starts every bus subject, so installations (or tests) may
	// share one NATS.
	BusPrefix string
	PublicURL string // how browsers reach this server; empty: derived from Addr
	LogLevel  string
	LogFormat string // text or json

	SessionIdle       time.Duration
	SessionMaxAge     time.Duration
	VisitorTokenTTL   time.Duration
	InactivityTimeout time.Duration
	// AwayGrace and AwayIdle turn an online agent away: with no console
	// open for AwayGrace, or inactive for AwayIdle.
	AwayGrace       time.Duration
	AwayIdle        time.Duration
	MaxUploadBytes  int64
	ShutdownTimeout time.Duration
	// SMTP is the mail server; empty SMTPHost disables email.
	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPFrom     string
	SMTPTLS      string
	// NewVisitorsPerSec limits how fast one client address may create
	// visitors (bursts of 30 times the rate are allowed).
	NewVisitorsPerSec float64
	// DebugAddr serves the Go runtime's profiles (net/http/pprof) on a
	// loopback address of its own; empty: off.
	DebugAddr string
}

// Default returns the settings Tiski runs with when told nothing.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DataDir:           "tiski-data",
		Bus:               "mem",
		BusPrefix:         "tiski.",
		DBWriters:         4,
		DBReadConns:       8,
		LogLevel:          "info",
		LogFormat:         "text",
		SessionIdle:       12 * time.Hour,
		SessionMaxAge:     7 * 24 * time.Hour,
		VisitorTokenTTL:   365 * 24 * time.Hour,
		InactivityTimeout: 30 * time.Minute,
		AwayGrace:         time.Minute,
		AwayIdle:          15 * time.Minute,
		MaxUploadBytes:    10 << 20,
		ShutdownTimeout:   15 * time.Second,
		NewVisitorsPerSec: 2,
		SMTPPort:          587,
		SMTPTLS:           "starttls",
	}
}

// Bind registers the settings as flags of fs, with defaults taken from c.
// After fs.Parse, call ApplyEnv.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address HOST:PORT (port 0 picks a free one)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (embedded database, uploaded files)")
	fs.StringVar(&c.DB, "db", c.DB, "database: a postgres:// URL, or a SQLite file; empty uses SQLite in the data directory")
	fs.IntVar(&c.DBWriters, "db-writers", c.DBWriters, "PostgreSQL connections committing writes (group commit), per node")
	fs.IntVar(&c.DBReadConns, "db-read-conns", c.DBReadConns, "database connections for reads, per node")
	fs.StringVar(&c.Bus, "bus", c.Bus, `event bus between nodes: "mem" for a single node, or nats://HOST:PORT (comma-separated for a NATS cluster)`)
	fs.StringVar(&c.BusPrefix, "bus-prefix", c.BusPrefix, "prefix of every NATS subject, ending in a dot; installations sharing one NATS need different ones")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL browsers use to reach Tiski, e.g. https://chat.example.com")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "serve Go runtime profiles (/debug/pprof/) on this loopback HOST:PORT; empty: off")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.DurationVar(&c.SessionIdle, "session-idle", c.SessionIdle, "sign agents out after this long without use")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", c.SessionMaxAge, "sign agents out after this long in any case")
	fs.DurationVar(&c.VisitorTokenTTL, "visitor-token-ttl", c.VisitorTokenTTL, "forget an anonymous visitor unseen this long")
	fs.DurationVar(&c.InactivityTimeout, "inactivity-timeout", c.InactivityTimeout, "close conversations idle this long")
	fs.DurationVar(&c.AwayGrace, "away-grace", c.AwayGrace, "set an online agent away when no console of theirs is open this long")
	fs.DurationVar(&c.AwayIdle, "away-idle", c.AwayIdle, "set an online agent away when they do nothing this long")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "largest file a chat may carry")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a graceful shutdown may take")
	fs.StringVar(&c.SMTPHost, "smtp-host", c.SMTPHost, "SMTP server for email (offline messages, transcripts); empty disables email")
	fs.IntVar(&c.SMTPPort, "smtp-port", c.SMTPPort, "SMTP port")
	fs.StringVar(&c.SMTPUsername, "smtp-username", c.SMTPUsername, "SMTP user name")
	fs.StringVar(&c.SMTPPassword, "smtp-password", c.SMTPPassword, "SMTP password (prefer TISKI_SMTP_PASSWORD)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, `sender of Tiski's email, e.g. "Kauppa <chat@kauppa.example>"`)
	fs.StringVar(&c.SMTPTLS, "smtp-tls", c.SMTPTLS, "starttls, tls (implicit, port 465) or none")
	fs.Float64Var(&c.NewVisitorsPerSec, "new-visitors-per-sec", c.NewVisitorsPerSec, "new visitors one client address may create a second (bursts of 30x)")
}

// EnvName is the environment variable for a flag: --public-url → TISKI_PUBLIC_URL.
func EnvName(flagName string) string {
	return "TISKI_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs not given on the command line from its
// TISKI_* environment variable, if set.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}

// Validate checks the settings and fills in derived ones.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT", c.Addr)
	}
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Errorf("--debug-addr %q: want a loopback HOST:PORT such as 127.0.0.1:6060 (profiles must not be public)", c.DebugAddr)
		}
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data must not be empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "tiski.db")
	}
	if strings.Contains(c.DB, "://") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("--db %q: want a postgres:// URL or a SQLite file path", redactURL(c.DB))
	}
	if c.DBWriters < 1 || c.DBWriters > 64 {
		return fmt.Errorf("--db-writers %d: want 1-64", c.DBWriters)
	}
	if c.DBReadConns < 1 || c.DBReadConns > 256 {
		return fmt.Errorf("--db-read-conns %d: want 1-256", c.DBReadConns)
	}
	if c.Bus != "mem" {
		for _, u := range strings.Split(c.Bus, ",") {
			if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
				return fmt.Errorf(`--bus %q: want "mem" or nats://HOST:PORT`, redactURL(c.Bus))
			}
		}
	}
	if !validPrefix(c.BusPrefix) {
		return fmt.Errorf(`--bus-prefix %q: want dot-separated words of letters, digits, "-" and "_", ending in a dot`, c.BusPrefix)
	}
	if c.PublicURL != "" {
		// It is compared with browsers' Origin headers: write it as they do.
		origin, err := validate.Origin("public-url", c.PublicURL)
		if err != nil {
			return fmt.Errorf("--public-url %q: want http(s)://host[:port]", c.PublicURL)
		}
		c.PublicURL = origin
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	for name, d := range map[string]time.Duration{"session-idle": c.SessionIdle, "session-max-age": c.SessionMaxAge,
		"visitor-token-ttl": c.VisitorTokenTTL, "inactivity-timeout": c.InactivityTimeout, "shutdown-timeout": c.ShutdownTimeout,
		"away-grace": c.AwayGrace, "away-idle": c.AwayIdle} {
		if d <= 0 {
			return fmt.Errorf("--%s must be positive", name)
		}
	}
	if c.SMTPHost != "" {
		if c.SMTPFrom == "" {
			return fmt.Errorf("--smtp-from is required with --smtp-host")
		}
		if c.SMTPPort < 1 || c.SMTPPort > 65535 {
			return fmt.Errorf("--smtp-port %d: want 1-65535", c.SMTPPort)
		}
		if c.SMTPTLS != "starttls" && c.SMTPTLS != "tls" && c.SMTPTLS != "none" {
			return fmt.Errorf("--smtp-tls %q: want starttls, tls or none", c.SMTPTLS)
		}
	}
	if c.NewVisitorsPerSec <= 0 {
		return fmt.Errorf("--new-visitors-per-sec must be positive")
	}
	if c.MaxUploadBytes < 1024 || c.MaxUploadBytes > 1<<30 {
		return fmt.Errorf("--max-upload-bytes must be between 1 KiB and 1 GiB")
	}
	return nil
}

// MailEnabled reports whether an SMTP server is configured.
func (c *Config) MailEnabled() bool { return c.SMTPHost != "" }

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// validPrefix accepts NATS subject tokens ("a.b_c.") without wildcards.
func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 64 || !strings.HasSuffix(p, ".") {
		return false
	}
	for _, tok := range strings.Split(strings.TrimSuffix(p, "."), ".") {
		if tok == "" {
			return false
		}
		for _, r := range tok {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

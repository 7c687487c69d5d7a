package config_test

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tiski/internal/config"
)

// parse binds a default config to a flag set, parses args and applies env.
func parse(t *testing.T, args []string, env map[string]string) (config.Config, []string, error) {
	t.Helper()
	c := config.Default()
	fs := flag.NewFlagSet("tiski", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	var asked []string
	err := config.ApplyEnv(fs, func(k string) string {
		asked = append(asked, k)
		return env[k]
	})
	return c, asked, err
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"addr": "TISKI_ADDR", "public-url": "TISKI_PUBLIC_URL", "max-upload-bytes": "TISKI_MAX_UPLOAD_BYTES",
		"new-visitors-per-sec": "TISKI_NEW_VISITORS_PER_SEC",
	} {
		if got := config.EnvName(flagName); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestFlagsBeatEnvBeatsDefaults(t *testing.T) {
	env := map[string]string{
		"TISKI_ADDR":                 "10.0.0.1:1",
		"TISKI_LOG_LEVEL":            "debug",
		"TISKI_BUS":                  "nats://127.0.0.1:4222",
		"TISKI_PUBLIC_URL":           "https://chat.example",
		"TISKI_SESSION_IDLE":         "2h",
		"TISKI_MAX_UPLOAD_BYTES":     "2048",
		"TISKI_NEW_VISITORS_PER_SEC": "5.5",
		"TISKI_LOG_FORMAT":           "", // empty is unset
	}
	c, asked, err := parse(t, []string{"--addr", "0.0.0.0:9000", "--log-level=warn", "--bus", "mem"}, env)
	if err != nil {
		t.Fatal(err)
	}
	d := config.Default()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"addr from the flag", c.Addr, "0.0.0.0:9000"},
		{"log level from the flag", c.LogLevel, "warn"},
		{"bus from the flag, though it equals the default", c.Bus, "mem"},
		{"public URL from env", c.PublicURL, "https://chat.example"},
		{"session idle from env", c.SessionIdle, 2 * time.Hour},
		{"upload limit from env", c.MaxUploadBytes, int64(2048)},
		{"visitor rate from env", c.NewVisitorsPerSec, 5.5},
		{"log format default (empty env)", c.LogFormat, d.LogFormat},
		{"data dir default", c.DataDir, d.DataDir},
		{"session max age default", c.SessionMaxAge, d.SessionMaxAge},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Every flag not given has its variable looked up; given ones do not.
	c2 := config.Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c2.Bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		given := f.Name == "addr" || f.Name == "log-level" || f.Name == "bus"
		looked := false
		for _, a := range asked {
			looked = looked || a == config.EnvName(f.Name)
		}
		if looked == given {
			t.Errorf("flag --%s given %v, env looked up %v", f.Name, given, looked)
		}
	})
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"TISKI_SESSION_IDLE":         "forever",
		"TISKI_MAX_UPLOAD_BYTES":     "10MB",
		"TISKI_NEW_VISITORS_PER_SEC": "fast",
		"TISKI_SHUTDOWN_TIMEOUT":     "15",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := parse(t, nil, map[string]string{name: value})
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), value) {
				t.Fatalf("ApplyEnv with %s=%q: %v", name, value, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() config.Config {
		c := config.Default()
		c.DataDir = t.TempDir()
		return c
	}
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
		want   string // a part of the error
	}{
		{"address without port", func(c *config.Config) { c.Addr = "localhost" }, "--addr"},
		{"empty data dir", func(c *config.Config) { c.DataDir = "" }, "--data"},
		{"unknown bus", func(c *config.Config) { c.Bus = "redis://127.0.0.1" }, "--bus"},
		{"public URL without scheme", func(c *config.Config) { c.PublicURL = "chat.example" }, "--public-url"},
		{"public URL of another scheme", func(c *config.Config) { c.PublicURL = "ftp://chat.example" }, "--public-url"},
		{"public URL with a path", func(c *config.Config) { c.PublicURL = "https://chat.example/tiski" }, "--public-url"},
		{"public URL with a query", func(c *config.Config) { c.PublicURL = "https://chat.example/?x=1" }, "--public-url"},
		{"public URL with credentials", func(c *config.Config) { c.PublicURL = "https://a:b@chat.example" }, "--public-url"},
		{"unknown log level", func(c *config.Config) { c.LogLevel = "trace" }, "--log-level"},
		{"unknown log format", func(c *config.Config) { c.LogFormat = "xml" }, "--log-format"},
		{"zero session idle", func(c *config.Config) { c.SessionIdle = 0 }, "--session-idle"},
		{"negative session max age", func(c *config.Config) { c.SessionMaxAge = -time.Hour }, "--session-max-age"},
		{"zero visitor token TTL", func(c *config.Config) { c.VisitorTokenTTL = 0 }, "--visitor-token-ttl"},
		{"negative inactivity timeout", func(c *config.Config) { c.InactivityTimeout = -1 }, "--inactivity-timeout"},
		{"zero shutdown timeout", func(c *config.Config) { c.ShutdownTimeout = 0 }, "--shutdown-timeout"},
		{"zero visitor rate", func(c *config.Config) { c.NewVisitorsPerSec = 0 }, "--new-visitors-per-sec"},
		{"tiny upload limit", func(c *config.Config) { c.MaxUploadBytes = 100 }, "--max-upload-bytes"},
		{"huge upload limit", func(c *config.Config) { c.MaxUploadBytes = 2 << 30 }, "--max-upload-bytes"},
		{"profiles on a public address", func(c *config.Config) { c.DebugAddr = "0.0.0.0:6060" }, "--debug-addr"},
		{"profiles on every address", func(c *config.Config) { c.DebugAddr = ":6060" }, "--debug-addr"},
		{"profiles on a host name", func(c *config.Config) { c.DebugAddr = "chat.example:6060" }, "--debug-addr"},
		{"profiles without a port", func(c *config.Config) { c.DebugAddr = "127.0.0.1" }, "--debug-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error about %s", err, tc.want)
			}
		})
	}

	t.Run("profiles on loopback", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:6060", "[::1]:0", "localhost:6060"} {
			c := valid()
			c.DebugAddr = addr
			if err := c.Validate(); err != nil {
				t.Errorf("%s: %v", addr, err)
			}
		}
	})

	t.Run("fills in derived settings", func(t *testing.T) {
		c := valid()
		c.DataDir = "relative-data"
		c.PublicURL = "https://Chat.Example:443/"
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(c.DataDir) || !strings.HasSuffix(c.DataDir, "relative-data") {
			t.Errorf("data dir %q is not made absolute", c.DataDir)
		}
		if c.DB != filepath.Join(c.DataDir, "tiski.db") {
			t.Errorf("default database %q", c.DB)
		}
		if c.PublicURL != "https://chat.example" {
			t.Errorf("public URL %q, want it as browsers write the origin", c.PublicURL)
		}
	})
	t.Run("keeps an explicit database", func(t *testing.T) {
		c := valid()
		c.DB = "postgres://tiski@127.0.0.1:5432/tiski"
		if err := c.Validate(); err != nil || c.DB != "postgres://tiski@127.0.0.1:5432/tiski" {
			t.Fatalf("Validate: %v, DB %q", err, c.DB)
		}
	})
	t.Run("defaults are valid", func(t *testing.T) {
		c := valid()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		c.Bus = "nats://127.0.0.1:4222"
		c.PublicURL = "http://localhost:8080"
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAwaySettings(t *testing.T) {
	c, _, err := parse(t, []string{"--away-idle=5m"}, map[string]string{"TISKI_AWAY_GRACE": "90s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.AwayGrace != 90*time.Second || c.AwayIdle != 5*time.Minute {
		t.Fatalf("away grace %v, idle %v", c.AwayGrace, c.AwayIdle)
	}
	if d := config.Default(); d.AwayGrace != time.Minute || d.AwayIdle != 15*time.Minute {
		t.Fatalf("defaults %v, %v", d.AwayGrace, d.AwayIdle)
	}
	c.AwayGrace = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "away-grace") {
		t.Fatalf("a zero grace period: %v", err)
	}
}

// Package bench measures a Tiski server from the outside: it starts the
// server as a child process (or uses one already running), sets it up over
// HTTP, and drives it over real sockets with the Go client. It reports the
// message round trip at a fixed offered rate, the sustained stored
// messages a second when senders go as fast as they can, and the server's
// memory per idle connection, and checks at the end that every message was
// stored exactly once.
package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is one benchmark run.
type Config struct {
	Size     string        // preset the other values came from: quick or full
	Visitors int           // active visitors, each in a conversation with an agent
	Agents   int           // agents sharing the active conversations (at most 50 each)
	Idle     int           // extra idle visitor connections for the memory figures
	Rates    []float64     // messages a second offered in the round-trip phase, one run each
	Duration time.Duration // length of the round-trip and the throughput phases
	Senders  int           // concurrent senders in the throughput phase
	Settle   time.Duration // wait after the idle ramp before reading steady memory
	Probe    bool          // also run the in-process group-commit probe
	JSON     string        // write every figure to this file

	StormRate  float64       // msgs/s flowing while every visitor connection is dropped (0: no storm)
	StormFor   time.Duration // length of that flow
	FanOut     int           // agent connections one publish reaches (0: no fan-out)
	History    []int         // database sizes (messages) for the history and inbox queries
	Goroutines int           // connections of the in-process goroutine count (0: none)
	PG         string        // a postgres:// URL (a schema is made in it) for the cross-node round trip
	Bus        string        // a nats:// URL for it instead of a NATS server in this process (no restart then)
	NATSDown   time.Duration // how long the cross-node phase keeps its NATS server stopped mid-flow (0: no restart)

	// Server is the URL of a running server to measure instead of a child.
	// It needs SetupToken (a fresh server) or an admin's AdminEmail and
	// AdminPassword, and a high --new-visitors-per-sec.
	Server        string
	SetupToken    string
	AdminEmail    string
	AdminPassword string
	// Binary is the server executable to run; empty means this program.
	Binary string
	// Version is recorded with the results.
	Version string
}

// Preset returns the settings of a named size.
func Preset(size string) (Config, error) {
	switch size {
	case "quick":
		return Config{Size: size, Visitors: 200, Agents: 4, Idle: 2000, Rates: []float64{100, 1000}, Duration: 15 * time.Second,
			Senders: 1000, Settle: 5 * time.Second, Probe: true, StormRate: 500, StormFor: 10 * time.Second, FanOut: 1000,
			History: []int{20000}, Goroutines: 500, NATSDown: 3 * time.Second}, nil
	case "full":
		// 130 s of settling include at least one GC cycle after the ramp
		// (Go forces one every two minutes), for the live-heap figures.
		return Config{Size: size, Visitors: 700, Agents: 14, Idle: 10000, Rates: []float64{100, 1000, 5000}, Duration: 60 * time.Second,
			Senders: 2000, Settle: 130 * time.Second, Probe: true, StormRate: 500, StormFor: 20 * time.Second, FanOut: 10000,
			History: []int{100000, 1000000}, Goroutines: 2000, NATSDown: 3 * time.Second}, nil
	}
	return Config{}, fmt.Errorf("--size %q: want quick or full", size)
}

// Bind registers the settings as flags of fs, with c's values as defaults.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Size, "size", c.Size, "preset: quick (about a minute) or full; other flags override it")
	fs.IntVar(&c.Visitors, "visitors", c.Visitors, "active chatting visitors")
	fs.IntVar(&c.Agents, "agents", c.Agents, "agents serving them (each takes at most 50 chats)")
	fs.IntVar(&c.Idle, "idle", c.Idle, "extra idle visitor connections for the memory measurement")
	fs.Var((*rateList)(&c.Rates), "rate", "messages a second offered in the round-trip phase (fixed-rate open loop); a list like 100,1000 runs each")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "length of the round-trip and of the throughput phase")
	fs.IntVar(&c.Senders, "senders", c.Senders, "concurrent senders in the throughput phase (closed loop)")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "wait after opening the idle connections before reading steady memory")
	fs.BoolVar(&c.Probe, "probe", c.Probe, "also measure group commit in-process (store API, no sockets)")
	fs.StringVar(&c.JSON, "json", c.JSON, "write every figure to this JSON file")
	fs.Float64Var(&c.StormRate, "storm-rate", c.StormRate, "msgs/s flowing while every visitor connection is dropped at once (0: no reconnect storm)")
	fs.DurationVar(&c.StormFor, "storm-duration", c.StormFor, "length of the reconnect storm's message flow")
	fs.IntVar(&c.FanOut, "fanout", c.FanOut, "agent connections that one publish reaches (0: no fan-out phase)")
	fs.Var((*intList)(&c.History), "history", "database sizes in messages for the history and inbox queries, e.g. 1000000,10000000 (empty: none)")
	fs.IntVar(&c.Goroutines, "goroutines", c.Goroutines, "idle connections of the in-process goroutine count (0: none)")
	fs.StringVar(&c.PG, "pg", c.PG, "postgres:// URL for the cross-node round trip (two nodes, a NATS restart mid-flow); a schema is created in it and dropped after")
	fs.StringVar(&c.Bus, "bus", c.Bus, "nats:// URL for the cross-node round trip instead of a NATS server of its own; the restart is then not measured")
	fs.DurationVar(&c.NATSDown, "nats-down", c.NATSDown, "how long the cross-node phase keeps its NATS server stopped mid-flow before starting it again on the same port (0: no restart)")
	fs.StringVar(&c.Server, "server", c.Server, "URL of a running server to measure instead of a child process (no memory figures)")
	fs.StringVar(&c.SetupToken, "setup-token", c.SetupToken, "with --server: first-run set-up token of a fresh server")
	fs.StringVar(&c.AdminEmail, "admin-email", c.AdminEmail, "with --server: an admin account of a server set up already")
	fs.StringVar(&c.AdminPassword, "admin-password", c.AdminPassword, "with --server: that admin's password")
}

func (c *Config) check() error {
	switch {
	case c.Visitors < 1 || c.Agents < 1 || c.Idle < 0 || c.Senders < 1:
		return fmt.Errorf("need at least one visitor, agent and sender, and no negative counts")
	case c.Agents*maxChats < c.Visitors:
		return fmt.Errorf("%d agents can take at most %d chats; use at least %d agents", c.Agents, c.Agents*maxChats, (c.Visitors+maxChats-1)/maxChats)
	case len(c.Rates) == 0 || slices.Min(c.Rates) <= 0 || c.Duration <= 0:
		return fmt.Errorf("--rate and --duration must be positive")
	case c.NATSDown < 0:
		return fmt.Errorf("--nats-down must not be negative")
	case max(slices.Max(c.Rates), c.StormRate)/float64(c.Visitors) > maxVisitorRate:
		return fmt.Errorf("%.0f msgs/s over %d visitors is more than %d a second each (the server allows 10); add visitors",
			slices.Max(c.Rates), c.Visitors, maxVisitorRate)
	case c.Server != "" && c.SetupToken == "" && (c.AdminEmail == "" || c.AdminPassword == ""):
		return fmt.Errorf("--server needs --setup-token, or --admin-email and --admin-password")
	}
	return nil
}

const (
	maxChats       = 50 // the server's highest max_chats per agent
	maxVisitorRate = 8  // msgs/s per connection we offer; the server limits it to 10
)

// Run runs the benchmark, prints the results as a table to out and
// progress to log, and writes the JSON file if asked. It returns an error
// if the run could not be completed or a message was lost or duplicated.
func Run(ctx context.Context, cfg Config, out, log io.Writer) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	log = &lockedWriter{w: log}
	res := &Result{Version: cfg.Version, Started: time.Now().UTC().Truncate(time.Second), Machine: machine(), Settings: settingsOf(cfg)}
	r := &run{cfg: cfg, res: res, log: log, base: time.Now()}
	for _, rate := range cfg.Rates {
		r.open = append(r.open, newOpenState(cfg.Visitors, rate, cfg.Duration))
	}
	if cfg.StormRate > 0 {
		r.open = append(r.open, newOpenState(cfg.Visitors, cfg.StormRate, cfg.StormFor))
	}
	url := cfg.Server
	if url == "" {
		bin := cfg.Binary
		if bin == "" {
			var err error
			if bin, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		r.logf("starting %s serve", bin)
		srv, err := startChild(ctx, bin, log)
		if err != nil {
			return nil, err
		}
		defer srv.Stop()
		r.srv, url = srv, srv.URL
		res.Settings.Server = "child process " + bin + " serve (pid " + fmt.Sprint(srv.Pid) + ")"
		res.Settings.ServerPID = srv.Pid
		res.Storage = storageOf(srv.dir)
		res.Memory.Goroutines = "the child reports none; counted in-process instead (goroutines)"
	} else {
		res.Settings.Server = url
		res.Storage = storageOf("")
		res.Notes = append(res.Notes, "A running server was measured: no memory or CPU figures of the server.")
	}
	err := r.all(ctx, url)
	r.closeStreams()
	if r.srv != nil {
		r.srv.Stop()
	}
	if err == nil && cfg.Server == "" {
		res.CrossNode = r.crossNode(ctx)
	} else {
		res.CrossNode = CrossNode{Status: "not run against --server"}
	}
	if err == nil && cfg.Probe {
		r.logf("store probe (in-process group commit)")
		res.Probe, err = probe(ctx, cfg)
	}
	for _, n := range cfg.History {
		if err != nil {
			break
		}
		var hr HistoryRun
		hr, err = history(ctx, n, r.logf)
		res.History = append(res.History, hr)
	}
	if err == nil && cfg.Goroutines > 0 {
		r.logf("goroutine count (in-process, %d connections)", cfg.Goroutines)
		var g Goroutines
		g, err = goroutineProbe(ctx, cfg.Goroutines)
		res.Goroutines = &g
	}
	res.Weight = weight()
	if err != nil {
		return res, err
	}
	res.Machine.LoadEnd = loadAvg()
	res.print(out)
	if cfg.JSON != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(cfg.JSON, append(b, '\n'), 0o644); err != nil {
			return res, err
		}
	}
	if g := res.Goroutines; g != nil && g.Leaked > g.Connections/100 {
		return res, fmt.Errorf("%d goroutines left after dropping %d connections", g.Leaked, g.Connections)
	}
	if fo := res.FanOut; fo.Delivered != fo.Expected {
		return res, fmt.Errorf("fan-out delivered %d of %d", fo.Delivered, fo.Expected)
	}
	if v := res.Verify; v.Lost > 0 || v.Duplicates > 0 || v.Gaps > 0 || v.Unexpected > 0 || v.Undelivered > 0 {
		return res, fmt.Errorf("messages went wrong: %d lost, %d duplicated, %d gaps, %d unexpected, %d undelivered",
			v.Lost, v.Duplicates, v.Gaps, v.Unexpected, v.Undelivered)
	}
	// The cross-node phase may be unavailable or fail to start (it says
	// so), but what it ran must have lost nothing and recovered.
	if v := res.CrossNode.Verify; v != nil && (v.Lost > 0 || v.Duplicates > 0 || v.Gaps > 0 || v.Unexpected > 0 || v.Undelivered > 0) {
		return res, fmt.Errorf("cross-node messages went wrong: %d lost, %d duplicated, %d gaps, %d unexpected, %d undelivered",
			v.Lost, v.Duplicates, v.Gaps, v.Unexpected, v.Undelivered)
	}
	if nr := res.CrossNode.Restart; nr != nil && nr.Status == "ran" && (!nr.Resumed || nr.AllBackSecs < 0) {
		return res, fmt.Errorf("after the NATS restart the flow did not resume (an agent got a message: %v; every client back: %v)",
			nr.Resumed, nr.AllBackSecs >= 0)
	}
	return res, nil
}

func (r *run) all(ctx context.Context, url string) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"set-up", func(ctx context.Context) error { return r.setup(ctx, url) }},
		// The first rate runs before the idle visitors connect: it is the
		// unloaded baseline, and its allocations let the server collect
		// the set-up's garbage (password hashing) before memory is read.
		// The idle visitors then stay connected through the other rates
		// and the storm, which drops them all; the fan-out needs their
		// sockets, so they close before it.
		{"round trip", func(ctx context.Context) error { return r.roundTrips(ctx, 0, 1) }},
		{"idle connections", r.idle},
		{"round trip", func(ctx context.Context) error { return r.roundTrips(ctx, 1, len(r.cfg.Rates)) }},
		{"reconnect storm", func(ctx context.Context) error {
			if r.cfg.StormRate <= 0 {
				return nil
			}
			return r.storm(ctx, len(r.cfg.Rates))
		}},
		{"closing idle connections", r.closeIdle},
		{"fan-out", r.fanOut},
		{"throughput", r.throughput},
		{"verification", r.verify},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "bench: %5.1fs  %s\n", time.Since(r.base).Seconds(), fmt.Sprintf(format, args...))
}

// lockedWriter serialises writes to the progress log: the servers' log
// lines arrive on goroutines of their own while the run reports progress.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// rateList is the --rate flag: one rate or a comma-separated list.
type rateList []float64

func (l *rateList) String() string {
	var s []string
	for _, r := range *l {
		s = append(s, strconv.FormatFloat(r, 'f', -1, 64))
	}
	return strings.Join(s, ",")
}

func (l *rateList) Set(v string) error {
	*l = nil
	for f := range strings.SplitSeq(v, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return err
		}
		*l = append(*l, r)
	}
	return nil
}

// intList is a flag of comma-separated integers.
type intList []int

func (l *intList) String() string {
	var s []string
	for _, n := range *l {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", f)
		}
		*l = append(*l, n)
	}
	return nil
}

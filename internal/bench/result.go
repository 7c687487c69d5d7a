package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Result is every figure of a run; it is also the JSON written by --json.
type Result struct {
	Version    string       `json:"version"`
	Started    time.Time    `json:"started"`
	Machine    Machine      `json:"machine"`
	Settings   Settings     `json:"settings"`
	Storage    Storage      `json:"storage"`
	RoundTrip  []RoundTrip  `json:"round_trip"`
	Throughput Throughput   `json:"throughput"`
	Memory     Memory       `json:"memory"`
	Probe      []ProbeRun   `json:"store_probe,omitempty"`
	Storm      Storm        `json:"reconnect_storm"`
	FanOut     FanOut       `json:"fan_out"`
	History    []HistoryRun `json:"history,omitempty"`
	Goroutines *Goroutines  `json:"goroutines,omitempty"`
	Weight     []Asset      `json:"weight"`
	CrossNode  CrossNode    `json:"cross_node"`
	Verify     Verify       `json:"verify"`
	Notes      []string     `json:"notes,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	MemTotal   string `json:"mem_total"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	Go         string `json:"go"`
	NoFile     uint64 `json:"nofile_limit"`
	// Load averages (1, 5, 15 min) when the run began and ended: other
	// work on the machine shows here and distorts every figure.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

// Settings are the run's parameters.
type Settings struct {
	Size            string    `json:"size"`
	Server          string    `json:"server"`
	ServerPID       int       `json:"server_pid,omitempty"`
	Visitors        int       `json:"visitors"`
	Agents          int       `json:"agents"`
	Idle            int       `json:"idle"`
	Rates           []float64 `json:"rates"`
	DurationSeconds float64   `json:"duration_s"`
	Senders         int       `json:"senders"`
	SettleSeconds   float64   `json:"settle_s"`
	Pinned          bool      `json:"pinned"`
}

// Storage is how the server stores messages.
type Storage struct {
	Engine      string `json:"engine"`
	Journal     string `json:"journal"`
	Synchronous string `json:"synchronous"`
	GroupCommit string `json:"group_commit"`
	FileSystem  string `json:"file_system,omitempty"`
}

// RoundTrip is the open-loop phase: visitor send → stored → agent stream.
type RoundTrip struct {
	Rate        float64 `json:"offered_per_s"`
	Seconds     float64 `json:"duration_s"`
	Achieved    float64 `json:"acked_per_s"`
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	SendErrors  int64   `json:"send_errors"`
	Received    int64   `json:"received_by_agents"`
	Redelivered int64   `json:"redelivered"`
	// Sends the client resent after losing its connection whose first
	// copy had been stored: acknowledged as duplicates, stored once.
	ResentStored    int64   `json:"resent_found_stored,omitempty"`
	AgentReconnects int64   `json:"agent_reconnects"`
	Latency         Dist    `json:"send_to_agent"`
	Ack             Dist    `json:"send_to_ack"`
	ServerCPU       float64 `json:"server_cpu_cores"`
	BenchCPU        float64 `json:"bench_cpu_cores"`
}

// Throughput is the closed-loop phase.
type Throughput struct {
	Senders     int     `json:"senders"`
	Seconds     float64 `json:"duration_s"`
	Stored      int64   `json:"stored"`
	PerSec      float64 `json:"stored_per_s"`
	MinSecond   int64   `json:"slowest_second"`
	MaxSecond   int64   `json:"fastest_second"`
	SendErrors  int64   `json:"send_errors"`
	RateLimited int64   `json:"rate_limited"`
	Ceiling     float64 `json:"rate_limit_ceiling_per_s"`
	Ack         Dist    `json:"send_to_ack"`
	ServerCPU   float64 `json:"server_cpu_cores"`
	BenchCPU    float64 `json:"bench_cpu_cores"`
}

// Memory is the idle-connection phase. Sizes are bytes; per-connection
// figures divide a growth by the connections opened.
type Memory struct {
	Idle          int         `json:"idle_connections"`
	Connected     int         `json:"connected"`
	Failed        int         `json:"failed"`
	RampSeconds   float64     `json:"ramp_s"`
	RSSBefore     int64       `json:"rss_before"`
	RSSRampPeak   int64       `json:"rss_ramp_peak"` // highest VmRSS sampled every 50 ms during the ramp
	RSSSteady     int64       `json:"rss_steady"`    // VmRSS settle seconds after the ramp
	RSSMax        int64       `json:"rss_max"`       // VmHWM from the ramp's start to the steady reading
	HWMReset      bool        `json:"hwm_reset"`
	PerConnSteady float64     `json:"rss_per_conn_steady"`
	PerConnPeak   float64     `json:"rss_per_conn_peak"`
	PerConnLive   float64     `json:"live_heap_per_conn"` // growth of the live heap between GCs before and after
	PerConnStacks float64     `json:"stacks_per_conn"`
	ThreadsBefore int         `json:"threads_before"`
	ThreadsAfter  int         `json:"threads_after"`
	GCBefore      *GCFigures  `json:"gc_before_ramp,omitempty"`
	GC            *GCFigures  `json:"gc_after_ramp,omitempty"`
	Series        []RSSSample `json:"rss_after_ramp,omitempty"`
	Goroutines    string      `json:"goroutines"`
	// Server CPU while only the idle connections (and their pings) exist.
	IdleCPU        float64 `json:"idle_cpu_cores"`
	IdleCPUSeconds float64 `json:"idle_cpu_window_s"`
}

// GCFigures are what the server's garbage collector reported at the end of
// its last cycle before the ramp, or after it (GODEBUG=gctrace=1).
type GCFigures struct {
	SecondsAfterRamp float64 `json:"s_after_ramp"`
	HeapLiveMB       int64   `json:"heap_live_mb"`
	HeapGoalMB       int64   `json:"heap_goal_mb"`
	StacksMB         int64   `json:"stacks_mb"`
}

// RSSSample is the server's RSS some seconds after the ramp.
type RSSSample struct {
	Seconds float64 `json:"s"`
	RSS     int64   `json:"rss"`
}

// Verify is the read-back of every conversation at the end.
type Verify struct {
	Conversations int64 `json:"conversations"`
	Messages      int64 `json:"visitor_messages"`
	Lost          int64 `json:"lost"`
	Duplicates    int64 `json:"duplicates"`
	Gaps          int64 `json:"gaps"`
	Unexpected    int64 `json:"unexpected"`
	// Undelivered counts round-trip messages acknowledged to the visitor
	// that no agent stream received, even after resuming.
	Undelivered int64 `json:"undelivered"`
}

func settingsOf(c Config) Settings {
	return Settings{Size: c.Size, Visitors: c.Visitors, Agents: c.Agents, Idle: c.Idle, Rates: c.Rates,
		DurationSeconds: c.Duration.Seconds(), Senders: c.Senders, SettleSeconds: c.Settle.Seconds()}
}

// storageOf describes the storage of this build (what internal/db opens).
func storageOf(dataDir string) Storage {
	s := Storage{Engine: "SQLite (modernc.org/sqlite, pure Go)", Journal: "WAL", Synchronous: "FULL (fsync on every commit)",
		GroupCommit: "one writer; concurrent writes share a commit, up to 256"}
	if dataDir != "" {
		s.FileSystem = fsType(dataDir)
	}
	return s
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Go: runtime.Version(), NoFile: noFileLimit()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadStart = loadAvg()
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

func (r *Result) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	m, s := r.Machine, r.Settings
	p("Tiski benchmark — size %s, tiski %s, %s", s.Size, r.Version, r.Started.Format(time.RFC3339))
	p("")
	p("Machine   %s, %d CPUs (GOMAXPROCS %d), %s RAM, kernel %s, %s, %s, open files %d",
		m.CPU, m.NumCPU, m.GOMAXPROCS, m.MemTotal, m.Kernel, m.OS, m.Go, m.NoFile)
	p("Load      average %s at the start, %s at the end (other work on the machine distorts the figures)", m.LoadStart, m.LoadEnd)
	p("Server    %s; server and load generator share the CPUs (not pinned)", s.Server)
	st := r.Storage
	p("Storage   %s, journal %s, synchronous %s, group commit: %s; data on %s", st.Engine, st.Journal, st.Synchronous, st.GroupCommit, or(st.FileSystem, "the server's disk"))
	p("Settings  %d active visitors, %d agents, %d idle connections, %s msgs/s for %gs each, %d senders, settle %gs",
		s.Visitors, s.Agents, s.Idle, (*rateList)(&s.Rates), s.DurationSeconds, s.Senders, s.SettleSeconds)
	p("")
	dist := func(name string, d Dist, target string) {
		p("    %-16s %8.2f %8.2f %8.2f %8.2f %8.2f   %s", name, d.P50, d.P90, d.P99, d.P999, d.Max, target)
	}
	for _, rt := range r.RoundTrip {
		p("(a) Round trip visitor → stored → agent, open loop at %.0f msgs/s for %gs (from each message's due time)", rt.Rate, rt.Seconds)
		p("    %-16s %8s %8s %8s %8s %8s   %s", "latency, ms", "p50", "p90", "p99", "p99.9", "max", "target")
		target := ""
		if rt.Rate >= 1000 {
			target = "p50 ≤ 1, p99 ≤ 5, p99.9 ≤ 20"
		}
		dist("send → agent", rt.Latency, target)
		dist("send → ack", rt.Ack, "")
		p("    sent %d, acked %d (%.1f/s), received by agents %d, send errors %d, redelivered %d, agent reconnects %d",
			rt.Sent, rt.Acked, rt.Achieved, rt.Received, rt.SendErrors, rt.Redelivered, rt.AgentReconnects)
		p("    CPU: server %.2f cores, load generator %.2f cores", rt.ServerCPU, rt.BenchCPU)
		p("")
	}
	tp := r.Throughput
	p("(b) Throughput, closed loop: %d senders, one message in flight each, %gs", tp.Senders, tp.Seconds)
	p("    stored %.0f msgs/s (slowest second %d, fastest %d)   target ≥ 40000", tp.PerSec, tp.MinSecond, tp.MaxSecond)
	dist("send → ack", tp.Ack, "")
	p("    send errors %d, rate-limited answers %d (the server allows 10 msgs/s per connection after a burst of 30: sustained ceiling %.0f/s)",
		tp.SendErrors, tp.RateLimited, tp.Ceiling)
	p("    CPU: server %.2f cores, load generator %.2f cores", tp.ServerCPU, tp.BenchCPU)
	p("")
	mem := r.Memory
	p("(c) Server memory per idle connection: %d WebSocket visitors, ramp %.1fs, %d failed", mem.Idle, mem.RampSeconds, mem.Failed)
	if mem.RSSBefore > 0 {
		p("    RSS before %s, ramp peak %s, steady %s (%gs after the ramp), highest %s",
			mib(mem.RSSBefore), mib(mem.RSSRampPeak), mib(mem.RSSSteady), s.SettleSeconds, mib(mem.RSSMax))
		p("    RSS per connection: steady %s (target ≤ 12 KiB), ramp peak %s (target ≤ 20 KiB)", kib(mem.PerConnSteady), kib(mem.PerConnPeak))
		if g := mem.GC; g != nil {
			p("    server's last GC, %.0fs after the ramp: live heap %d MB, heap goal %d MB, goroutine stacks %d MB",
				g.SecondsAfterRamp, g.HeapLiveMB, g.HeapGoalMB, g.StacksMB)
		}
		if mem.GCBefore != nil {
			p("    growth per connection between the GCs before and after the ramp: live heap %s, stacks %s",
				kib(mem.PerConnLive), kib(mem.PerConnStacks))
		}
		p("    OS threads %d → %d; goroutines: %s", mem.ThreadsBefore, mem.ThreadsAfter, mem.Goroutines)
		if mem.IdleCPUSeconds > 0 {
			p("    server CPU while idle: %.1f%% of a core over %.0fs (target ≤ 5%%)", 100*mem.IdleCPU, mem.IdleCPUSeconds)
		}
	} else if mem.Idle > 0 {
		p("    no memory figures (not a child process)")
	}
	if len(r.Probe) > 0 {
		p("")
		p("(d) Group commit, in-process store probe: chat.Service.Send on a fresh SQLite database, same settings, no sockets")
		p("    %8s %10s %14s %12s %12s", "writers", "msgs/s", "writes/commit", "ack p50 ms", "ack p99 ms")
		for _, pr := range r.Probe {
			p("    %8d %10.0f %14.1f %12.2f %12.2f", pr.Writers, pr.PerSec, pr.PerCommit, pr.Ack.P50, pr.Ack.P99)
		}
	}
	if st := r.Storm; st.Dropped > 0 {
		p("")
		p("(e) Reconnect storm: %d visitor connections dropped at once while %.0f msgs/s flow", st.Dropped, st.Rate)
		p("    resumed %d of %d; all back %.2fs after the drop (median %.2fs)   target ≤ 6 s", st.Resumed, st.Dropped, st.AllResumedSecs, st.P50ResumeSecs)
		p("    flow: acked %d, reached agents %d, send errors %d; frames resent after resuming %d (dropped by the client, none shown twice)",
			st.Acked, st.Received, st.SendErrors, st.Redelivered)
		if st.RSSBefore > 0 {
			p("    server RSS %s before, peak %s; CPU %.2f cores until all were back", mib(st.RSSBefore), mib(st.RSSPeak), st.ServerCPU)
		}
	}
	if g := r.Goroutines; g != nil {
		p("")
		p("(f) Goroutines, in-process node, %d idle visitor WebSockets from a client without goroutines", g.Connections)
		p("    %d before, %d connected: %.2f a connection (target ≤ 1); all dropped: %d after %.1fs, %d left over", g.Before, g.Connected, g.PerConn, g.AfterDrop, g.DrainSeconds, g.Leaked)
	}
	if fo := r.FanOut; fo.Subscribers > 0 {
		p("")
		p("(g) Fan-out: one message in a queued chat reaches every agent connection's inbox; %d connections (ramp %.1fs), %d publishes 500 ms apart", fo.Connected, fo.RampSeconds, fo.Publishes)
		p("    %-16s %8s %8s %8s %8s %8s   %s", "latency, ms", "p50", "p90", "p99", "p99.9", "max", "target")
		dist("send → each", fo.Latency, "p50 ≤ 60, p99 ≤ 150 (at 10,000)")
		p("    delivered %d of %d; CPU: server %.2f cores, load generator %.2f cores", fo.Delivered, fo.Expected, fo.ServerCPU, fo.BenchCPU)
	}
	for _, h := range r.History {
		p("")
		p("(h) History and inbox on %d messages in %d conversations (%d open), seeded in %.0fs, database %s; in-process through chat.Service",
			h.Messages, h.Conversations, h.Open, h.SeedSeconds, mib(h.DBBytes))
		p("    %-24s %8s %8s %8s %8s %8s   %s", "latency, ms", "p50", "p90", "p99", "p99.9", "max", "target")
		d := func(name string, x Dist, target string) {
			p("    %-24s %8.2f %8.2f %8.2f %8.2f %8.2f   %s", name, x.P50, x.P90, x.P99, x.P999, x.Max, target)
		}
		d("last 50, 500-message chat", h.LastLong, "p99 ≤ 2")
		d("last 50, any chat", h.LastAny, "p99 ≤ 2")
		d("inbox, first page", h.Inbox, "p99 ≤ 10")
		d("inbox, after 1,000", h.InboxDeep, "p99 ≤ 10")
	}
	if len(r.Weight) > 0 {
		p("")
		p("(i) Front-end weight, gzipped, from this binary's web/dist")
		widget := 0
		for _, a := range r.Weight {
			if !a.Built {
				p("    %-18s not in this build", a.Name)
				continue
			}
			t := ""
			if a.Target > 0 {
				t = fmt.Sprintf("target ≤ %d", a.Target)
			}
			if a.Name == "widget-app.js" || a.Name == "widget-frame.css" {
				widget += a.Gzipped
			}
			p("    %-18s %8d bytes, %8d gzipped   %s", a.Name, a.Bytes, a.Gzipped, t)
		}
		if widget > 0 {
			p("    widget app and style sheet together: %d gzipped (target ≤ 25000)", widget)
		}
		p("    main-thread blocking in Chromium: make bench-browser (e2e/browser/blocking.mjs; make bench runs it next)")
	}
	p("")
	if cn := r.CrossNode; cn.Status == "ran" {
		p("(j) Cross-node round trip on PostgreSQL + NATS, %d shoppers on node A, open loop at %.0f msgs/s for %gs each", cn.Visitors, cn.OneNode.Rate, cn.OneNode.Seconds)
		p("    bus: %s", cn.Bus)
		p("    %-16s %8s %8s %8s %8s %8s   %s", "latency, ms", "p50", "p90", "p99", "p99.9", "max", "target")
		dist("agents on A", cn.OneNode.Latency, "")
		dist("agents on B", cn.TwoNodes.Latency, "added p99 ≤ 2")
		nr := cn.Restart
		if nr != nil && nr.Status == "ran" {
			dist("NATS restart", nr.Flow.Latency, "the whole flow, outage included")
		}
		p("    added p99 %.2f ms; acked %d + %d, reached agents %d + %d", cn.AddedP99, cn.OneNode.Acked, cn.TwoNodes.Acked, cn.OneNode.Received, cn.TwoNodes.Received)
		if nr != nil && nr.Status == "ran" {
			f := nr.Flow
			p("    NATS restart: shoppers on A, agents on B, %gs at %.0f msgs/s; the server stopped %.1fs in, started again on the same port %.2fs later",
				f.Seconds, f.Rate, nr.StoppedAtSecs, nr.DownSecs)
			p("      clients sent away %s after the stop; refused while the nodes had no bus: %d connections, %d sends (resent after reconnecting)",
				secsOr(nr.SentAwaySecs, "not all"), nr.RefusedConns, nr.RefusedSends)
			first := "never"
			if nr.Resumed {
				first = secsOr(nr.FirstDeliverySecs, "")
			}
			p("      after the restart: first message across nodes %s, latency normal again for 9 in 10 messages %s (p90 of each 0.5 s ≤ %.2f ms, the p99 above), every client back %s",
				first, secsOr(nr.NormalSecs, "not within the flow"), nr.NormalLimit, secsOr(nr.AllBackSecs, "not within a minute"))
			p("      reconnects: visitors %d (%d streams), agents %d (%d streams); acked %d, reached agents %d, send errors %d, resent and found stored %d, frames redelivered %d",
				nr.VisitorReconnects, cn.Visitors, nr.AgentReconnects, nr.Clients-cn.Visitors, f.Acked, f.Received, f.SendErrors, f.ResentStored, f.Redelivered)
		} else if nr != nil {
			p("    NATS restart: %s", nr.Status)
		}
		scope := "whole phase"
		if nr != nil && nr.Status == "ran" {
			scope += ", the restart included"
		}
		p("    %s: lost %d, duplicates %d, gaps %d, unexpected %d, undelivered %d   target 0", scope,
			cn.Verify.Lost, cn.Verify.Duplicates, cn.Verify.Gaps, cn.Verify.Unexpected, cn.Verify.Undelivered)
	} else {
		p("Cross-node round trip: %s", cn.Status)
	}
	p("")
	v := r.Verify
	p("Verification through the API: %d conversations, %d visitor messages: lost %d, duplicates %d, gaps %d, unexpected %d; undelivered to agents %d",
		v.Conversations, v.Messages, v.Lost, v.Duplicates, v.Gaps, v.Unexpected, v.Undelivered)
	for _, n := range r.Notes {
		p("Note: %s", n)
	}
}

// secsOr formats seconds, or says why there are none (a negative value).
func secsOr(s float64, none string) string {
	if s < 0 {
		return none
	}
	return fmt.Sprintf("%.2fs", s)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

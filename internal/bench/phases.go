package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tiski/client"
)

// openState tracks the round-trip phase. Message k of visitor v is due at
// start + (k·N + v)/rate: the schedule is fixed in advance, and latency is
// measured from the due time, so a stalled send delays (and is charged to)
// the messages behind it instead of hiding them (no coordinated omission).
type openState struct {
	rate       float64
	visitors   int
	start      atomic.Int64 // due time of message 0, as an offset from run.base
	perVisitor int
	recv       [][]uint32 // [v][k]: times the agent got the message (atomic)
	received   atomic.Int64
	redeliver  atomic.Int64
	rtt, ack   samples
}

// newOpenState makes a round trip's counters. They exist before any stream
// does: the agents' reading goroutines use them.
func newOpenState(visitors int, rate float64, dur time.Duration) *openState {
	o := &openState{rate: rate, visitors: visitors, recv: make([][]uint32, visitors)}
	o.perVisitor = int(dur.Seconds()*rate/float64(visitors)) + 2
	for i := range o.recv {
		o.recv[i] = make([]uint32, o.perVisitor)
	}
	return o
}

// due is when message k of visitor v is due, as an offset from run.base.
func (o *openState) due(v, k int) time.Duration {
	return time.Duration(o.start.Load()) + time.Duration(float64(k*o.visitors+v)*float64(time.Second)/o.rate)
}

// onAgentFrame runs on each agent stream's reading goroutine. Round-trip
// messages have client ids o<run>-<visitor>-<k>.
func (r *run) onAgentFrame(f client.Frame) {
	if f.T != "msg" || f.M == nil || f.M.From.Kind != "visitor" || !strings.HasPrefix(f.M.CMID, "o") {
		return
	}
	now := time.Now()
	var nums [3]int
	for i, part := range strings.SplitN(f.M.CMID[1:], "-", 3) {
		n, err := strconv.Atoi(part)
		if err != nil {
			return
		}
		nums[i] = n
	}
	ri, v, k := nums[0], nums[1], nums[2]
	if ri >= len(r.open) {
		return
	}
	o := r.open[ri]
	if v >= len(o.recv) || k >= o.perVisitor {
		return
	}
	if atomic.AddUint32(&o.recv[v][k], 1) > 1 {
		o.redeliver.Add(1)
		return
	}
	o.received.Add(1)
	o.rtt.add(now.Sub(r.base.Add(o.due(v, k))))
}

func (r *run) roundTrips(ctx context.Context) error {
	for i := range r.open {
		if err := r.roundTrip(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// roundTrip offers one rate's messages a second, spread evenly over the
// active visitors, and measures each from its due time to the agent's
// stream (round trip) and to its acknowledgement (durable commit).
func (r *run) roundTrip(ctx context.Context, ri int) error {
	o := r.open[ri]
	n, rate, dur := r.cfg.Visitors, o.rate, r.cfg.Duration
	r.logf("round trip: %.0f msgs/s for %s", rate, dur)
	load := startLoad(r.srv)
	o.start.Store(int64(time.Since(r.base) + 100*time.Millisecond))
	var wg sync.WaitGroup
	var acked, failed atomic.Int64
	for i := range n {
		v := r.vis[i]
		wg.Go(func() {
			var acks []time.Duration
			defer func() { o.ack.addAll(acks) }()
			for k := 0; k < o.perVisitor; k++ {
				due := o.due(i, k)
				if due-time.Duration(o.start.Load()) >= dur {
					return
				}
				at := r.base.Add(due)
				if sleepCtx(ctx, time.Until(at)) != nil {
					return
				}
				cmid := fmt.Sprintf("o%d-%d-%d", ri, i, k)
				v.sent = append(v.sent, cmid)
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := v.s.Send(sctx, v.conv, cmid, "text", body(cmid))
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					v.failed[cmid] = true
					failed.Add(1)
					continue
				}
				acks = append(acks, time.Since(at))
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Let the last messages reach the agents.
	for wait := time.Now(); o.received.Load() < acked.Load() && time.Since(wait) < 30*time.Second; {
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	rt := RoundTrip{Rate: rate, Seconds: dur.Seconds()}
	rt.Acked, rt.SendErrors = acked.Load(), failed.Load()
	rt.Sent = rt.Acked + rt.SendErrors
	rt.Achieved = float64(rt.Acked) / dur.Seconds()
	rt.Received, rt.Redelivered = o.received.Load(), o.redeliver.Load()
	rt.Latency, rt.Ack = o.rtt.dist(), o.ack.dist()
	rt.ServerCPU, rt.BenchCPU = load.cores()
	for _, a := range r.agents {
		rt.AgentReconnects += a.s.Connects.Load() - 1
	}
	r.res.RoundTrip = append(r.res.RoundTrip, rt)
	return nil
}

// idle opens cfg.Idle more visitor connections that only keep alive, and
// reads the server's resident memory before, during and after the ramp.
func (r *run) idle(ctx context.Context) error {
	k := r.cfg.Idle
	m := &r.res.Memory
	m.Idle = k
	if k == 0 {
		return nil
	}
	r.logf("creating %d idle visitors", k)
	vs, err := r.newVisitors(ctx, k)
	if err != nil {
		return err
	}
	r.vis = append(r.vis, vs...)
	if r.srv != nil {
		st, err := r.settled(ctx)
		if err != nil {
			return err
		}
		m.RSSBefore, m.ThreadsBefore = st.RSS, st.Threads
		m.HWMReset = resetPeak(r.srv.Pid) == nil
	}
	r.logf("opening %d idle connections", k)
	var peak atomic.Int64 // highest RSS seen while the ramp runs
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	if r.srv != nil {
		sampler.Go(func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				if st, err := readStatus(r.srv.Pid); err == nil && st.RSS > peak.Load() {
					peak.Store(st.RSS)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
	}
	err = r.ramp(ctx, vs)
	close(stop)
	sampler.Wait()
	if err != nil || r.srv == nil {
		return err
	}
	rampEnd := time.Now()
	m.RSSRampPeak = peak.Load()
	// Hold, sampling, so that the memory the ramp used can be collected.
	for t := time.Duration(0); t < r.cfg.Settle; t += time.Second {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		if st, err := readStatus(r.srv.Pid); err == nil {
			m.Series = append(m.Series, RSSSample{Seconds: time.Since(rampEnd).Seconds(), RSS: st.RSS})
		}
	}
	st, err := readStatus(r.srv.Pid)
	if err != nil {
		return err
	}
	m.RSSSteady, m.ThreadsAfter = st.RSS, st.Threads
	if m.HWMReset {
		m.RSSMax = st.HWM
	}
	if c := float64(m.Connected); c > 0 {
		m.PerConnSteady = float64(m.RSSSteady-m.RSSBefore) / c
		m.PerConnPeak = float64(m.RSSRampPeak-m.RSSBefore) / c
	}
	g0, ok0 := r.srv.lastGC(time.Time{}, rampEnd.Add(-time.Duration(m.RampSeconds*float64(time.Second))))
	g1, ok1 := r.srv.lastGC(rampEnd, time.Now())
	if ok1 {
		m.GC = &GCFigures{SecondsAfterRamp: g1.At.Sub(rampEnd).Seconds(), HeapLiveMB: g1.HeapLive, HeapGoalMB: g1.Goal, StacksMB: g1.Stacks}
		if ok0 && m.Connected > 0 {
			m.GCBefore = &GCFigures{SecondsAfterRamp: g0.At.Sub(rampEnd).Seconds(), HeapLiveMB: g0.HeapLive, HeapGoalMB: g0.Goal, StacksMB: g0.Stacks}
			m.PerConnLive = float64((g1.HeapLive-g0.HeapLive)<<20) / float64(m.Connected)
			m.PerConnStacks = float64((g1.Stacks-g0.Stacks)<<20) / float64(m.Connected)
		}
	}
	return nil
}

// ramp connects the visitors at 2,000 a second, like the peer measurement,
// and waits until every one is welcomed (or a minute has passed).
func (r *run) ramp(ctx context.Context, vs []*visitor) error {
	m := &r.res.Memory
	start := time.Now()
	for i, v := range vs {
		if err := sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*time.Second/2000))); err != nil {
			return err
		}
		v.s = v.v.Connect(r.streamOptions())
	}
	for deadline := time.Now().Add(time.Minute); ; {
		m.Connected = 0
		for _, v := range vs {
			if v.s.Connected() {
				m.Connected++
			}
		}
		if m.Connected == len(vs) || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	m.Failed, m.RampSeconds = len(vs)-m.Connected, time.Since(start).Seconds()
	return nil
}

// settled waits until the server's RSS stops moving (the set-up's password
// hashing leaves garbage behind) and returns it.
func (r *run) settled(ctx context.Context) (procStatus, error) {
	prev, err := readStatus(r.srv.Pid)
	for i := 0; err == nil && i < 30; i++ {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return prev, err
		}
		st, e := readStatus(r.srv.Pid)
		if e != nil {
			return st, e
		}
		d := st.RSS - prev.RSS
		prev = st
		if d < 256<<10 && d > -(256<<10) {
			break
		}
	}
	return prev, err
}

// throughput lets cfg.Senders visitors send as fast as the server acks
// (each connection has one message in flight, as the protocol serves a
// connection's frames in order) and counts stored messages a second.
func (r *run) throughput(ctx context.Context) error {
	n := min(r.cfg.Senders, len(r.vis))
	senders := r.vis[:n]
	for _, v := range senders {
		if v.s == nil {
			v.s = v.v.Connect(r.streamOptions())
		}
	}
	// Idle visitors have no conversation yet: start one outside the clock.
	r.logf("throughput: starting conversations for %d senders", n)
	err := parallel(ctx, n, 256, func(i int) error {
		v := senders[i]
		if v.conv != "" {
			return nil
		}
		cmid := fmt.Sprintf("w-%d", i)
		v.sent = append(v.sent, cmid)
		ack, err := v.s.Send(ctx, "", cmid, "text", body(cmid))
		v.conv = ack.Conv
		return err
	})
	if err != nil {
		return err
	}
	dur := r.cfg.Duration
	r.logf("throughput: %d senders for %s", n, dur)
	limited := r.rateLimited.Load()
	load := startLoad(r.srv)
	start := time.Now()
	end := start.Add(dur)
	perSecond := make([]atomic.Int64, int(dur.Seconds())+1)
	var acks samples
	var stored, failed atomic.Int64
	var wg sync.WaitGroup
	for i, v := range senders {
		wg.Go(func() {
			var lat []time.Duration
			defer func() { acks.addAll(lat) }()
			for k := 0; time.Now().Before(end) && ctx.Err() == nil; k++ {
				cmid := fmt.Sprintf("c-%d-%d", i, k)
				v.sent = append(v.sent, cmid)
				t := time.Now()
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := v.s.Send(sctx, v.conv, cmid, "text", body(cmid))
				cancel()
				if err != nil {
					v.failed[cmid] = true
					failed.Add(1)
					continue
				}
				done := time.Now()
				if done.Before(end) {
					lat = append(lat, done.Sub(t))
					stored.Add(1)
					perSecond[int(done.Sub(start)/time.Second)].Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	tp := &r.res.Throughput
	tp.Senders, tp.Seconds = n, dur.Seconds()
	tp.Stored, tp.SendErrors = stored.Load(), failed.Load()
	tp.PerSec = float64(tp.Stored) / dur.Seconds()
	tp.Ack = acks.dist()
	tp.RateLimited = r.rateLimited.Load() - limited
	tp.Ceiling = float64(n) * 10
	for i := range int(dur.Seconds()) {
		c := perSecond[i].Load()
		if i == 0 || c < tp.MinSecond {
			tp.MinSecond = c
		}
		tp.MaxSecond = max(tp.MaxSecond, c)
	}
	tp.ServerCPU, tp.BenchCPU = load.cores()
	return nil
}

// load measures CPU used by the server and by the benchmark over a phase.
type load struct {
	pid         int
	t           time.Time
	server, own time.Duration
}

func startLoad(srv *child) load {
	l := load{t: time.Now(), own: selfCPU()}
	if srv != nil {
		l.pid = srv.Pid
		l.server, _ = cpuTime(srv.Pid)
	}
	return l
}

// cores returns the average number of cores each process kept busy.
func (l load) cores() (server, bench float64) {
	el := time.Since(l.t).Seconds()
	if l.pid != 0 {
		if s, err := cpuTime(l.pid); err == nil {
			server = (s - l.server).Seconds() / el
		}
	}
	return server, (selfCPU() - l.own).Seconds() / el
}

// verify reads every conversation back through the API and checks that
// each acknowledged message is stored exactly once, in a gapless stream.
func (r *run) verify(ctx context.Context) error {
	r.logf("verifying every conversation through the API")
	var convs, msgs, lost, dups, gaps, unexpected atomic.Int64
	err := parallel(ctx, len(r.vis), 16, func(i int) error {
		v := r.vis[i]
		if len(v.sent) == 0 {
			return nil
		}
		list, err := v.v.Conversations(ctx)
		if err != nil {
			return err
		}
		count := map[string]int{}
		for _, c := range list {
			convs.Add(1)
			after := int64(0)
			for {
				page, err := v.v.Messages(ctx, c.ID, after, 500)
				if err != nil {
					return err
				}
				for _, m := range page {
					if m.Seq != after+1 {
						gaps.Add(1)
					}
					after = m.Seq
					if m.From.Kind == "visitor" {
						count[m.CMID]++
						msgs.Add(1)
					}
				}
				if len(page) < 500 {
					break
				}
			}
		}
		for _, id := range v.sent {
			switch n := count[id]; {
			case n == 0 && !v.failed[id]:
				lost.Add(1)
			case n > 1:
				dups.Add(int64(n - 1))
			}
			delete(count, id)
		}
		unexpected.Add(int64(len(count)))
		return nil
	})
	vr := &r.res.Verify
	vr.Conversations, vr.Messages = convs.Load(), msgs.Load()
	vr.Lost, vr.Duplicates, vr.Gaps, vr.Unexpected = lost.Load(), dups.Load(), gaps.Load(), unexpected.Load()
	return err
}

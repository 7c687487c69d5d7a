package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

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
	// The idle CPU is read over the hold after its first ten seconds
	// (half of it, if shorter), when the ramp's work is done.
	skip := min(10*time.Second, r.cfg.Settle/2).Truncate(time.Second)
	var idleLoad load
	for t := time.Duration(0); t < r.cfg.Settle; t += time.Second {
		if t == skip {
			idleLoad = startLoad(r.srv)
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		if st, err := readStatus(r.srv.Pid); err == nil {
			m.Series = append(m.Series, RSSSample{Seconds: time.Since(rampEnd).Seconds(), RSS: st.RSS})
		}
	}
	if idleLoad.pid != 0 {
		m.IdleCPU, _ = idleLoad.cores()
		m.IdleCPUSeconds = time.Since(idleLoad.t).Seconds()
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

// closeIdle closes the idle visitors' connections (the storm has dropped
// and resumed them) to free sockets for the fan-out; the throughput phase
// connects them again.
func (r *run) closeIdle(ctx context.Context) error {
	if len(r.vis) <= r.cfg.Visitors {
		return nil
	}
	idle := r.vis[r.cfg.Visitors:]
	r.logf("closing %d idle connections", len(idle))
	var wg sync.WaitGroup
	for part := range 16 {
		wg.Go(func() {
			for i := part; i < len(idle); i += 16 {
				if idle[i].s != nil {
					idle[i].s.Close()
					idle[i].s = nil
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Storm is every visitor connection dropped at once while messages flow.
type Storm struct {
	Dropped        int     `json:"dropped"`
	Rate           float64 `json:"offered_per_s"`
	Resumed        int     `json:"resumed"`
	AllResumedSecs float64 `json:"all_resumed_s"` // from the drop until the last stream was welcomed back
	P50ResumeSecs  float64 `json:"median_resumed_s"`
	RSSBefore      int64   `json:"rss_before"`
	RSSPeak        int64   `json:"rss_peak"`
	ServerCPU      float64 `json:"server_cpu_cores"`
	// The flow's messages: acknowledged, reached their agent, and frames
	// an agent got twice (resent after a resume; the client drops them,
	// so none is shown twice).
	Acked       int64 `json:"acked"`
	Received    int64 `json:"received_by_agents"`
	Redelivered int64 `json:"redelivered_frames"`
	SendErrors  int64 `json:"send_errors"`
}

// storm runs the round-trip flow at cfg.StormRate and, a few seconds in,
// drops every visitor connection at once (the client closes its sockets
// without a goodbye, like a network failure). Each stream reconnects with
// its usual backoff and resumes its conversations after the last sequence
// it holds. Lost and duplicated messages are counted by the final
// verification, which includes this flow's messages.
func (r *run) storm(ctx context.Context, ri int) error {
	st := &r.res.Storm
	o := r.open[ri]
	st.Rate = o.rate
	streams := r.vis
	st.Dropped = len(streams)
	before := make([]int64, len(streams))
	errc := make(chan error, 1)
	go func() { errc <- r.roundTrip(ctx, ri) }()
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	if r.srv != nil {
		if s, err := readStatus(r.srv.Pid); err == nil {
			st.RSSBefore = s.RSS
		}
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	if r.srv != nil {
		sampler.Go(func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				if s, err := readStatus(r.srv.Pid); err == nil && s.RSS > peak.Load() {
					peak.Store(s.RSS)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
	}
	r.logf("storm: dropping %d visitor connections at once", len(streams))
	load := startLoad(r.srv)
	for i, v := range streams {
		before[i] = v.s.Connects.Load()
	}
	drop := time.Now()
	var wg sync.WaitGroup
	for part := range 8 {
		wg.Go(func() {
			for i := part; i < len(streams); i += 8 {
				streams[i].s.Drop()
			}
		})
	}
	wg.Wait()
	back := make([]time.Duration, len(streams))
	for deadline := drop.Add(time.Minute); ; {
		n := 0
		for i, v := range streams {
			if back[i] == 0 && v.s.Connects.Load() > before[i] && v.s.Connected() {
				back[i] = time.Since(drop)
			}
			if back[i] != 0 {
				n++
			}
		}
		st.Resumed = n
		if n == len(streams) || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	var ds samples
	var last time.Duration
	for _, d := range back {
		if d > 0 {
			ds.add(d)
			last = max(last, d)
		}
	}
	st.AllResumedSecs = last.Seconds()
	st.P50ResumeSecs = ds.dist().P50 / 1000
	st.ServerCPU, _ = load.cores()
	err := <-errc
	close(stop)
	sampler.Wait()
	st.RSSPeak = peak.Load()
	if err != nil {
		return err
	}
	// The flow's figures are the last round trip's; keep them here only.
	rt := r.res.RoundTrip[len(r.res.RoundTrip)-1]
	r.res.RoundTrip = r.res.RoundTrip[:len(r.res.RoundTrip)-1]
	st.Acked, st.Received, st.Redelivered, st.SendErrors = rt.Acked, rt.Received, rt.Redelivered, rt.SendErrors
	return nil
}

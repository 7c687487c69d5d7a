package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

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

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
	dur        time.Duration
	visitors   int
	start      atomic.Int64 // due time of message 0, as an offset from run.base
	perVisitor int
	recv       [][]uint32 // [v][k]: times the agent got the message (atomic)
	received   atomic.Int64
	redeliver  atomic.Int64
	rtt, ack   samples
	// trace, when set, keeps each receipt's due and arrival time, to tell
	// when a disturbed flow was back to normal (the NATS restart).
	trace *receipts
}

// receipts are messages' due and arrival times, as offsets from run.base.
type receipts struct {
	mu       sync.Mutex
	due, got []time.Duration
}

func (t *receipts) add(due, got time.Duration) {
	t.mu.Lock()
	t.due, t.got = append(t.due, due), append(t.got, got)
	t.mu.Unlock()
}

// newOpenState makes a round trip's counters. They exist before any stream
// does: the agents' reading goroutines use them.
func newOpenState(visitors int, rate float64, dur time.Duration) *openState {
	o := &openState{rate: rate, dur: dur, visitors: visitors, recv: make([][]uint32, visitors)}
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
	r.countRefusal(f)
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
	due := o.due(v, k)
	o.rtt.add(now.Sub(r.base.Add(due)))
	if o.trace != nil {
		o.trace.add(due, now.Sub(r.base))
	}
}

// roundTrips runs the rates [from, to) one after another.
func (r *run) roundTrips(ctx context.Context, from, to int) error {
	for i := from; i < to; i++ {
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
	n, rate, dur := r.cfg.Visitors, o.rate, o.dur
	r.logf("round trip: %.0f msgs/s for %s", rate, dur)
	load := startLoad(r.srv)
	o.start.Store(int64(time.Since(r.base) + 100*time.Millisecond))
	var wg sync.WaitGroup
	var acked, failed, stored atomic.Int64
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
				ack, err := v.s.Send(sctx, v.conv, cmid, "text", body(cmid))
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
				if ack.Dup {
					stored.Add(1)
				}
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
	rt.Received, rt.Redelivered, rt.ResentStored = o.received.Load(), o.redeliver.Load(), stored.Load()
	rt.Latency, rt.Ack = o.rtt.dist(), o.ack.dist()
	rt.ServerCPU, rt.BenchCPU = load.cores()
	for _, a := range r.agents {
		rt.AgentReconnects += a.s.Connects.Load() - 1
	}
	r.res.RoundTrip = append(r.res.RoundTrip, rt)
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

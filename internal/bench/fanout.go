package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// FanOut is one publish reaching many subscribers.
type FanOut struct {
	Subscribers int     `json:"subscribers"`
	Connected   int     `json:"connected"`
	RampSeconds float64 `json:"ramp_s"`
	Publishes   int     `json:"publishes"`
	Expected    int64   `json:"expected_deliveries"`
	Delivered   int64   `json:"delivered"`
	Latency     Dist    `json:"send_to_subscriber"`
	ServerCPU   float64 `json:"server_cpu_cores"`
	BenchCPU    float64 `json:"bench_cpu_cores"`
}

// fanOut opens k console connections of one agent (every agent connection
// follows the tenant's inbox), then has a shopper write into a queued chat
// every 500 ms: each message is committed and its conversation's new state
// goes to all k connections. Latency runs from the send (so it includes
// the durable commit) to each connection's receipt.
func (r *run) fanOut(ctx context.Context) error {
	k, pubs := r.cfg.FanOut, 20
	if k == 0 {
		return nil
	}
	fo := &r.res.FanOut
	fo.Subscribers, fo.Publishes = k, pubs
	r.logf("fan-out: opening %d agent connections", k)
	// A shopper whose chat stays in the queue (nobody takes it).
	vs, err := r.newVisitors(ctx, 1)
	if err != nil {
		return err
	}
	shopper := vs[0]
	shopper.s = shopper.v.Connect(r.streamOptions())
	defer func() { shopper.s.Close(); shopper.s = nil }()
	cmid := "f-start"
	shopper.sent = append(shopper.sent, cmid)
	ack, err := shopper.s.Send(ctx, "", cmid, "text", body(cmid))
	if err != nil {
		return err
	}
	shopper.conv = ack.Conv
	r.vis = append(r.vis, shopper) // verified with the rest

	var mu sync.Mutex
	var lat samples
	sentAt := make([]atomic.Int64, pubs) // unix ns of publish i's send, 0 until sent
	var current atomic.Int32             // index of the publish in flight, -1 before
	current.Store(-1)
	seen := make([]atomic.Int32, k) // highest publish index each subscriber got, +1
	var delivered atomic.Int64
	agent := r.agents[0].a
	u, err := url.Parse(r.c.BaseURL)
	if err != nil {
		return err
	}
	hdr := agent.StreamHeader()
	// The subscribers speak the protocol by hand (rawws.go): the load
	// generator shares the cores with the server, and decoding 10,000 JSON
	// frames per publish with the full client would be most of the figure.
	conns := make([]net.Conn, k)
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		readers.Wait()
	}()
	start := time.Now()
	var dialErr errList
	var dials sync.WaitGroup
	for i := range k {
		if err := sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*time.Second/2000))); err != nil {
			return err
		}
		dials.Go(func() {
			c, br, err := dialRaw(u.Host, "/api/console/v1/rt", hdr, []byte(`{"t":"hello","v":1}`))
			if err != nil {
				dialErr.add(err)
				return
			}
			conns[i] = c
			readers.Go(func() {
				var buf []byte
				for {
					op, frame, err := readRawFrame(br, buf)
					if err != nil {
						return
					}
					buf = frame
					if op != 1 || !bytes.HasPrefix(frame, []byte(`{"t":"conv"`)) {
						continue
					}
					p := int(current.Load())
					if p < 0 || !convIs(frame, shopper.conv) {
						continue
					}
					// One delivery per publish and subscriber: the first
					// frame about the chat after the publish's send.
					if seen[i].Load() > int32(p) {
						continue
					}
					seen[i].Store(int32(p + 1))
					d := time.Since(time.Unix(0, sentAt[p].Load()))
					delivered.Add(1)
					mu.Lock()
					lat.add(d)
					mu.Unlock()
				}
			})
		})
	}
	dials.Wait()
	if err := dialErr.first(); err != nil {
		return fmt.Errorf("fan-out connection: %w", err)
	}
	fo.Connected = k
	fo.RampSeconds = time.Since(start).Seconds()
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // let the ramp's work settle
		return err
	}
	r.logf("fan-out: %d publishes to %d connections", pubs, fo.Connected)
	load := startLoad(r.srv)
	for p := range pubs {
		cmid := fmt.Sprintf("f-%d", p)
		shopper.sent = append(shopper.sent, cmid)
		sentAt[p].Store(time.Now().UnixNano())
		current.Store(int32(p))
		if _, err := shopper.s.Send(ctx, shopper.conv, cmid, "text", body(cmid)); err != nil {
			return err
		}
		want := int64(p+1) * int64(fo.Connected)
		for wait := time.Now(); delivered.Load() < want && time.Since(wait) < 10*time.Second; {
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return err
			}
		}
		if err := sleepCtx(ctx, time.Until(time.Unix(0, sentAt[p].Load()).Add(500*time.Millisecond))); err != nil {
			return err
		}
	}
	fo.ServerCPU, fo.BenchCPU = load.cores()
	fo.Expected = int64(pubs) * int64(fo.Connected)
	fo.Delivered = delivered.Load()
	fo.Latency = lat.dist()
	return nil
}

// convIs reports whether a conv frame's conversation has the given id,
// without decoding the whole conversation.
func convIs(raw []byte, id string) bool {
	const key = `"id":"`
	for i := 0; i+len(key)+len(id) <= len(raw); i++ {
		if string(raw[i:i+len(key)]) == key {
			return string(raw[i+len(key):i+len(key)+len(id)]) == id
		}
	}
	return false
}

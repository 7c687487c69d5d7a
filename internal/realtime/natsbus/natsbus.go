// Package natsbus carries the realtime hub's events between nodes over core
// NATS. Delivery is at most once, as the Bus contract says: the database is
// the truth and clients heal gaps by sequence.
//
// Subscriptions do not cost a goroutine each (a node may follow tens of
// thousands of conversations): every subscription feeds one of a few shared
// channels, chosen by subject, and one goroutine per channel runs the
// handlers, so events of one subject keep their order. NATS never blocks on
// a full channel; it drops the event and reports a slow consumer.
package natsbus

import (
	"errors"
	"hash/maphash"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"tiski/internal/realtime"
)

// Options tune Connect.
type Options struct {
	// Name identifies the node to the NATS server (monitoring).
	Name   string
	Logger *slog.Logger
	// OnState is called with false when the connection to NATS is lost and
	// with true when it is back. Events published meanwhile are lost.
	OnState func(up bool)
	// Shards is the number of dispatch goroutines (default GOMAXPROCS).
	Shards int
	// Pending is each shard's queue of undelivered events (default 65536);
	// a NATS slow consumer beyond it drops events, which clients heal.
	Pending int
}

// Bus is a NATS connection used as a realtime.Bus.
type Bus struct {
	nc     *nats.Conn
	log    *slog.Logger
	shards []chan *nats.Msg
	quit   chan struct{}
	seed   maphash.Seed
	up     atomic.Bool

	mu       sync.RWMutex
	handlers map[*nats.Subscription]func([]byte)
	wg       sync.WaitGroup
	closed   bool
}

var _ realtime.Bus = (*Bus)(nil)

// ErrDown is returned by Publish while the connection to NATS is lost.
var ErrDown = errors.New("natsbus: not connected to NATS")

// Connect dials the NATS server(s) at url (comma-separated for a cluster)
// and keeps reconnecting for as long as the bus is open.
func Connect(url string, o Options) (*Bus, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Shards <= 0 {
		o.Shards = runtime.GOMAXPROCS(0)
	}
	if o.Pending <= 0 {
		o.Pending = 1 << 16
	}
	if o.Name == "" {
		o.Name = "tiski"
	}
	b := &Bus{log: o.Logger, seed: maphash.MakeSeed(), quit: make(chan struct{}), handlers: map[*nats.Subscription]func([]byte){}}
	state := func(up bool) {
		if b.up.Swap(up) != up && o.OnState != nil {
			o.OnState(up)
		}
	}
	nc, err := nats.Connect(url,
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(5*time.Second),
		nats.PingInterval(10*time.Second),
		nats.MaxPingsOutstanding(3),
		// No buffering while disconnected: an event that cannot go now is
		// dropped at once rather than delivered late; clients heal.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			if !c.IsClosed() {
				b.log.Warn("lost the connection to NATS", "err", err)
			}
			state(false)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.log.Info("reconnected to NATS", "server", c.ConnectedUrlRedacted())
			state(true)
		}),
		nats.ClosedHandler(func(*nats.Conn) { state(false) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			b.log.Warn("NATS error", "subject", subj, "err", err)
		}),
	)
	if err != nil {
		return nil, err
	}
	b.nc = nc
	b.up.Store(true)
	for range o.Shards {
		ch := make(chan *nats.Msg, o.Pending)
		b.shards = append(b.shards, ch)
		b.wg.Add(1)
		go b.dispatch(ch)
	}
	return b, nil
}

// Up reports whether the bus is connected to NATS.
func (b *Bus) Up() bool { return b.up.Load() && b.nc.IsConnected() }

// Publish sends data to subject on every node (this one included).
func (b *Bus) Publish(subject string, data []byte) error {
	if !b.nc.IsConnected() {
		return ErrDown
	}
	return b.nc.Publish(subject, data)
}

// Subscribe calls handler for every event on subject.
func (b *Bus) Subscribe(subject string, handler func([]byte)) (realtime.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nats.ErrConnectionClosed
	}
	ch := b.shards[maphash.String(b.seed, subject)%uint64(len(b.shards))]
	s, err := b.nc.ChanSubscribe(subject, ch)
	if err != nil {
		return nil, err
	}
	b.handlers[s] = handler
	b.mu.Unlock()
	// A round trip to the server: once Subscribe returns, the subscription
	// is live there. The hub subscribes before it replays from the
	// database; an event committed in between must not slip past.
	err = b.nc.FlushTimeout(5 * time.Second)
	b.mu.Lock()
	if err != nil {
		delete(b.handlers, s)
		_ = s.Unsubscribe()
		return nil, err
	}
	return &sub{b: b, s: s}, nil
}

func (b *Bus) dispatch(ch chan *nats.Msg) {
	defer b.wg.Done()
	for {
		select {
		case <-b.quit:
			return
		case m := <-ch:
			b.mu.RLock()
			h := b.handlers[m.Sub]
			b.mu.RUnlock()
			if h != nil {
				h(m.Data)
			}
		}
	}
}

type sub struct {
	b    *Bus
	s    *nats.Subscription
	once sync.Once
}

func (s *sub) Unsubscribe() error {
	var err error
	s.once.Do(func() {
		s.b.mu.Lock()
		delete(s.b.handlers, s.s)
		s.b.mu.Unlock()
		err = s.s.Unsubscribe()
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
			err = nil
		}
	})
	return err
}

// Close flushes what was published, ends every subscription and the
// connection, and waits for the dispatchers to finish.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.handlers = map[*nats.Subscription]func([]byte){}
	b.mu.Unlock()
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(2 * time.Second)
	}
	b.nc.Close()
	// The shards stay open: NATS may still hand them a last event, which
	// nobody reads (it never blocks: a full shard counts a slow consumer).
	close(b.quit)
	b.wg.Wait()
	return nil
}

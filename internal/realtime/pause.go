package realtime

import (
	"context"
	"sync"
	"time"
)

// SetAvailable tells the hub whether this node can serve realtime clients
// properly: its bus reaches the other nodes and its database answers. While
// it cannot, it closes its connections with "going away" (clients show that
// they are reconnecting and resume, from the database by sequence, once a
// node can serve them) and refuses new ones. Nothing stored is lost:
// messages are acknowledged only once committed, whatever the bus does.
//
// It returns at once; each connection first finishes the frame it is
// handling and flushes its replies (acks included), for at most drain.
func (h *Hub) SetAvailable(up bool, drain time.Duration) {
	h.mu.Lock()
	h.unavailable = !up
	var conns []*Conn
	if !up {
		conns = make([]*Conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.drainAndClose(ctx) })
	}
	go func() {
		wg.Wait()
		cancel()
	}()
}

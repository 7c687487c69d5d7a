package realtime

import "context"

// SetBusUp tells the hub whether its bus reaches the other nodes. While it
// does not, this node cannot promise live delivery: it closes its
// connections with "going away" (clients show that they are reconnecting
// and resume, from the database by sequence, on a node that has the bus)
// and refuses new ones until the bus is back. Nothing stored is lost:
// messages are acknowledged only once committed, whatever the bus does.
func (h *Hub) SetBusUp(ctx context.Context, up bool) {
	h.mu.Lock()
	h.busDown = !up
	var conns []*Conn
	if !up {
		conns = make([]*Conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	for _, c := range conns {
		go c.drainAndClose(ctx)
	}
}

// BusUp reports whether the hub takes connections as far as its bus goes.
func (h *Hub) BusUp() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.busDown
}

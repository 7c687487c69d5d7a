package realtime

import "context"

// SetAvailable tells the hub whether this node can serve realtime clients
// properly: its bus reaches the other nodes and its database answers. While
// it cannot, it closes its connections with "going away" (clients show that
// they are reconnecting and resume, from the database by sequence, once a
// node can serve them) and refuses new ones. Nothing stored is lost:
// messages are acknowledged only once committed, whatever the bus does.
func (h *Hub) SetAvailable(ctx context.Context, up bool) {
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
	for _, c := range conns {
		go c.drainAndClose(ctx)
	}
}

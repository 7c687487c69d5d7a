package server

import (
	"context"
	"sync"
	"time"

	"tiski/internal/realtime"
)

// health tracks whether this node can serve realtime clients: its bus
// reaches the other nodes and its database answers. When either is lost the
// hub closes its connections and refuses new ones, so clients show that
// they are reconnecting (and the load balancer, told by /readyz, sends them
// to a node that can serve them); when both are back it takes them again.
type health struct {
	mu     sync.Mutex
	hub    *realtime.Hub
	busUp  bool
	dbUp   bool
	served bool // what the hub was last told
	drain  time.Duration
}

func newHealth(drain time.Duration) *health {
	return &health{busUp: true, dbUp: true, served: true, drain: drain}
}

// attach hands the hub over once it exists.
func (h *health) attach(hub *realtime.Hub) {
	h.mu.Lock()
	h.hub = hub
	h.mu.Unlock()
	h.apply()
}

func (h *health) setBus(up bool) { h.mu.Lock(); h.busUp = up; h.mu.Unlock(); h.apply() }
func (h *health) setDB(up bool)  { h.mu.Lock(); h.dbUp = up; h.mu.Unlock(); h.apply() }

func (h *health) state() (bus, db bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.busUp, h.dbUp
}

func (h *health) apply() {
	h.mu.Lock()
	up := h.busUp && h.dbUp
	hub := h.hub
	if hub == nil || up == h.served {
		h.mu.Unlock()
		return
	}
	h.served = up
	h.mu.Unlock()
	hub.SetAvailable(up, h.drain)
}

// watchDB pings the database every interval. Two failures in a row mark it
// down (one slow ping under load should not drop every client); one success
// marks it up again.
func (s *Server) watchDB(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.DB.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if failures >= 2 {
				s.Log.Info("the database answers again")
			}
			failures = 0
			s.health.setDB(true)
			continue
		}
		if failures++; failures == 2 {
			s.Log.Warn("the database does not answer; realtime clients are sent away until it does", "err", err)
			s.health.setDB(false)
		}
	}
}

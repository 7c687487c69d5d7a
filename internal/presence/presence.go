// Package presence keeps agents' availability true: status online / away /
// offline, whether a console is open, and their load against their cap.
//
// Several nodes may serve one tenant, so presence lives in the database:
// every node writes last_seen_at for the agents with a console connection
// open there (Heartbeat), and any node's sweeper turns an online agent away
// when no node has seen them for the grace period, or when they did
// nothing for the idle timeout (Sweep). Changes are announced on the bus.
package presence

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/user"
	"tiski/internal/validate"
)

// State is what the console shows of an agent.
type State struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Role         user.Role   `json:"role"`
	Status       user.Status `json:"status"`
	Load         int         `json:"load"`
	MaxChats     int         `json:"max_chats"`
	Departments  []string    `json:"departments"`
	Connected    bool        `json:"connected"`
	LastActiveAt *time.Time  `json:"last_active_at,omitempty"`
	PhotoURL     string      `json:"photo_url"`
}

// Announcer sends an agent's state to the tenant's consoles.
type Announcer interface {
	AnnounceAgent(tenantID string, state any)
}

// Options tune the rules. Zero values pick the defaults.
type Options struct {
	// Grace is how long an online agent may have no console open.
	Grace time.Duration
	// Idle is how long an online agent may do nothing.
	Idle time.Duration
	// TouchEvery limits activity writes per agent.
	TouchEvery time.Duration
}

// Service runs presence for one node.
type Service struct {
	db        *db.DB
	clock     clock.Clock
	users     *user.Store
	chat      *chat.Service
	announce  Announcer
	connected func() map[string][]string
	log       *slog.Logger
	opts      Options

	mu      sync.Mutex
	touched map[string]time.Time // user id → last activity written
}

// New returns the presence service. connected lists this node's agents
// with an open console, per tenant.
func New(d *db.DB, c clock.Clock, users *user.Store, cs *chat.Service, a Announcer, connected func() map[string][]string,
	log *slog.Logger, o Options) *Service {
	if o.Grace <= 0 {
		o.Grace = 60 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 15 * time.Minute
	}
	if o.TouchEvery <= 0 {
		o.TouchEvery = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, users: users, chat: cs, announce: a, connected: connected, log: log, opts: o,
		touched: map[string]time.Time{}}
}

// Grace is the disconnect grace period in force.
func (s *Service) Grace() time.Duration { return s.opts.Grace }

// Heartbeat records that this node's connected agents are still there.
func (s *Service) Heartbeat(ctx context.Context) error {
	now := s.clock.Now()
	for tenantID, ids := range s.connected() {
		for start := 0; start < len(ids); start += 100 {
			chunk := ids[start:min(start+100, len(ids))]
			args := []any{now, tenantID}
			in := ""
			for i, uid := range chunk {
				if i > 0 {
					in += ", "
				}
				args = append(args, uid)
				in += "$" + strconv.Itoa(len(args))
			}
			if err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE users SET last_seen_at = $1 WHERE tenant_id = $2 AND id IN (`+in+`)`, args...)
				return err
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Touch records that an agent did something. Writes are spaced by
// TouchEvery per agent, so typing does not become a write per keystroke.
func (s *Service) Touch(ctx context.Context, tenantID, userID string) {
	now := s.clock.Now()
	s.mu.Lock()
	if last, ok := s.touched[userID]; ok && now.Sub(last) < s.opts.TouchEvery {
		s.mu.Unlock()
		return
	}
	s.touched[userID] = now
	if len(s.touched) > 10000 { // forget old entries; a write too many is harmless
		for k, t := range s.touched {
			if now.Sub(t) >= s.opts.TouchEvery {
				delete(s.touched, k)
			}
		}
	}
	s.mu.Unlock()
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET last_active_at = $1 WHERE tenant_id = $2 AND id = $3`, now, tenantID, userID)
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("recording agent activity", "err", err)
	}
}

// SetStatus changes an agent's status and announces it. Going online also
// counts as being seen and active, so the sweeper gives the console time
// to connect.
func (s *Service) SetStatus(ctx context.Context, tenantID, userID string, st user.Status) (State, error) {
	if err := validate.OneOf("status", string(st), string(user.Online), string(user.Away), string(user.Offline)); err != nil {
		return State{}, err
	}
	now := s.clock.Now()
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET status = $1, last_active_at = $2, last_seen_at = $2, updated_at = $2
			WHERE tenant_id = $3 AND id = $4`, string(st), now, tenantID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such user")
		}
		return nil
	})
	if err != nil {
		return State{}, err
	}
	s.mu.Lock()
	s.touched[userID] = now
	s.mu.Unlock()
	return s.Announce(ctx, tenantID, userID)
}

// Sweep turns away every online agent whom no node has seen for the grace
// period or who was idle too long, and announces each. Each change is a
// conditional update, so sweepers on several nodes do not fight.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.clock.Now()
	seen, active := now.Add(-s.opts.Grace), now.Add(-s.opts.Idle)
	type gone struct{ tenant, id string }
	var changed []gone
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		changed = nil
		rows, err := tx.QueryContext(ctx, `SELECT tenant_id, id FROM users WHERE status = 'online' AND disabled = FALSE
			AND (last_seen_at IS NULL OR last_seen_at < $1 OR last_active_at IS NULL OR last_active_at < $2)`, seen, active)
		if err != nil {
			return err
		}
		var cand []gone
		for rows.Next() {
			var g gone
			if err := rows.Scan(&g.tenant, &g.id); err != nil {
				rows.Close()
				return err
			}
			cand = append(cand, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, g := range cand {
			res, err := tx.ExecContext(ctx, `UPDATE users SET status = 'away', updated_at = $1 WHERE tenant_id = $2 AND id = $3
				AND status = 'online' AND (last_seen_at IS NULL OR last_seen_at < $4 OR last_active_at IS NULL OR last_active_at < $5)`,
				now, g.tenant, g.id, seen, active)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				changed = append(changed, g)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, g := range changed {
		if _, err := s.Announce(ctx, g.tenant, g.id); err != nil && ctx.Err() == nil {
			s.log.Warn("announcing agent state", "err", err)
		}
	}
	return len(changed), nil
}

// Run beats and sweeps every interval until ctx ends. A tick on which the
// clock has not moved (a test's stopped clock) does nothing.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := s.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := s.clock.Now()
			if !now.After(last) {
				continue
			}
			last = now
			if err := s.Heartbeat(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("presence heartbeat", "err", err)
			}
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("presence sweep", "err", err)
			}
		}
	}
}

func (s *Service) stateOf(u user.User, load int, lastSeen *time.Time) State {
	deps := u.Departments
	if deps == nil {
		deps = []string{}
	}
	return State{ID: u.ID, Name: u.Name, Role: u.Role, Status: u.Status, Load: load, MaxChats: u.MaxChats,
		Departments: deps, LastActiveAt: u.LastActiveAt, PhotoURL: u.PhotoURL,
		Connected: lastSeen != nil && s.clock.Now().Sub(*lastSeen) < s.opts.Grace}
}

func (s *Service) lastSeen(ctx context.Context, tenantID string) (map[string]*time.Time, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, last_seen_at FROM users WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*time.Time{}
	for rows.Next() {
		var uid string
		var t sql.NullTime
		if err := rows.Scan(&uid, &t); err != nil {
			return nil, err
		}
		if t.Valid {
			out[uid] = &t.Time
		}
	}
	return out, rows.Err()
}

// Get returns one agent's state.
func (s *Service) Get(ctx context.Context, tenantID, userID string) (State, error) {
	u, err := s.users.Get(ctx, tenantID, userID)
	if err != nil {
		return State{}, err
	}
	load, err := s.chat.Load(ctx, tenantID, userID)
	if err != nil {
		return State{}, err
	}
	var t sql.NullTime
	if err := s.db.Read().QueryRowContext(ctx, `SELECT last_seen_at FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID).Scan(&t); err != nil {
		return State{}, err
	}
	var seen *time.Time
	if t.Valid {
		seen = &t.Time
	}
	return s.stateOf(u, load, seen), nil
}

// Announce reads an agent's state and sends it to the tenant's consoles.
func (s *Service) Announce(ctx context.Context, tenantID, userID string) (State, error) {
	st, err := s.Get(ctx, tenantID, userID)
	if err != nil {
		return st, err
	}
	if s.announce != nil {
		s.announce.AnnounceAgent(tenantID, st)
	}
	return st, nil
}

// Board returns every enabled agent of the tenant with status and load.
func (s *Service) Board(ctx context.Context, tenantID string) ([]State, error) {
	us, err := s.users.List(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	loads, err := s.chat.Loads(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	seen, err := s.lastSeen(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []State{}
	for _, u := range us {
		if u.Disabled {
			continue
		}
		out = append(out, s.stateOf(u, loads[u.ID], seen[u.ID]))
	}
	return out, nil
}

// Notifier wraps the chat notifier: after a change that moved a
// conversation between agents, it announces the new loads.
type Notifier struct {
	Next     chat.Notifier
	Presence *Service
}

func (n Notifier) Notify(ctx context.Context, c chat.Change) {
	if n.Next != nil {
		n.Next.Notify(ctx, c)
	}
	if !c.StatusChanged() || n.Presence == nil {
		return
	}
	tenantID := c.Conversation.TenantID
	for _, uid := range []string{c.PreviousAssignee, c.Conversation.AssigneeID} {
		if uid == "" || (uid == c.PreviousAssignee && uid == c.Conversation.AssigneeID && c.Previous == c.Conversation.Status) {
			continue
		}
		// The change is committed; the announcement reads it back. A
		// detached context: the request may end before this runs.
		if _, err := n.Presence.Announce(context.WithoutCancel(ctx), tenantID, uid); err != nil {
			n.Presence.log.Warn("announcing agent load", "err", err)
		}
	}
}

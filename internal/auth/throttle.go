package auth

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
)

// Throttle counts failed sign-ins per key (an email, an IP address) in the
// database, so every node sees the same count, and locks a key out for a
// while after too many failures in a window.
type Throttle struct {
	db      *db.DB
	clock   clock.Clock
	Window  time.Duration
	Lockout time.Duration
}

func NewThrottle(d *db.DB, c clock.Clock) *Throttle {
	return &Throttle{db: d, clock: c, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// Check returns RateLimited while key is locked out.
func (t *Throttle) Check(ctx context.Context, key string) error {
	var locked sql.NullTime
	err := t.db.Read().QueryRowContext(ctx, `SELECT locked_until FROM auth_throttle WHERE key = $1`, key).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if now := t.clock.Now(); locked.Valid && now.Before(locked.Time) {
		wait := int(math.Ceil(locked.Time.Sub(now).Seconds()))
		return &apperr.Error{Code: apperr.RateLimited, RetryAfter: wait,
			Message: "too many failed sign-ins; try again in a few minutes"}
	}
	return nil
}

// Fail records a failed attempt for key; after max failures within the
// window the key is locked out.
func (t *Throttle) Fail(ctx context.Context, key string, max int) error {
	now := t.clock.Now()
	return t.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var failures int
		var start time.Time
		err := tx.QueryRowContext(ctx, `SELECT failures, window_start FROM auth_throttle WHERE key = $1`, key).Scan(&failures, &start)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO auth_throttle (key, failures, window_start) VALUES ($1, 1, $2)`, key, now)
			return err
		case err != nil:
			return err
		}
		if now.Sub(start) > t.Window {
			failures, start = 0, now
		}
		failures++
		var locked any
		if failures >= max {
			locked = now.Add(t.Lockout)
			failures, start = 0, now
		}
		_, err = tx.ExecContext(ctx, `UPDATE auth_throttle SET failures = $1, window_start = $2, locked_until = $3 WHERE key = $4`,
			failures, start, locked, key)
		return err
	})
}

// Reset forgets key's failures (after a successful sign-in).
func (t *Throttle) Reset(ctx context.Context, key string) error {
	return t.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_throttle WHERE key = $1`, key)
		return err
	})
}

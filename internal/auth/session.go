package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
)

// Session is a signed-in agent's server-side session. The cookie holds a
// random token; the database holds only its hash.
type Session struct {
	UserID     string
	TenantID   string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	tokenHash  string
}

// Sessions creates, checks and revokes agent sessions.
type Sessions struct {
	db    *db.DB
	clock clock.Clock
	// Idle ends a session unused this long; MaxAge ends any session this old.
	Idle   time.Duration
	MaxAge time.Duration
}

func NewSessions(d *db.DB, c clock.Clock, idle, maxAge time.Duration) *Sessions {
	return &Sessions{db: d, clock: c, Idle: idle, MaxAge: maxAge}
}

// Create starts a session and returns its token (shown once, to be put in
// a cookie) together with the session.
func (s *Sessions) Create(ctx context.Context, tenantID, userID, ip, userAgent string) (string, Session, error) {
	token := id.Secret("s_")
	now := s.clock.Now()
	sess := Session{UserID: userID, TenantID: tenantID, CSRFToken: id.Secret(""), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.MaxAge), tokenHash: id.Hash(token)}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(token_hash, user_id, tenant_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			sess.tokenHash, userID, tenantID, sess.CSRFToken, now, now, sess.ExpiresAt, ip, userAgent)
		return err
	})
	return token, sess, err
}

// Lookup returns the live session for token, sliding its idle timeout.
func (s *Sessions) Lookup(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, apperr.New(apperr.Unauthorized, "sign in first")
	}
	sess := Session{tokenHash: id.Hash(token)}
	var disabled bool
	err := s.db.Read().QueryRowContext(ctx, `SELECT s.user_id, s.tenant_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, u.disabled
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, sess.tokenHash).
		Scan(&sess.UserID, &sess.TenantID, &sess.CSRFToken, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, apperr.New(apperr.Unauthorized, "sign in first")
	}
	if err != nil {
		return Session{}, err
	}
	now := s.clock.Now()
	if disabled {
		return Session{}, apperr.New(apperr.Unauthorized, "this account is disabled")
	}
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.Idle {
		_ = s.revokeHash(ctx, sess.tokenHash)
		return Session{}, apperr.New(apperr.TokenExpired, "your session has expired; sign in again")
	}
	// Slide the idle timeout, but write at most once a minute per session.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		sess.LastSeenAt = now
		_ = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`, now, sess.tokenHash)
			return err
		})
	}
	return sess, nil
}

// Revoke ends the session with token (logout).
func (s *Sessions) Revoke(ctx context.Context, token string) error {
	return s.revokeHash(ctx, id.Hash(token))
}

func (s *Sessions) revokeHash(ctx context.Context, hash string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
		return err
	})
}

// RevokeUser ends every session of a user (disabled account, password change).
func (s *Sessions) RevokeUser(ctx context.Context, tenantID, userID string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		return err
	})
}

// Sweep deletes expired sessions and returns how many.
func (s *Sessions) Sweep(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	var n int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2`, now, now.Add(-s.Idle))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Key identifies the session without revealing its token (for closing the
// session's connections on logout).
func (s Session) Key() string { return s.tokenHash }

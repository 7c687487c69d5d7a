package user

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/id"
	"tiski/internal/mail"
)

// Invitations: an admin names a colleague; Tiski emails them a one-time
// link where they choose their password. Only the link token's hash is
// stored, and it works once, within InviteTTL.

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// invitedHash marks an account whose owner has not chosen a password yet;
// it is not a valid hash, so no password signs in to it.
const invitedHash = "invited"

// Invite describes whom to invite.
type Invite struct {
	Email       string
	Name        string
	Role        Role
	MaxChats    int
	Departments []string
	// LinkBase is the start of the link; the token is appended.
	LinkBase string
	// TenantName and InvitedBy appear in the email.
	TenantName, InvitedBy string
}

// Invite creates the account without a password and queues the email with
// the link, in one transaction.
func (s *Store) Invite(ctx context.Context, tenantID string, in Invite) (User, time.Time, error) {
	// Build needs a password that passes the policy; it is replaced.
	u, err := s.buildInvited(tenantID, in)
	if err != nil {
		return User{}, time.Time{}, err
	}
	token := id.Secret("inv_")
	now := s.clock.Now()
	expires := now.Add(InviteTTL)
	link := in.LinkBase + token
	msg := mail.Message{To: u.Email,
		Subject: fmt.Sprintf("You are invited to %s on Tiski", in.TenantName),
		Text: fmt.Sprintf("Hello %s,\n\n%s invited you to answer chats for %s on Tiski.\n\nChoose your password here (the link works once, for 7 days):\n%s\n",
			u.Name, in.InvitedBy, in.TenantName, link)}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := Insert(ctx, tx, u); err != nil {
			return err
		}
		if len(in.Departments) > 0 {
			if err := setDepartments(ctx, tx, tenantID, u.ID, in.Departments); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO invites (token_hash, tenant_id, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id.Hash(token), tenantID, u.ID, expires, now); err != nil {
			return err
		}
		return mail.Enqueue(ctx, tx, tenantID, "invite", msg, now)
	})
	if err != nil {
		return User{}, time.Time{}, err
	}
	u, err = s.Get(ctx, tenantID, u.ID)
	return u, expires, err
}

func (s *Store) buildInvited(tenantID string, in Invite) (User, error) {
	if in.Role == "" {
		in.Role = Agent
	}
	// The account gets a marker instead of a hash until the link is used.
	u, err := s.buildWithHash(tenantID, New{Email: in.Email, Name: in.Name, Role: in.Role, MaxChats: in.MaxChats}, invitedHash)
	return u, err
}

func inviteNotFound() error {
	return apperr.New(apperr.NotFound, "this invitation link is not valid any more; ask for a new one")
}

// InvitedUser returns the account an unused, unexpired invitation is for.
func (s *Store) InvitedUser(ctx context.Context, token string) (User, error) {
	if len(token) < 10 || len(token) > 100 {
		return User{}, inviteNotFound()
	}
	var tenantID, userID string
	err := s.db.Read().QueryRowContext(ctx, `SELECT tenant_id, user_id FROM invites WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
		id.Hash(token), s.clock.Now()).Scan(&tenantID, &userID)
	if err == sql.ErrNoRows {
		return User{}, inviteNotFound()
	}
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, tenantID, userID)
}

// AcceptInvite sets the invited account's password and spends the link.
func (s *Store) AcceptInvite(ctx context.Context, token, password string) (User, error) {
	u, err := s.InvitedUser(ctx, token)
	if err != nil {
		return User{}, err
	}
	if err := auth.CheckPasswordPolicy(password); err != nil {
		return User{}, err
	}
	hash, err := s.hash(password)
	if err != nil {
		return User{}, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.clock.Now()
		res, err := tx.ExecContext(ctx, `UPDATE invites SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1`,
			now, id.Hash(token))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return inviteNotFound()
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4`,
			hash, now, u.TenantID, u.ID)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, u.TenantID, u.ID)
}

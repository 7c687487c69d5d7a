// Package user stores the people who answer chats: agents, supervisors,
// admins and owners of a tenant, with their status and chat capacity.
package user

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Role is what a user may do. Each role includes the ones below it.
type Role string

const (
	Owner      Role = "owner"
	Admin      Role = "admin"
	Supervisor Role = "supervisor"
	Agent      Role = "agent"
)

var roleRank = map[Role]int{Agent: 1, Supervisor: 2, Admin: 3, Owner: 4}

// Roles lists every role, weakest first.
var Roles = []Role{Agent, Supervisor, Admin, Owner}

// AtLeast reports whether r includes the powers of min.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := roleRank[r]; !ok {
		return "", apperr.FieldError("role", "role must be one of owner, admin, supervisor, agent")
	}
	return r, nil
}

// Status is an agent's availability.
type Status string

const (
	Online  Status = "online"
	Away    Status = "away"
	Offline Status = "offline"
)

// User is an account of a tenant.
type User struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"tenant_id"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	Role         Role       `json:"role"`
	Status       Status     `json:"status"`
	MaxChats     int        `json:"max_chats"`
	Disabled     bool       `json:"disabled"`
	Departments  []string   `json:"departments"`
	LastActiveAt *time.Time `json:"last_active_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// PhotoURL is the profile photo's public address; "" shows initials.
	PhotoURL     string `json:"photo_url"`
	passwordHash string
}

// New describes a user to create.
type New struct {
	Email    string
	Name     string
	Role     Role
	Password string
	MaxChats int
}

// Store reads and writes users.
type Store struct {
	db     *db.DB
	clock  clock.Clock
	hasher auth.Hasher

	dummyOnce sync.Once
	dummy     string
	// hashing bounds concurrent password hashes: each takes the hasher's
	// memory (64 MiB by default), so a burst of sign-ins must queue.
	hashing chan struct{}
}

func NewStore(d *db.DB, c clock.Clock, h auth.Hasher) *Store {
	return &Store{db: d, clock: c, hasher: h, hashing: make(chan struct{}, 2)}
}

func (s *Store) hash(pw string) (string, error) {
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	return s.hasher.Hash(pw)
}

func (s *Store) verify(pw, encoded string) (ok, rehash bool) {
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	return s.hasher.Verify(pw, encoded)
}

// Build validates n and hashes its password, returning the user to insert.
func (s *Store) Build(tenantID string, n New) (User, error) {
	return s.buildWithHash(tenantID, n, "")
}

// buildWithHash validates n; with hash empty it hashes n.Password.
func (s *Store) buildWithHash(tenantID string, n New, hash string) (User, error) {
	email, err := validate.Email("email", n.Email, true)
	if err != nil {
		return User{}, err
	}
	name, err := validate.Text("name", n.Name, 100, false)
	if err != nil {
		return User{}, err
	}
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return User{}, err
	}
	if n.MaxChats == 0 {
		n.MaxChats = 3
	}
	if n.MaxChats < 1 || n.MaxChats > 50 {
		return User{}, apperr.FieldError("max_chats", "max_chats must be between 1 and 50")
	}
	if hash == "" {
		if err := auth.CheckPasswordPolicy(n.Password); err != nil {
			return User{}, err
		}
		if hash, err = s.hash(n.Password); err != nil {
			return User{}, err
		}
	}
	now := s.clock.Now()
	return User{ID: id.New(), TenantID: tenantID, Email: email, Name: name, Role: n.Role, Status: Offline,
		MaxChats: n.MaxChats, Departments: []string{}, CreatedAt: now, UpdatedAt: now, passwordHash: hash}, nil
}

// Create validates and stores a new user.
func (s *Store) Create(ctx context.Context, tenantID string, n New) (User, error) {
	u, err := s.Build(tenantID, n)
	if err != nil {
		return u, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error { return Insert(ctx, tx, u) })
	return u, err
}

// Insert writes a built user inside a caller's transaction.
func Insert(ctx context.Context, q db.Querier, u User) error {
	_, err := q.ExecContext(ctx, `INSERT INTO users
		(id, tenant_id, email, name, role, password_hash, status, max_chats, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.passwordHash, string(u.Status), u.MaxChats, u.Disabled,
		u.CreatedAt, u.UpdatedAt)
	if db.IsUniqueViolation(err) {
		return apperr.FieldError("email", "an account with this email exists already")
	}
	return err
}

const columns = `id, tenant_id, email, name, role, password_hash, status, max_chats, disabled, last_active_at, created_at, updated_at, photo_key`

func scan(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var last sql.NullTime
	var photoKey string
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.passwordHash, &u.Status, &u.MaxChats,
		&u.Disabled, &last, &u.CreatedAt, &u.UpdatedAt, &photoKey)
	u.PhotoURL = PhotoURL(photoKey)
	if last.Valid {
		u.LastActiveAt = &last.Time
	}
	u.Departments = []string{}
	return u, err
}

func (s *Store) one(ctx context.Context, q db.Querier, where string, args ...any) (User, error) {
	u, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM users WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return u, apperr.New(apperr.NotFound, "no such user")
	}
	if err != nil {
		return u, err
	}
	u.Departments, err = departments(ctx, q, u.ID)
	return u, err
}

func departments(ctx context.Context, q db.Querier, userID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT department_id FROM user_departments WHERE user_id = $1 ORDER BY department_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Get returns a user of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, userID string) (User, error) {
	return s.one(ctx, s.db.Read(), `tenant_id = $1 AND id = $2`, tenantID, userID)
}

// GetTx is Get inside a transaction.
func GetTx(ctx context.Context, q db.Querier, tenantID, userID string) (User, error) {
	return (&Store{}).one(ctx, q, `tenant_id = $1 AND id = $2`, tenantID, userID)
}

// Authenticate checks an email and password. It answers the same error,
// after the same work, whether the account is unknown, disabled, or the
// password wrong, so that nobody can probe which emails exist.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	bad := apperr.New(apperr.Unauthorized, "wrong email or password")
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.one(ctx, s.db.Read(), `email = $1`, email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return User{}, err
	}
	hash := u.passwordHash
	if hash == "" {
		hash = s.dummyHash()
	}
	ok, rehash := s.verify(password, hash)
	if err != nil || !ok || u.Disabled {
		return User{}, bad
	}
	if rehash {
		_ = s.SetPassword(ctx, u.TenantID, u.ID, password)
	}
	return u, nil
}

// dummyHash is verified against for unknown emails so the timing matches.
func (s *Store) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy, _ = s.hash("not a real password, only for timing") })
	return s.dummy
}

// List returns the tenant's users by name.
func (s *Store) List(ctx context.Context, tenantID string) ([]User, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+columns+` FROM users WHERE tenant_id = $1 ORDER BY name, id`, tenantID)
	if err != nil {
		return nil, err
	}
	var out []User
	for rows.Next() {
		u, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Departments, err = departments(ctx, s.db.Read(), out[i].ID); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []User{}
	}
	return out, nil
}

// Count returns how many users exist in the whole installation (first-run
// set-up is open only while there are none).
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// ByEmail finds a user by email across tenants; for the operator CLI.
func (s *Store) ByEmail(ctx context.Context, email string) (User, error) {
	return s.one(ctx, s.db.Read(), `email = $1`, strings.ToLower(strings.TrimSpace(email)))
}

// Update describes changes to a user; nil fields stay as they are.
type Update struct {
	Name        *string   `json:"name"`
	Role        *Role     `json:"role"`
	MaxChats    *int      `json:"max_chats"`
	Disabled    *bool     `json:"disabled"`
	Departments *[]string `json:"departments"`
}

// Update changes a user of the tenant. The last enabled owner cannot be
// demoted or disabled, so a tenant never locks itself out.
func (s *Store) Update(ctx context.Context, tenantID, userID string, up Update) (User, error) {
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		u, err := GetTx(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		wasOwner := u.Role == Owner && !u.Disabled
		if up.Name != nil {
			if u.Name, err = validate.Text("name", *up.Name, 100, true); err != nil {
				return err
			}
		}
		if up.Role != nil {
			if u.Role, err = ParseRole(string(*up.Role)); err != nil {
				return err
			}
		}
		if up.MaxChats != nil {
			if *up.MaxChats < 1 || *up.MaxChats > 50 {
				return apperr.FieldError("max_chats", "max_chats must be between 1 and 50")
			}
			u.MaxChats = *up.MaxChats
		}
		if up.Disabled != nil {
			u.Disabled = *up.Disabled
		}
		// Removing an enabled owner must leave another one.
		if wasOwner && (u.Role != Owner || u.Disabled) {
			var owners int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'owner' AND disabled = FALSE AND id <> $2`,
				tenantID, userID).Scan(&owners); err != nil {
				return err
			}
			if owners == 0 {
				return apperr.New(apperr.Conflict, "a tenant needs at least one enabled owner")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, role = $2, max_chats = $3, disabled = $4, updated_at = $5
			WHERE tenant_id = $6 AND id = $7`, u.Name, string(u.Role), u.MaxChats, u.Disabled, s.clock.Now(), tenantID, userID); err != nil {
			return err
		}
		if up.Departments != nil {
			return setDepartments(ctx, tx, tenantID, userID, *up.Departments)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, tenantID, userID)
}

func setDepartments(ctx context.Context, tx *sql.Tx, tenantID, userID string, deps []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_departments WHERE user_id = $1`, userID); err != nil {
		return err
	}
	seen := []string{}
	for _, d := range deps {
		if slices.Contains(seen, d) {
			continue
		}
		seen = append(seen, d)
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE tenant_id = $1 AND id = $2`, tenantID, d).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return apperr.FieldError("departments", "no such department %q", d)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_departments (user_id, department_id) VALUES ($1, $2)`, userID, d); err != nil {
			return err
		}
	}
	return nil
}

// SetPassword replaces a user's password.
func (s *Store) SetPassword(ctx context.Context, tenantID, userID, password string) error {
	if err := auth.CheckPasswordPolicy(password); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4`,
			hash, s.clock.Now(), tenantID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such user")
		}
		return nil
	})
}

// SetStatus changes a user's availability.
func (s *Store) SetStatus(ctx context.Context, tenantID, userID string, st Status) error {
	if err := validate.OneOf("status", string(st), string(Online), string(Away), string(Offline)); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET status = $1, last_active_at = $2, updated_at = $2 WHERE tenant_id = $3 AND id = $4`,
			string(st), now, tenantID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such user")
		}
		return nil
	})
}

// LockForAssignment returns a user of the tenant with their row locked for
// the rest of the transaction, so that two nodes cannot both give the same
// agent their last free slot. (An UPDATE takes the row lock on every engine.)
func LockForAssignment(ctx context.Context, tx *sql.Tx, tenantID, userID string) (User, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET max_chats = max_chats WHERE tenant_id = $1 AND id = $2`, tenantID, userID)
	if err != nil {
		return User{}, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return User{}, apperr.New(apperr.NotFound, "no such user")
	}
	return GetTx(ctx, tx, tenantID, userID)
}

// Available counts the tenant's enabled users who are online: the widget
// offers live chat only when someone is there to answer.
func (s *Store) Available(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND status = 'online' AND disabled = FALSE`, tenantID).Scan(&n)
	return n, err
}

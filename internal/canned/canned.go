// Package canned stores a team's ready-made answers. Agents type "/" and a
// shortcut in the composer; placeholders such as {{visitor.name}} are
// filled in for the conversation at hand.
package canned

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Response is one canned answer. DepartmentID empty means for everyone.
type Response struct {
	ID           string    `json:"id"`
	Shortcut     string    `json:"shortcut"`
	Title        string    `json:"title"`
	Body         string    `json:"body"`
	DepartmentID string    `json:"department_id"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Text is Body with placeholders filled, when asked for a conversation.
	Text string `json:"text,omitempty"`
}

// Placeholders a body may use.
var Placeholders = []string{"visitor.name", "visitor.email", "agent.name", "site.name"}

var (
	shortcutRE    = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// Input is what an admin sends; nil fields stay as they are on update.
type Input struct {
	Shortcut     *string `json:"shortcut"`
	Title        *string `json:"title"`
	Body         *string `json:"body"`
	DepartmentID *string `json:"department_id"`
}

// Store reads and writes canned responses.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

func notFound() error { return apperr.New(apperr.NotFound, "no such canned response") }

func apply(r *Response, in Input) error {
	var err error
	if in.Shortcut != nil {
		r.Shortcut = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(*in.Shortcut)), "/")
	}
	if !shortcutRE.MatchString(r.Shortcut) {
		return apperr.FieldError("shortcut", "shortcut must be 1–32 of a-z, 0-9, _ and -")
	}
	if in.Title != nil {
		r.Title = *in.Title
	}
	if r.Title, err = validate.Text("title", r.Title, 100, true); err != nil {
		return err
	}
	if in.Body != nil {
		r.Body = *in.Body
	}
	if r.Body, err = validate.Multiline("body", r.Body, 5000); err != nil {
		return err
	}
	if strings.TrimSpace(r.Body) == "" {
		return apperr.FieldError("body", "body is required")
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(r.Body, -1) {
		known := false
		for _, p := range Placeholders {
			known = known || m[1] == p
		}
		if !known {
			return apperr.FieldError("body", "unknown placeholder {{%s}}; use %s", m[1], "{{"+strings.Join(Placeholders, "}}, {{")+"}}")
		}
	}
	if in.DepartmentID != nil {
		r.DepartmentID = *in.DepartmentID
	}
	if r.DepartmentID != "" && !id.Valid(r.DepartmentID) {
		return apperr.FieldError("department_id", "no such department")
	}
	return nil
}

func checkUnique(ctx context.Context, tx *sql.Tx, tenantID string, r Response) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM canned_responses WHERE tenant_id = $1 AND shortcut = $2
		AND COALESCE(department_id, '') = $3 AND id <> $4`, tenantID, r.Shortcut, r.DepartmentID, r.ID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return apperr.New(apperr.Conflict, "the shortcut /%s is taken", r.Shortcut)
	}
	if r.DepartmentID == "" {
		return nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE tenant_id = $1 AND id = $2`, tenantID, r.DepartmentID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return apperr.FieldError("department_id", "no such department")
	}
	return nil
}

// Create adds a canned response.
func (s *Store) Create(ctx context.Context, tenantID string, in Input) (Response, error) {
	now := s.clock.Now()
	r := Response{ID: id.New(), CreatedAt: now, UpdatedAt: now}
	if in.Shortcut == nil {
		return r, apperr.FieldError("shortcut", "shortcut is required")
	}
	if err := apply(&r, in); err != nil {
		return Response{}, err
	}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkUnique(ctx, tx, tenantID, r); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO canned_responses (id, tenant_id, department_id, shortcut, title, body, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, r.ID, tenantID, nullable(r.DepartmentID), r.Shortcut, r.Title, r.Body, now)
		return err
	})
	if err != nil {
		return Response{}, err
	}
	return r, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const columns = `id, shortcut, title, body, COALESCE(department_id, ''), created_at, updated_at`

func (s *Store) query(ctx context.Context, q db.Querier, where string, args ...any) ([]Response, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM canned_responses `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Response{}
	for rows.Next() {
		var r Response
		if err := rows.Scan(&r.ID, &r.Shortcut, &r.Title, &r.Body, &r.DepartmentID, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// List returns the tenant's canned responses by shortcut. With a
// department, only those for everyone and for that department.
func (s *Store) List(ctx context.Context, tenantID, departmentID string) ([]Response, error) {
	if departmentID != "" {
		if !id.Valid(departmentID) {
			return nil, apperr.FieldError("department", "department must be an id")
		}
		return s.query(ctx, s.db.Read(), `WHERE tenant_id = $1 AND (department_id IS NULL OR department_id = $2) ORDER BY shortcut, id`,
			tenantID, departmentID)
	}
	return s.query(ctx, s.db.Read(), `WHERE tenant_id = $1 ORDER BY shortcut, id`, tenantID)
}

// ForAgent returns the responses an agent of the given departments uses:
// those for everyone and those of their departments.
func (s *Store) ForAgent(ctx context.Context, tenantID string, departments []string) ([]Response, error) {
	all, err := s.List(ctx, tenantID, "")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if r.DepartmentID == "" || contains(departments, r.DepartmentID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Update changes a canned response.
func (s *Store) Update(ctx context.Context, tenantID, cannedID string, in Input) (Response, error) {
	if !id.Valid(cannedID) {
		return Response{}, notFound()
	}
	var r Response
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rs, err := s.query(ctx, tx, `WHERE tenant_id = $1 AND id = $2`, tenantID, cannedID)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return notFound()
		}
		r = rs[0]
		if err := apply(&r, in); err != nil {
			return err
		}
		if err := checkUnique(ctx, tx, tenantID, r); err != nil {
			return err
		}
		r.UpdatedAt = s.clock.Now()
		_, err = tx.ExecContext(ctx, `UPDATE canned_responses SET department_id = $1, shortcut = $2, title = $3, body = $4, updated_at = $5
			WHERE tenant_id = $6 AND id = $7`, nullable(r.DepartmentID), r.Shortcut, r.Title, r.Body, r.UpdatedAt, tenantID, cannedID)
		return err
	})
	return r, err
}

// Delete removes a canned response.
func (s *Store) Delete(ctx context.Context, tenantID, cannedID string) error {
	if !id.Valid(cannedID) {
		return notFound()
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM canned_responses WHERE tenant_id = $1 AND id = $2`, tenantID, cannedID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound()
		}
		return nil
	})
}

// Values fill placeholders, keyed by placeholder name.
type Values map[string]string

// Expand fills body's placeholders. An empty value also drops the space
// before it, so "Hei {{visitor.name}}!" becomes "Hei!" for an anonymous
// visitor. The result is plain text like any message.
func Expand(body string, v Values) string {
	var b strings.Builder
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(body, -1) {
		val := v[body[m[2]:m[3]]]
		chunk := body[last:m[0]]
		if val == "" {
			chunk = strings.TrimRight(chunk, " ")
		}
		b.WriteString(chunk)
		b.WriteString(val)
		last = m[1]
	}
	b.WriteString(body[last:])
	return b.String()
}

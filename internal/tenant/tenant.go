// Package tenant stores organisations (the merchants or provider customers
// that own sites and accounts) and their departments.
package tenant

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Tenant is an organisation. Everything else in Tiski belongs to one.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Department groups agents; conversations can be routed to one.
type Department struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Store reads and writes tenants and departments.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

// Create makes a tenant.
func (s *Store) Create(ctx context.Context, name string) (Tenant, error) {
	name, err := validate.Text("name", name, 200, true)
	if err != nil {
		return Tenant{}, err
	}
	t := Tenant{ID: id.New(), Name: name, CreatedAt: s.clock.Now()}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return Insert(ctx, tx, t)
	})
	return t, err
}

// Insert writes t inside a caller's transaction (first-run set-up creates a
// tenant, a site and an owner in one transaction).
func Insert(ctx context.Context, q db.Querier, t Tenant) error {
	_, err := q.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`, t.ID, t.Name, t.CreatedAt)
	return err
}

// Get returns one tenant.
func (s *Store) Get(ctx context.Context, tenantID string) (Tenant, error) {
	var t Tenant
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE id = $1`, tenantID).
		Scan(&t.ID, &t.Name, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, apperr.New(apperr.NotFound, "no such tenant")
	}
	return t, err
}

// List returns every tenant, oldest first. Only the operator CLI uses it.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		if err := rows.Scan(&t.ID, &t.Name, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateDepartment adds a department to a tenant.
func (s *Store) CreateDepartment(ctx context.Context, tenantID, name string) (Department, error) {
	name, err := validate.Text("name", name, 100, true)
	if err != nil {
		return Department{}, err
	}
	d := Department{ID: id.New(), TenantID: tenantID, Name: name, CreatedAt: s.clock.Now()}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO departments (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)`,
			d.ID, d.TenantID, d.Name, d.CreatedAt)
		if db.IsUniqueViolation(err) {
			return apperr.FieldError("name", "a department named %q exists already", name)
		}
		return err
	})
	return d, err
}

// Departments lists a tenant's departments by name.
func (s *Store) Departments(ctx context.Context, tenantID string) ([]Department, error) {
	rows, err := s.db.Read().QueryContext(ctx,
		`SELECT id, tenant_id, name, created_at FROM departments WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Department{}
	for rows.Next() {
		var d Department
		if err := rows.Scan(&d.ID, &d.TenantID, &d.Name, &d.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Department returns one department of the tenant.
func (s *Store) Department(ctx context.Context, tenantID, departmentID string) (Department, error) {
	var d Department
	err := s.db.Read().QueryRowContext(ctx,
		`SELECT id, tenant_id, name, created_at FROM departments WHERE tenant_id = $1 AND id = $2`, tenantID, departmentID).
		Scan(&d.ID, &d.TenantID, &d.Name, &d.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return d, apperr.New(apperr.NotFound, "no such department")
	}
	return d, err
}

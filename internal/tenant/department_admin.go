package tenant

import (
	"context"
	"database/sql"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// RenameDepartment changes a department's name.
func (s *Store) RenameDepartment(ctx context.Context, tenantID, departmentID, name string) (Department, error) {
	name, err := validate.Text("name", name, 100, true)
	if err != nil {
		return Department{}, err
	}
	if !id.Valid(departmentID) {
		return Department{}, apperr.New(apperr.NotFound, "no such department")
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE departments SET name = $1 WHERE tenant_id = $2 AND id = $3`, name, tenantID, departmentID)
		if db.IsUniqueViolation(err) {
			return apperr.FieldError("name", "a department named %q exists already", name)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such department")
		}
		return nil
	})
	if err != nil {
		return Department{}, err
	}
	return s.Department(ctx, tenantID, departmentID)
}

// DeleteDepartment removes a department. Its conversations and canned
// responses keep going without one; its agents simply lose it.
func (s *Store) DeleteDepartment(ctx context.Context, tenantID, departmentID string) error {
	if !id.Valid(departmentID) {
		return apperr.New(apperr.NotFound, "no such department")
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Explicit rather than trusting ON DELETE, which an engine may not enforce.
		for _, q := range []string{
			`UPDATE conversations SET department_id = NULL WHERE tenant_id = $1 AND department_id = $2`,
			`UPDATE canned_responses SET department_id = NULL WHERE tenant_id = $1 AND department_id = $2`,
			`DELETE FROM user_departments WHERE department_id = $2 AND department_id IN (SELECT id FROM departments WHERE tenant_id = $1)`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenantID, departmentID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM departments WHERE tenant_id = $1 AND id = $2`, tenantID, departmentID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such department")
		}
		return nil
	})
}

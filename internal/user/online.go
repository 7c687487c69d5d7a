package user

import "context"

// OnlineNames returns the names of up to limit agents of the tenant who are
// online now, for the widget's greeting ("Aino is here to help").
func (s *Store) OnlineNames(ctx context.Context, tenantID string, limit int) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT name FROM users
		WHERE tenant_id = $1 AND status = 'online' AND disabled = FALSE
		ORDER BY last_active_at DESC, name LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// TeamEmails returns the addresses of the tenant's enabled owners and
// admins, who receive offline messages from the widget.
func (s *Store) TeamEmails(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT email FROM users
		WHERE tenant_id = $1 AND role IN ('owner', 'admin') AND disabled = FALSE ORDER BY email`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

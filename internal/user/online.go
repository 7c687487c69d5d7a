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

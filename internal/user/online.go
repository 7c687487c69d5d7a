package user

import "context"

// OnlineAgent is what the widget may know of an agent who is online.
type OnlineAgent struct {
	Name     string `json:"name"`
	PhotoURL string `json:"photo_url"`
}

// OnlineAgents returns up to limit agents of the tenant who are online now,
// most recently active first, for the widget's header and greeting
// ("Aino is here to help").
func (s *Store) OnlineAgents(ctx context.Context, tenantID string, limit int) ([]OnlineAgent, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT name, photo_key FROM users
		WHERE tenant_id = $1 AND status = 'online' AND disabled = FALSE
		ORDER BY last_active_at DESC, name LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OnlineAgent{}
	for rows.Next() {
		var a OnlineAgent
		var key string
		if err := rows.Scan(&a.Name, &key); err != nil {
			return nil, err
		}
		a.PhotoURL = PhotoURL(key)
		out = append(out, a)
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

// Package tag labels conversations (refund, delivery, vip…) so that teams
// can sort and search them. Tags belong to a tenant; names are unique
// regardless of case.
package tag

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Tag is one label.
type Tag struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
}

// DefaultColor is a calm grey-blue.
const DefaultColor = "#475569"

// Store reads and writes tags and their use on conversations.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

func notFound() error { return apperr.New(apperr.NotFound, "no such tag") }

// CheckColor validates a #rrggbb colour.
func CheckColor(field, c string) error {
	ok := len(c) == 7 && c[0] == '#'
	for _, r := range c[min(1, len(c)):] {
		ok = ok && (r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F')
	}
	if !ok {
		return apperr.FieldError(field, "%s must be like #475569", field)
	}
	return nil
}

func checkName(n string) (string, error) {
	return validate.Text("name", n, 40, true)
}

// Create adds a tag.
func (s *Store) Create(ctx context.Context, tenantID, name, color string) (Tag, error) {
	name, err := checkName(name)
	if err != nil {
		return Tag{}, err
	}
	if color == "" {
		color = DefaultColor
	}
	if err := CheckColor("color", color); err != nil {
		return Tag{}, err
	}
	t := Tag{ID: id.New(), Name: name, Color: strings.ToLower(color), CreatedAt: s.clock.Now()}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tags (id, tenant_id, name, name_lc, color, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, tenantID, t.Name, strings.ToLower(t.Name), t.Color, t.CreatedAt)
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "a tag named %q exists already", name)
		}
		return err
	})
	return t, err
}

// List returns the tenant's tags by name.
func (s *Store) List(ctx context.Context, tenantID string) ([]Tag, error) {
	return s.query(ctx, `SELECT id, name, color, created_at FROM tags WHERE tenant_id = $1 ORDER BY name_lc`, tenantID)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Tag, error) {
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Tag{}
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.ID, &t.Name, &t.Color, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Get returns one tag of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, tagID string) (Tag, error) {
	if !id.Valid(tagID) {
		return Tag{}, notFound()
	}
	ts, err := s.query(ctx, `SELECT id, name, color, created_at FROM tags WHERE tenant_id = $1 AND id = $2`, tenantID, tagID)
	if err != nil {
		return Tag{}, err
	}
	if len(ts) == 0 {
		return Tag{}, notFound()
	}
	return ts[0], nil
}

// Update renames or recolours a tag; nil fields stay.
func (s *Store) Update(ctx context.Context, tenantID, tagID string, name, color *string) (Tag, error) {
	t, err := s.Get(ctx, tenantID, tagID)
	if err != nil {
		return t, err
	}
	if name != nil {
		if t.Name, err = checkName(*name); err != nil {
			return t, err
		}
	}
	if color != nil {
		if err := CheckColor("color", *color); err != nil {
			return t, err
		}
		t.Color = strings.ToLower(*color)
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tags SET name = $1, name_lc = $2, color = $3 WHERE tenant_id = $4 AND id = $5`,
			t.Name, strings.ToLower(t.Name), t.Color, tenantID, tagID)
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "a tag named %q exists already", t.Name)
		}
		return err
	})
	return t, err
}

// Delete removes a tag from the tenant and from every conversation.
func (s *Store) Delete(ctx context.Context, tenantID, tagID string) error {
	if !id.Valid(tagID) {
		return notFound()
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE tenant_id = $1 AND tag_id = $2`, tenantID, tagID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE tenant_id = $1 AND id = $2`, tenantID, tagID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound()
		}
		return nil
	})
}

// Set adds (on) or removes a tag on a conversation of the tenant and
// returns the conversation's tags. Both are idempotent.
func (s *Store) Set(ctx context.Context, tenantID, convID, tagID string, on bool) ([]Tag, error) {
	if !id.Valid(tagID) {
		return nil, notFound()
	}
	if !id.Valid(convID) {
		return nil, apperr.New(apperr.NotFound, "no such conversation")
	}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE tenant_id = $1 AND id = $2`, tenantID, convID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.NotFound, "no such conversation")
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tags WHERE tenant_id = $1 AND id = $2`, tenantID, tagID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound()
		}
		var err error
		if on {
			_, err = tx.ExecContext(ctx, `INSERT INTO conversation_tags (conversation_id, tag_id, tenant_id, created_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, convID, tagID, tenantID, s.clock.Now())
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE tenant_id = $1 AND conversation_id = $2 AND tag_id = $3`,
				tenantID, convID, tagID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.OfConversation(ctx, tenantID, convID)
}

// OfConversation lists a conversation's tags by name.
func (s *Store) OfConversation(ctx context.Context, tenantID, convID string) ([]Tag, error) {
	return s.query(ctx, `SELECT t.id, t.name, t.color, t.created_at FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
		WHERE ct.tenant_id = $1 AND ct.conversation_id = $2 ORDER BY t.name_lc`, tenantID, convID)
}

// OfConversations returns the tags of many conversations at once.
func (s *Store) OfConversations(ctx context.Context, tenantID string, convIDs []string) (map[string][]Tag, error) {
	out := map[string][]Tag{}
	for start := 0; start < len(convIDs); start += 200 {
		chunk := convIDs[start:min(start+200, len(convIDs))]
		args := []any{tenantID}
		in := ""
		for i, c := range chunk {
			if i > 0 {
				in += ", "
			}
			args = append(args, c)
			in += "$" + strconv.Itoa(len(args))
		}
		rows, err := s.db.Read().QueryContext(ctx, `SELECT ct.conversation_id, t.id, t.name, t.color, t.created_at
			FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
			WHERE ct.tenant_id = $1 AND ct.conversation_id IN (`+in+`) ORDER BY t.name_lc`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var cid string
			var t Tag
			if err := rows.Scan(&cid, &t.ID, &t.Name, &t.Color, &t.CreatedAt); err != nil {
				rows.Close()
				return nil, err
			}
			out[cid] = append(out[cid], t)
		}
		err = rows.Err()
		rows.Close()
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return out, nil
}

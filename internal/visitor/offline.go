package visitor

import (
	"context"
	"database/sql"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// OfflineMessage is what a shopper leaves when nobody can answer.
type OfflineMessage struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Message   string    `json:"message"`
	Language  string    `json:"language"`
	PageURL   string    `json:"page"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxOfflinePerHour bounds a visitor's offline messages.
const MaxOfflinePerHour = 5

// CheckOffline validates an offline message in place.
func CheckOffline(m *OfflineMessage) error {
	var err error
	if m.Name, err = validate.Text("name", m.Name, 100, true); err != nil {
		return err
	}
	if m.Email, err = validate.Email("email", m.Email, true); err != nil {
		return err
	}
	if m.Message, err = validate.Multiline("message", m.Message, 5000); err != nil {
		return err
	}
	if m.Message == "" {
		return apperr.FieldError("message", "message is required")
	}
	if m.Language != "" {
		if err := validate.OneOf("language", m.Language, "fi", "sv", "en"); err != nil {
			return err
		}
	}
	if m.PageURL, err = checkURL("page", m.PageURL, false); err != nil {
		return err
	}
	return nil
}

// InsertOffline stores a checked offline message of v inside the caller's
// transaction (which also queues its email) and fills in the visitor's
// name and email where they were empty.
func InsertOffline(ctx context.Context, tx *sql.Tx, v Visitor, m *OfflineMessage, now time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM offline_messages WHERE visitor_id = $1 AND created_at > $2`,
		v.ID, now.Add(-time.Hour)).Scan(&n); err != nil {
		return err
	}
	if n >= MaxOfflinePerHour {
		return &apperr.Error{Code: apperr.RateLimited, Message: "too many messages; please try again later", RetryAfter: 600}
	}
	m.ID, m.CreatedAt = id.New(), now
	if _, err := tx.ExecContext(ctx, `INSERT INTO offline_messages (id, tenant_id, site_id, visitor_id, name, email, message, language, page_url, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		m.ID, v.TenantID, v.SiteID, v.ID, m.Name, m.Email, m.Message, m.Language, m.PageURL, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE visitors SET name = CASE WHEN name = '' THEN $1 ELSE name END,
		email = CASE WHEN email = '' THEN $2 ELSE email END WHERE id = $3`, m.Name, m.Email, v.ID)
	return err
}

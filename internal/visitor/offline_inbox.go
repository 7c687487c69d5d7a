package visitor

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/validate"
)

// OfflineItem is an offline message as the console shows it: what the
// shopper left, where, and how the team has dealt with it.
type OfflineItem struct {
	OfflineMessage
	SiteID        string     `json:"site_id"`
	SiteName      string     `json:"site_name"`
	VisitorID     string     `json:"visitor_id"`
	HandledAt     *time.Time `json:"handled_at"`
	HandledBy     string     `json:"handled_by"`
	HandledByName string     `json:"handled_by_name"`
	Reply         string     `json:"reply"`
	RepliedAt     *time.Time `json:"replied_at"`
	RepliedBy     string     `json:"replied_by"`
}

// OfflineFilter selects offline messages of a tenant, newest first.
type OfflineFilter struct {
	State    string // "open", "handled" or "" for both
	SiteID   string
	Before   time.Time // keyset paging: strictly older than (Before, BeforeID)
	BeforeID string
	Limit    int
}

const offlineColumns = `o.id, o.name, o.email, o.message, o.language, o.page_url, o.created_at, o.site_id, s.name, o.visitor_id,
	o.handled_at, o.handled_by, COALESCE(u.name, ''), o.reply, o.replied_at, o.replied_by`

const offlineFrom = ` FROM offline_messages o JOIN sites s ON s.id = o.site_id
	LEFT JOIN users u ON u.id = o.handled_by AND u.tenant_id = o.tenant_id `

func scanOffline(row interface{ Scan(...any) error }) (OfflineItem, error) {
	var it OfflineItem
	var handled, replied sql.NullTime
	err := row.Scan(&it.ID, &it.Name, &it.Email, &it.Message, &it.Language, &it.PageURL, &it.CreatedAt, &it.SiteID, &it.SiteName,
		&it.VisitorID, &handled, &it.HandledBy, &it.HandledByName, &it.Reply, &replied, &it.RepliedBy)
	it.CreatedAt = it.CreatedAt.UTC()
	if handled.Valid {
		t := handled.Time.UTC()
		it.HandledAt = &t
	}
	if replied.Valid {
		t := replied.Time.UTC()
		it.RepliedAt = &t
	}
	return it, err
}

// ListOffline returns a page of the tenant's offline messages, newest first.
func (s *Store) ListOffline(ctx context.Context, tenantID string, f OfflineFilter) ([]OfflineItem, error) {
	q := `SELECT ` + offlineColumns + offlineFrom + `WHERE o.tenant_id = $1`
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch f.State {
	case "open":
		q += ` AND o.handled_at IS NULL`
	case "handled":
		q += ` AND o.handled_at IS NOT NULL`
	}
	if f.SiteID != "" {
		q += ` AND o.site_id = ` + arg(f.SiteID)
	}
	if !f.Before.IsZero() {
		b := arg(f.Before)
		q += ` AND (o.created_at < ` + b + ` OR (o.created_at = ` + b + ` AND o.id < ` + arg(f.BeforeID) + `))`
	}
	q += ` ORDER BY o.created_at DESC, o.id DESC LIMIT ` + arg(f.Limit)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OfflineItem{}
	for rows.Next() {
		it, err := scanOffline(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// CountOpenOffline counts the tenant's offline messages nobody has handled.
func (s *Store) CountOpenOffline(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM offline_messages WHERE tenant_id = $1 AND handled_at IS NULL`,
		tenantID).Scan(&n)
	return n, err
}

// GetOffline reads one offline message of the tenant inside tx.
func GetOffline(ctx context.Context, tx *sql.Tx, tenantID, id string) (OfflineItem, error) {
	it, err := scanOffline(tx.QueryRowContext(ctx, `SELECT `+offlineColumns+offlineFrom+`WHERE o.tenant_id = $1 AND o.id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, apperr.New(apperr.NotFound, "no such offline message")
	}
	return it, err
}

// SetOfflineHandled marks an offline message handled by userID at now, or
// open again (handled false), inside tx.
func SetOfflineHandled(ctx context.Context, tx *sql.Tx, tenantID, id, userID string, handled bool, now time.Time) error {
	var res sql.Result
	var err error
	if handled {
		// Keep who handled it first; marking twice changes nothing.
		res, err = tx.ExecContext(ctx, `UPDATE offline_messages SET handled_at = COALESCE(handled_at, $3),
			handled_by = CASE WHEN handled_at IS NULL THEN $4 ELSE handled_by END WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, now, userID)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE offline_messages SET handled_at = NULL, handled_by = '' WHERE tenant_id = $1 AND id = $2`,
			tenantID, id)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return apperr.New(apperr.NotFound, "no such offline message")
	}
	return nil
}

// MaxReply bounds an emailed reply.
const MaxReply = 10000

// CheckReply validates the text of an emailed reply.
func CheckReply(text string) (string, error) {
	t, err := validate.Multiline("text", text, MaxReply)
	if err != nil {
		return "", err
	}
	if t == "" {
		return "", apperr.FieldError("text", "text is required")
	}
	return t, nil
}

// RecordOfflineReply stores the reply mailed to the shopper and marks the
// message handled by userID, inside the transaction that queues the mail.
// A message is answered once; a second reply is a conflict.
func RecordOfflineReply(ctx context.Context, tx *sql.Tx, tenantID, id, userID, text string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE offline_messages SET reply = $3, replied_at = $4, replied_by = $5,
		handled_by = CASE WHEN handled_at IS NULL THEN $5 ELSE handled_by END, handled_at = COALESCE(handled_at, $4)
		WHERE tenant_id = $1 AND id = $2 AND replied_at IS NULL`, tenantID, id, text, now, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return apperr.New(apperr.Conflict, "this message has already been answered")
	}
	return nil
}

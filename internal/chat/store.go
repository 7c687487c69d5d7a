package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/id"
)

// The SQL of the chat domain. Every function is scoped by tenant; write
// helpers take the caller's transaction.

const convColumns = `id, tenant_id, site_id, visitor_id, previous_id, epoch, status, department_id, assignee_id,
	last_seq, last_visitor_seq, closed_by, created_at, queued_at, assigned_at, closed_at, last_message_at, last_activity_at`

func scanConversation(row interface{ Scan(...any) error }) (Conversation, error) {
	var c Conversation
	var prev, dep, assignee, closedBy sql.NullString
	var queued, assigned, closed, lastMsg sql.NullTime
	err := row.Scan(&c.ID, &c.TenantID, &c.SiteID, &c.VisitorID, &prev, &c.Epoch, &c.Status, &dep, &assignee,
		&c.LastSeq, &c.LastVisitorSeq, &closedBy, &c.CreatedAt, &queued, &assigned, &closed, &lastMsg, &c.LastActivityAt)
	c.PreviousID, c.DepartmentID, c.AssigneeID, c.ClosedBy = prev.String, dep.String, assignee.String, closedBy.String
	c.QueuedAt, c.AssignedAt, c.ClosedAt, c.LastMessageAt = timePtr(queued), timePtr(assigned), timePtr(closed), timePtr(lastMsg)
	return c, err
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// queryRow and query run a statement on q; inside a group commit (q is the
// write transaction) the statement is prepared once per batch.
func queryRow(ctx context.Context, q db.Querier, query string, args ...any) *sql.Row {
	if tx, ok := q.(*sql.Tx); ok {
		return db.QueryRow(ctx, tx, query, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

func query(ctx context.Context, q db.Querier, query string, args ...any) (*sql.Rows, error) {
	if tx, ok := q.(*sql.Tx); ok {
		return db.Query(ctx, tx, query, args...)
	}
	return q.QueryContext(ctx, query, args...)
}

func notFound() error { return apperr.New(apperr.NotFound, "no such conversation") }

func getConversation(ctx context.Context, q db.Querier, tenantID, convID string) (Conversation, error) {
	if !id.Valid(convID) {
		return Conversation{}, notFound()
	}
	c, err := scanConversation(queryRow(ctx, q, `SELECT `+convColumns+` FROM conversations WHERE tenant_id = $1 AND id = $2`, tenantID, convID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound()
	}
	return c, err
}

// lockConversation reads a conversation with its row locked until the
// transaction ends. On PostgreSQL a no-op UPDATE … RETURNING takes the
// lock; SQLite has one writer, so its write transaction already holds
// every row, and a plain read spares rewriting the row.
func (s *Service) lockConversation(ctx context.Context, tx *sql.Tx, tenantID, convID string) (Conversation, error) {
	if !id.Valid(convID) {
		return Conversation{}, notFound()
	}
	q := `UPDATE conversations SET last_seq = last_seq WHERE tenant_id = $1 AND id = $2 RETURNING ` + convColumns
	if s.db.Dialect == db.SQLite {
		q = `SELECT ` + convColumns + ` FROM conversations WHERE tenant_id = $1 AND id = $2`
	}
	c, err := scanConversation(db.QueryRow(ctx, tx, q, tenantID, convID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound()
	}
	return c, err
}

func activeConversation(ctx context.Context, q db.Querier, tenantID, visitorID string) (Conversation, bool, error) {
	c, err := scanConversation(queryRow(ctx, q, `SELECT `+convColumns+` FROM conversations
		WHERE tenant_id = $1 AND visitor_id = $2 AND status <> 'closed'`, tenantID, visitorID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

func latestConversationID(ctx context.Context, q db.Querier, tenantID, visitorID string) (string, error) {
	var convID string
	err := q.QueryRowContext(ctx, `SELECT id FROM conversations WHERE tenant_id = $1 AND visitor_id = $2
		ORDER BY created_at DESC, id DESC LIMIT 1`, tenantID, visitorID).Scan(&convID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return convID, err
}

func insertConversation(ctx context.Context, tx *sql.Tx, c Conversation) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO conversations
		(id, tenant_id, site_id, visitor_id, previous_id, epoch, status, department_id, created_at, queued_at, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.TenantID, c.SiteID, c.VisitorID, nullString(c.PreviousID), c.Epoch, string(c.Status),
		nullString(c.DepartmentID), c.CreatedAt, c.QueuedAt, c.LastActivityAt)
	return err
}

// saveConversationState writes the lifecycle columns of c.
func saveConversationState(ctx context.Context, tx *sql.Tx, c Conversation) error {
	_, err := tx.ExecContext(ctx, `UPDATE conversations SET status = $1, department_id = $2, assignee_id = $3, closed_by = $4,
		queued_at = $5, assigned_at = $6, closed_at = $7, last_activity_at = $8 WHERE tenant_id = $9 AND id = $10`,
		string(c.Status), nullString(c.DepartmentID), nullString(c.AssigneeID), nullString(c.ClosedBy),
		c.QueuedAt, c.AssignedAt, c.ClosedAt, c.LastActivityAt, c.TenantID, c.ID)
	return err
}

// appendMessage gives m the next sequence number(s) of c and stores it, in
// the caller's transaction: sequence order is commit order, with no gaps.
func appendMessage(ctx context.Context, tx *sql.Tx, c *Conversation, m *Message, visible bool, now time.Time) error {
	inc := 0
	if visible {
		inc = 1
	}
	if err := db.QueryRow(ctx, tx, `UPDATE conversations SET last_seq = last_seq + 1, last_visitor_seq = last_visitor_seq + $1,
		last_message_at = $2, last_activity_at = $2 WHERE tenant_id = $3 AND id = $4 RETURNING last_seq, last_visitor_seq`,
		inc, now, c.TenantID, c.ID).Scan(&c.LastSeq, &c.LastVisitorSeq); err != nil {
		return err
	}
	c.LastMessageAt, c.LastActivityAt = &now, now
	m.ID, m.TenantID, m.ConversationID, m.CreatedAt = id.New(), c.TenantID, c.ID, now
	m.Seq, m.VisitorSeq = c.LastSeq, 0
	if visible {
		m.VisitorSeq = c.LastVisitorSeq
	}
	if m.Data == nil {
		m.Data = json.RawMessage("{}")
	}
	var attID any
	if a := m.Attachment; a != nil {
		attID = a.ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (id, tenant_id, conversation_id, name, content_type, size, sha256, storage_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.ID, c.TenantID, c.ID, a.Name, a.ContentType, a.Size, a.SHA256, a.StorageKey, now); err != nil {
			return err
		}
	}
	var vseq any
	if visible {
		vseq = m.VisitorSeq
	}
	_, err := db.Exec(ctx, tx, `INSERT INTO messages
		(id, tenant_id, conversation_id, seq, visitor_seq, sender_kind, sender_id, sender_name, client_msg_id, kind, body, event, data, attachment_id, created_at, body_lc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		m.ID, m.TenantID, m.ConversationID, m.Seq, vseq, string(m.SenderKind), m.SenderID, m.SenderName, nullString(m.ClientMsgID),
		string(m.Kind), m.Body, m.Event, string(m.Data), attID, now, searchText(m))
	return err
}

// searchText is what history search matches for m: its text lower-cased
// in Go (SQL lower() is ASCII-only on SQLite), with a file's name.
func searchText(m *Message) string {
	t := m.Body
	if m.Attachment != nil {
		t += " " + m.Attachment.Name
	}
	return strings.ToLower(t)
}

const msgColumns = `m.id, m.tenant_id, m.conversation_id, m.seq, m.visitor_seq, m.sender_kind, m.sender_id, m.sender_name,
	m.client_msg_id, m.kind, m.body, m.event, m.data, m.created_at, a.id, a.name, a.content_type, a.size`

const msgFrom = ` FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id `

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var vseq sql.NullInt64
	var cmid, aID, aName, aType sql.NullString
	var aSize sql.NullInt64
	var data string
	err := row.Scan(&m.ID, &m.TenantID, &m.ConversationID, &m.Seq, &vseq, &m.SenderKind, &m.SenderID, &m.SenderName,
		&cmid, &m.Kind, &m.Body, &m.Event, &data, &m.CreatedAt, &aID, &aName, &aType, &aSize)
	m.VisitorSeq, m.ClientMsgID, m.Data = vseq.Int64, cmid.String, json.RawMessage(data)
	if aID.Valid {
		m.Attachment = &Attachment{ID: aID.String, Name: aName.String, ContentType: aType.String, Size: aSize.Int64}
	}
	return m, err
}

func queryMessages(ctx context.Context, q db.Querier, where string, args ...any) ([]Message, error) {
	rows, err := query(ctx, q, `SELECT `+msgColumns+msgFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// findSent looks up a message by its sender's client message id. Visitors'
// ids are looked up across all their conversations, so that a retry which
// raced a conversation change is still recognised.
func findSent(ctx context.Context, q db.Querier, a Actor, convID, clientMsgID string) (Message, bool, error) {
	var ms []Message
	var err error
	if a.Kind == VisitorActor {
		ms, err = queryMessages(ctx, q, `WHERE m.tenant_id = $1 AND m.sender_id = $2 AND m.client_msg_id = $3 AND m.sender_kind = 'visitor'`,
			a.TenantID, a.ID, clientMsgID)
	} else {
		ms, err = queryMessages(ctx, q, `WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.sender_kind = $3 AND m.sender_id = $4 AND m.client_msg_id = $5`,
			a.TenantID, convID, string(a.Kind), a.ID, clientMsgID)
	}
	if err != nil || len(ms) == 0 {
		return Message{}, false, err
	}
	return ms[0], true, nil
}

// event is a row of the append-only events log.
type event struct {
	Type  string
	Conv  Conversation
	Actor Actor
	Data  map[string]any
}

func insertEvent(ctx context.Context, tx *sql.Tx, e event, now time.Time) error {
	data := []byte("{}")
	if e.Data != nil {
		data, _ = json.Marshal(e.Data)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events (id, tenant_id, site_id, conversation_id, visitor_id, actor_kind, actor_id, type, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id.New(), e.Conv.TenantID, e.Conv.SiteID, e.Conv.ID, e.Conv.VisitorID, string(e.Actor.Kind), e.Actor.ID, e.Type, string(data), now)
	return err
}

type (
	nullStr  = sql.NullString
	nullTime = sql.NullTime
)

package chat

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/id"
)

// Get returns a conversation the actor may see: any of the tenant's for
// agents, only their own for visitors.
func (s *Service) Get(ctx context.Context, a Actor, convID string) (Conversation, error) {
	c, err := getConversation(ctx, s.db.Read(), a.TenantID, convID)
	if err != nil {
		return c, err
	}
	if a.Kind == VisitorActor && c.VisitorID != a.ID {
		return Conversation{}, notFound()
	}
	return c, nil
}

// Messages returns up to limit messages of the actor's stream after seq,
// in order: visitors read their stream (numbered by visitor seq, without
// notes), agents the full stream.
func (s *Service) Messages(ctx context.Context, a Actor, convID string, after int64, limit int) ([]Message, Conversation, error) {
	c, err := s.Get(ctx, a, convID)
	if err != nil {
		return nil, c, err
	}
	if after < 0 {
		return nil, c, apperr.FieldError("after", "after must not be negative")
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var ms []Message
	if a.Kind == VisitorActor {
		// visitor_seq never exceeds seq, so the (conversation_id, seq)
		// index seeks past everything the visitor has, and the two orders
		// agree on visible messages.
		ms, err = queryMessages(ctx, s.db.Read(), `WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.seq > $3 AND m.visitor_seq > $3
			ORDER BY m.seq LIMIT $4`, a.TenantID, convID, after, limit)
	} else {
		ms, err = queryMessages(ctx, s.db.Read(), `WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.seq > $3
			ORDER BY m.seq LIMIT $4`, a.TenantID, convID, after, limit)
	}
	return ms, c, err
}

// VisitorConversations lists a visitor's conversations, newest first.
func (s *Service) VisitorConversations(ctx context.Context, tenantID, visitorID string, limit int) ([]Conversation, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return s.conversations(ctx, `WHERE tenant_id = $1 AND visitor_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
		tenantID, visitorID, limit)
}

// InboxFilter selects conversations for the console.
type InboxFilter struct {
	Statuses   []Status
	AssigneeID string
	// Before pages backwards by last activity: pass the last row's time and id.
	Before   time.Time
	BeforeID string
	Limit    int
}

// Inbox lists the tenant's conversations by last activity, newest first.
func (s *Service) Inbox(ctx context.Context, tenantID string, f InboxFilter) ([]Conversation, error) {
	q, args := inboxQuery(tenantID, f)
	return s.conversations(ctx, q, args...)
}

// inboxQuery is the inbox's WHERE … ORDER BY … LIMIT, apart so that tests
// can read its query plan.
func inboxQuery(tenantID string, f InboxFilter) (string, []any) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if len(f.Statuses) == 0 {
		f.Statuses = []Status{Open, Queued, Assigned}
	}
	where := `WHERE tenant_id = $1 AND status IN (`
	args := []any{tenantID}
	for i, st := range f.Statuses {
		if i > 0 {
			where += ", "
		}
		args = append(args, string(st))
		where += placeholder(len(args))
	}
	where += ")"
	if !slices.Contains(f.Statuses, Closed) {
		// Implies the open-conversations index's condition, so the planner
		// reads a page of it instead of sorting every open conversation.
		where += " AND status <> 'closed'"
	}
	if f.AssigneeID != "" {
		args = append(args, f.AssigneeID)
		where += " AND assignee_id = " + placeholder(len(args))
	}
	if !f.Before.IsZero() {
		args = append(args, f.Before, f.BeforeID)
		where += " AND (last_activity_at < " + placeholder(len(args)-1) + " OR (last_activity_at = " + placeholder(len(args)-1) +
			" AND id < " + placeholder(len(args)) + "))"
	}
	args = append(args, f.Limit)
	return where + " ORDER BY last_activity_at DESC, id DESC LIMIT " + placeholder(len(args)), args
}

func placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (s *Service) conversations(ctx context.Context, where string, args ...any) ([]Conversation, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+convColumns+` FROM conversations `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Rating returns the conversation's rating, if any.
func (s *Service) Rating(ctx context.Context, tenantID, convID string) (Rating, bool, error) {
	var r Rating
	var agent sql.NullString
	err := s.db.Read().QueryRowContext(ctx, `SELECT conversation_id, score, comment, agent_id, created_at, updated_at
		FROM ratings WHERE tenant_id = $1 AND conversation_id = $2`, tenantID, convID).
		Scan(&r.ConversationID, &r.Score, &r.Comment, &agent, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	r.AgentID = agent.String
	return r, err == nil, err
}

// ReadMarks returns every stored read position of a conversation.
func (s *Service) ReadMarks(ctx context.Context, tenantID, convID string) ([]ReadMark, error) {
	if !id.Valid(convID) {
		return nil, notFound()
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT r.reader_kind, r.reader_id, r.seq FROM read_marks r
		JOIN conversations c ON c.id = r.conversation_id WHERE c.tenant_id = $1 AND r.conversation_id = $2
		ORDER BY r.reader_kind, r.reader_id`, tenantID, convID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ReadMark{}
	for rows.Next() {
		var r ReadMark
		if err := rows.Scan(&r.ReaderKind, &r.ReaderID, &r.Seq); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ActiveConversation returns the visitor's conversation that is not closed.
func (s *Service) ActiveConversation(ctx context.Context, a Actor) (Conversation, bool, error) {
	return activeConversation(ctx, s.db.Read(), a.TenantID, a.ID)
}

// AssignedTo lists the conversations assigned to an agent.
func (s *Service) AssignedTo(ctx context.Context, tenantID, userID string) ([]Conversation, error) {
	return s.conversations(ctx, `WHERE tenant_id = $1 AND assignee_id = $2 AND status = 'assigned' ORDER BY last_activity_at DESC`, tenantID, userID)
}

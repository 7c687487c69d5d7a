package chat

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/id"
)

// The console's lists: an agent's own chats, the queue, everything open,
// and the searchable history of closed conversations.

// InboxItem is a conversation with what a console list shows of it.
type InboxItem struct {
	Conversation
	VisitorName    string `json:"visitor_name"`
	VisitorEmail   string `json:"visitor_email"`
	AssigneeName   string `json:"assignee_name"`
	DepartmentName string `json:"department_name"`
	// Preview is the latest text (or file caption) the visitor can see.
	Preview string `json:"preview"`
	// Unread counts the visitor's messages after the reader's read mark.
	Unread int `json:"unread"`
	// WaitSeconds is how long a queued conversation has waited.
	WaitSeconds int64 `json:"wait_seconds,omitempty"`
	// Tags are filled by the caller (package tag owns them).
	Tags any `json:"tags"`
}

var itemColumns = func() string {
	cols := strings.Split(convColumns, ",")
	for i, c := range cols {
		cols[i] = "c." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// itemSelect reads items for reader $1 (an agent id; unread counts are theirs).
const itemTail = `, v.name, v.email, COALESCE(u.name, ''), COALESCE(d.name, ''),
	COALESCE((SELECT pm.body FROM messages pm WHERE pm.conversation_id = c.id AND pm.visitor_seq IS NOT NULL
		AND pm.kind IN ('text', 'file') ORDER BY pm.seq DESC LIMIT 1), ''),
	(SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id AND um.sender_kind = 'visitor'
		AND um.seq > COALESCE((SELECT r.seq FROM read_marks r WHERE r.conversation_id = c.id AND r.reader_kind = 'agent' AND r.reader_id = $1), 0))
	FROM conversations c JOIN visitors v ON v.id = c.visitor_id
	LEFT JOIN users u ON u.id = c.assignee_id LEFT JOIN departments d ON d.id = c.department_id `

func (s *Service) items(ctx context.Context, where string, args ...any) ([]InboxItem, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+itemColumns+itemTail+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.clock.Now()
	out := []InboxItem{}
	for rows.Next() {
		var it InboxItem
		c := &it.Conversation
		var prev, dep, assignee, closedBy nullStr
		var queued, assigned, closed, lastMsg nullTime
		if err := rows.Scan(&c.ID, &c.TenantID, &c.SiteID, &c.VisitorID, &prev, &c.Epoch, &c.Status, &dep, &assignee,
			&c.LastSeq, &c.LastVisitorSeq, &closedBy, &c.CreatedAt, &queued, &assigned, &closed, &lastMsg, &c.LastActivityAt,
			&it.VisitorName, &it.VisitorEmail, &it.AssigneeName, &it.DepartmentName, &it.Preview, &it.Unread); err != nil {
			return nil, err
		}
		c.PreviousID, c.DepartmentID, c.AssigneeID, c.ClosedBy = prev.String, dep.String, assignee.String, closedBy.String
		c.QueuedAt, c.AssignedAt, c.ClosedAt, c.LastMessageAt = timePtr(queued), timePtr(assigned), timePtr(closed), timePtr(lastMsg)
		if c.Status == Queued && c.QueuedAt != nil {
			it.WaitSeconds = int64(now.Sub(*c.QueuedAt) / time.Second)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Mine lists the conversations assigned to an agent, newest activity first.
func (s *Service) Mine(ctx context.Context, tenantID, userID string) ([]InboxItem, error) {
	return s.items(ctx, `WHERE c.tenant_id = $2 AND c.assignee_id = $1 AND c.status = 'assigned'
		ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 200`, userID, tenantID)
}

// Queue lists the conversations waiting for an agent, longest waiting first.
func (s *Service) Queue(ctx context.Context, tenantID, readerID string) ([]InboxItem, error) {
	return s.items(ctx, `WHERE c.tenant_id = $2 AND c.status IN ('queued', 'open')
		ORDER BY COALESCE(c.queued_at, c.created_at), c.id LIMIT 500`, readerID, tenantID)
}

// AllOpen lists every conversation that is not closed (supervisors).
func (s *Service) AllOpen(ctx context.Context, tenantID, readerID string) ([]InboxItem, error) {
	return s.items(ctx, `WHERE c.tenant_id = $2 AND c.status <> 'closed'
		ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 1000`, readerID, tenantID)
}

// Earlier lists a visitor's other conversations, newest first.
func (s *Service) Earlier(ctx context.Context, tenantID, visitorID, exceptID, readerID string) ([]InboxItem, error) {
	return s.items(ctx, `WHERE c.tenant_id = $2 AND c.visitor_id = $3 AND c.id <> $4
		ORDER BY c.created_at DESC, c.id DESC LIMIT 20`, readerID, tenantID, visitorID, exceptID)
}

// HistoryFilter narrows the search over closed conversations. Empty
// fields do not filter.
type HistoryFilter struct {
	Text         string // in any message or note
	Visitor      string // visitor name
	Email        string // visitor email
	TagID        string
	DepartmentID string
	AgentID      string
	From, To     time.Time // on closed_at; To is exclusive
	Cursor       string
	Limit        int
}

// likePattern makes a case-insensitive substring pattern; LIKE's own
// wildcards in what the user typed match literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// textMatch is the one engine-specific part of history search: the
// condition that a conversation has a message containing text. Both
// engines keep a trigram index over messages.body_lc (migration 0011):
// SQLite an FTS5 table fed in batches (0017), which it uses for a LIKE
// without ESCAPE; PostgreSQL
// a pg_trgm GIN index, used by LIKE as is. Text with LIKE's own wildcard
// characters takes the portable path: a scan of each candidate's messages,
// newest conversations first, which stops as soon as a page is full.
func (s *Service) textMatch(ctx context.Context, text string) (cond string, pattern string, err error) {
	lc := strings.ToLower(text)
	scan := `EXISTS (SELECT 1 FROM messages sm WHERE sm.conversation_id = c.id AND sm.body_lc LIKE ? ESCAPE '\')`
	if strings.ContainsAny(lc, `%_\`) {
		return scan, likePattern(text), nil
	}
	switch s.db.Dialect {
	case db.SQLite:
		// The index answers with every matching message. For common words
		// that is most of the history, and the scan, which stops at a full
		// page, is faster: count matches up to a bound to choose.
		var n int
		if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM messages_search WHERE body_lc LIKE $1 LIMIT $2)`,
			"%"+lc+"%", commonMatches).Scan(&n); err != nil {
			return "", "", err
		}
		if n >= commonMatches {
			return scan, likePattern(text), nil
		}
		// Messages still queued for the index (IndexSearch) are read
		// from the queue.
		return `c.id IN (SELECT ms.conversation_id FROM messages_search ms WHERE ms.body_lc LIKE ?
			UNION ALL SELECT mp.conversation_id FROM messages_search_pending mp WHERE mp.body_lc LIKE ?)`, "%" + lc + "%", nil
	case db.Postgres:
		// $2 is the tenant (History's second argument). Not correlated
		// with c, so PostgreSQL runs it once, on the trigram index.
		return `c.id IN (SELECT sm.conversation_id FROM messages sm WHERE sm.tenant_id = $2 AND sm.body_lc LIKE ?)`, "%" + lc + "%", nil
	}
	return scan, likePattern(text), nil
}

// commonMatches is how many matching messages make a word common enough
// that scanning the newest conversations finds a page sooner than the index.
const commonMatches = 2000

// History searches the tenant's closed conversations, newest closed first.
// It pages by (closed_at, id) with an opaque cursor. The tenant, status
// and time range use the conversations_history index; text filters are
// portable LIKEs on columns lower-cased in Go.
func (s *Service) History(ctx context.Context, tenantID, readerID string, f HistoryFilter) ([]InboxItem, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	args := []any{readerID, tenantID}
	where := `WHERE c.tenant_id = $2 AND c.status = 'closed'`
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.ReplaceAll(cond, "?", placeholder(len(args)))
	}
	check := func(field, v string) (string, error) {
		v = strings.TrimSpace(v)
		if len([]rune(v)) > 200 {
			return "", apperr.FieldError(field, "%s must be at most 200 characters", field)
		}
		return v, nil
	}
	var err error
	if f.Text, err = check("q", f.Text); err != nil {
		return nil, "", err
	}
	if f.Visitor, err = check("visitor", f.Visitor); err != nil {
		return nil, "", err
	}
	if f.Email, err = check("email", f.Email); err != nil {
		return nil, "", err
	}
	for field, v := range map[string]string{"tag": f.TagID, "department": f.DepartmentID, "agent": f.AgentID} {
		if v != "" && !id.Valid(v) {
			return nil, "", apperr.FieldError(field, "%s must be an id", field)
		}
	}
	if !f.From.IsZero() {
		add("c.closed_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("c.closed_at < ?", f.To)
	}
	if f.DepartmentID != "" {
		add("c.department_id = ?", f.DepartmentID)
	}
	if f.AgentID != "" {
		add("c.assignee_id = ?", f.AgentID)
	}
	if f.Visitor != "" {
		add(`lower(v.name) LIKE ? ESCAPE '\'`, likePattern(f.Visitor))
	}
	if f.Email != "" {
		add(`lower(v.email) LIKE ? ESCAPE '\'`, likePattern(f.Email))
	}
	if f.TagID != "" {
		add("EXISTS (SELECT 1 FROM conversation_tags ct WHERE ct.conversation_id = c.id AND ct.tag_id = ?)", f.TagID)
	}
	if f.Text != "" {
		if len([]rune(f.Text)) < 2 {
			return nil, "", apperr.FieldError("q", "search for at least 2 characters")
		}
		cond, pattern, err := s.textMatch(ctx, f.Text)
		if err != nil {
			return nil, "", err
		}
		add(cond, pattern)
	}
	if f.Cursor != "" {
		at, cid, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, cid)
		n := len(args)
		where += " AND (c.closed_at < " + placeholder(n-1) + " OR (c.closed_at = " + placeholder(n-1) + " AND c.id < " + placeholder(n) + "))"
	}
	args = append(args, f.Limit+1)
	items, err := s.items(ctx, where+" ORDER BY c.closed_at DESC, c.id DESC LIMIT "+placeholder(len(args)), args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) > f.Limit {
		items = items[:f.Limit]
		last := items[len(items)-1]
		next = encodeCursor(*last.ClosedAt, last.ID)
	}
	return items, next, nil
}

func encodeCursor(t time.Time, cid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + cid))
}

func decodeCursor(s string) (time.Time, string, error) {
	bad := apperr.FieldError("cursor", "cursor is not one this server gave")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", bad
	}
	ts, cid, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || !id.Valid(cid) {
		return time.Time{}, "", bad
	}
	return t, cid, nil
}

// Loads counts the conversations assigned to each agent of the tenant.
func (s *Service) Loads(ctx context.Context, tenantID string) (map[string]int, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT assignee_id, COUNT(*) FROM conversations
		WHERE tenant_id = $1 AND status = 'assigned' GROUP BY assignee_id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var uid string
		var n int
		if err := rows.Scan(&uid, &n); err != nil {
			return nil, err
		}
		out[uid] = n
	}
	return out, rows.Err()
}

// Load counts the conversations assigned to one agent.
func (s *Service) Load(ctx context.Context, tenantID, userID string) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE tenant_id = $1 AND assignee_id = $2 AND status = 'assigned'`,
		tenantID, userID).Scan(&n)
	return n, err
}

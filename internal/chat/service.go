package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/user"
	"tiski/internal/validate"
)

// Change is what a committed write did, for the realtime layer to announce.
type Change struct {
	Conversation Conversation
	// Messages stored by the write, in sequence order.
	Messages []Message
	// Previous is the status before the write; "" for a new conversation.
	Previous Status
	// PreviousAssignee is the assignee before the write.
	PreviousAssignee string
	// Read is set when a read position moved.
	Read *ReadMark
}

// StatusChanged reports whether the write moved the conversation's status
// or assignee.
func (c Change) StatusChanged() bool {
	return c.Previous != c.Conversation.Status || c.PreviousAssignee != c.Conversation.AssigneeID
}

// ReadMark says a reader has seen their stream up to Seq. AgentSeq and
// VisitorSeq give the same position in each stream's numbering.
type ReadMark struct {
	ReaderKind ActorKind `json:"reader_kind"`
	ReaderID   string    `json:"reader_id"`
	Seq        int64     `json:"seq"`
	AgentSeq   int64     `json:"agent_seq,omitempty"`
	VisitorSeq int64     `json:"visitor_seq,omitempty"`
}

// Notifier hears about committed changes. It must not block.
type Notifier interface {
	Notify(ctx context.Context, c Change)
}

// Service runs the conversation lifecycle.
type Service struct {
	db       *db.DB
	clock    clock.Clock
	notifier Notifier
	log      *slog.Logger
}

func NewService(d *db.DB, c clock.Clock, n Notifier, log *slog.Logger) *Service {
	return &Service{db: d, clock: c, notifier: n, log: log}
}

// SetNotifier replaces the notifier (wiring: the realtime hub needs the
// service and the service needs the hub).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

func (s *Service) notify(ctx context.Context, c Change) {
	if s.notifier != nil {
		s.notifier.Notify(ctx, c)
	}
}

// write runs fn through the group-commit queue, retrying when a concurrent
// writer on another node won a unique-key race (the retry then finds what
// the winner stored).
func (s *Service) write(ctx context.Context, fn db.TxFunc) error {
	var err error
	for range 3 {
		err = s.db.Write(ctx, fn)
		if !db.IsUniqueViolation(err) {
			return err
		}
	}
	return apperr.Wrap(apperr.Conflict, err, "the conversation changed concurrently; retry")
}

// SendInput is a message to send.
type SendInput struct {
	// ConversationID may be empty for visitors: their active conversation is
	// used, or a new one started.
	ConversationID string
	ClientMsgID    string
	Kind           Kind
	Body           string
	Attachment     *Attachment // for Kind File, already stored by the caller
	// Whisper marks a supervisor's note to the agents of the conversation.
	Whisper bool
}

// SendResult is the stored message and its conversation.
type SendResult struct {
	Message      Message
	Conversation Conversation
	// Duplicate is true when the message had been stored before (a retry).
	Duplicate bool
}

func validateSend(a Actor, in *SendInput) error {
	if err := validate.ClientID("id", in.ClientMsgID); err != nil {
		return err
	}
	allowed := []Kind{Text, File}
	if a.Kind == AgentActor {
		allowed = append(allowed, Note)
	}
	if !slices.Contains(allowed, in.Kind) {
		return apperr.FieldError("kind", "kind %q cannot be sent here", in.Kind)
	}
	if in.Whisper && (in.Kind != Note || !a.Supervisor) {
		return apperr.New(apperr.Forbidden, "only supervisors whisper, and a whisper is a note")
	}
	if in.Kind == File {
		if in.Attachment == nil {
			return apperr.FieldError("file", "a file message needs a file")
		}
		if in.Body == "" {
			return nil
		}
	}
	body, err := validate.Multiline("body", in.Body, MaxBodyChars)
	if err != nil {
		return err
	}
	in.Body = body
	return nil
}

// Send stores a message and returns it with its sequence number. A retry
// with the same client message id returns the message stored the first time.
func (s *Service) Send(ctx context.Context, a Actor, in SendInput) (SendResult, error) {
	if a.Kind != VisitorActor && a.Kind != AgentActor {
		return SendResult{}, apperr.New(apperr.Forbidden, "only visitors and agents send messages")
	}
	if err := validateSend(a, &in); err != nil {
		return SendResult{}, err
	}
	if a.Kind == AgentActor && in.ConversationID == "" {
		return SendResult{}, apperr.FieldError("conv", "conv is required")
	}
	var res SendResult
	var change Change
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, change = SendResult{}, Change{}
		now := s.clock.Now()
		var conv Conversation
		var err error
		if in.ConversationID != "" {
			// Read and lock the row in one statement; the rest of the
			// write uses this copy.
			if conv, err = s.lockConversation(ctx, tx, a.TenantID, in.ConversationID); err != nil {
				return err
			}
			if a.Kind == VisitorActor && conv.VisitorID != a.ID {
				return notFound()
			}
		}
		if prev, ok, err := findSent(ctx, tx, a, conv.ID, in.ClientMsgID); err != nil {
			return err
		} else if ok {
			if prev.Kind != in.Kind || prev.Body != in.Body {
				return apperr.FieldError("id", "this message id was used for a different message")
			}
			c, err := getConversation(ctx, tx, a.TenantID, prev.ConversationID)
			res = SendResult{Message: prev, Conversation: c, Duplicate: true}
			return err
		}
		if a.Kind == VisitorActor {
			conv, change, err = s.visitorConversation(ctx, tx, a, conv, now)
		} else {
			conv, err = s.agentConversation(a, conv, in.Kind)
			change.Previous, change.PreviousAssignee = conv.Status, conv.AssigneeID
		}
		if err != nil {
			return err
		}
		m := Message{SenderKind: a.Kind, SenderID: a.ID, SenderName: a.Name, ClientMsgID: in.ClientMsgID,
			Kind: in.Kind, Body: in.Body, Attachment: in.Attachment}
		if in.Whisper {
			m.Data = eventData(map[string]any{"whisper": true})
		}
		if err := appendMessage(ctx, tx, &conv, &m, in.Kind != Note, now); err != nil {
			return err
		}
		res = SendResult{Message: m, Conversation: conv}
		change.Conversation, change.Messages = conv, []Message{m}
		return nil
	})
	if err != nil {
		return SendResult{}, err
	}
	if !res.Duplicate {
		s.notify(ctx, change)
	}
	return res, nil
}

// visitorConversation finds the conversation a visitor's message goes to:
// the one named (already locked) if still going, else the active one, else
// a new one linked to the previous. An open conversation joins the queue.
func (s *Service) visitorConversation(ctx context.Context, tx *sql.Tx, a Actor, named Conversation, now time.Time) (Conversation, Change, error) {
	var change Change
	convID := named.ID
	if convID == "" || named.Status == Closed {
		active, ok, err := activeConversation(ctx, tx, a.TenantID, a.ID)
		if err != nil {
			return active, change, err
		}
		convID = ""
		if ok {
			convID = active.ID
		}
	}
	var conv Conversation
	var err error
	if convID == "" {
		if conv, err = s.startTx(ctx, tx, a, Queued, "", now); err != nil {
			return conv, change, err
		}
		change.Previous = ""
	} else if convID == named.ID {
		conv = named
		change.Previous, change.PreviousAssignee = conv.Status, conv.AssigneeID
	} else {
		if conv, err = s.lockConversation(ctx, tx, a.TenantID, convID); err != nil {
			return conv, change, err
		}
		change.Previous, change.PreviousAssignee = conv.Status, conv.AssigneeID
	}
	if conv.Status == Open {
		conv.Status, conv.QueuedAt, conv.LastActivityAt = Queued, &now, now
		if err := saveConversationState(ctx, tx, conv); err != nil {
			return conv, change, err
		}
		if err := insertEvent(ctx, tx, event{Type: "conversation.queued", Conv: conv, Actor: a}, now); err != nil {
			return conv, change, err
		}
	}
	return conv, change, nil
}

// startTx creates a conversation for the visitor.
func (s *Service) startTx(ctx context.Context, tx *sql.Tx, a Actor, status Status, departmentID string, now time.Time) (Conversation, error) {
	prev, err := latestConversationID(ctx, tx, a.TenantID, a.ID)
	if err != nil {
		return Conversation{}, err
	}
	c := Conversation{ID: id.New(), TenantID: a.TenantID, SiteID: a.SiteID, VisitorID: a.ID, PreviousID: prev,
		Epoch: id.Secret("")[:12], Status: status, DepartmentID: departmentID, CreatedAt: now, LastActivityAt: now}
	if status == Queued {
		c.QueuedAt = &now
	}
	if err := insertConversation(ctx, tx, c); err != nil {
		return c, err
	}
	if err := insertEvent(ctx, tx, event{Type: "conversation.created", Conv: c, Actor: a}, now); err != nil {
		return c, err
	}
	if status == Queued {
		err = insertEvent(ctx, tx, event{Type: "conversation.queued", Conv: c, Actor: a}, now)
	}
	return c, err
}

// agentConversation checks that an agent may write to the conversation
// (locked by the caller): notes go anywhere in the tenant; messages to the
// visitor need the conversation assigned to the agent (or a supervisor
// joining).
func (s *Service) agentConversation(a Actor, conv Conversation, kind Kind) (Conversation, error) {
	if kind == Note {
		return conv, nil
	}
	if conv.Status == Closed {
		return conv, apperr.New(apperr.Conflict, "the conversation is closed")
	}
	if conv.AssigneeID != a.ID && !a.Supervisor {
		return conv, apperr.New(apperr.Conflict, "the conversation is not assigned to you; take it first")
	}
	return conv, nil
}

// Start opens a conversation for a visitor before their first message (a
// pre-chat form chose a department). It returns the active conversation if
// there is one.
func (s *Service) Start(ctx context.Context, a Actor, departmentID string) (Conversation, error) {
	if a.Kind != VisitorActor {
		return Conversation{}, apperr.New(apperr.Forbidden, "only visitors start conversations")
	}
	var conv Conversation
	var created bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		created = false
		if departmentID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE tenant_id = $1 AND id = $2`, a.TenantID, departmentID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return apperr.FieldError("department_id", "no such department")
			}
		}
		active, ok, err := activeConversation(ctx, tx, a.TenantID, a.ID)
		if err != nil || ok {
			conv = active
			return err
		}
		conv, err = s.startTx(ctx, tx, a, Open, departmentID, s.clock.Now())
		created = err == nil
		return err
	})
	if err == nil && created {
		s.notify(ctx, Change{Conversation: conv})
	}
	return conv, err
}

func eventData(v map[string]any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// Assign gives a conversation to an agent: an agent taking it from the
// queue (toUserID empty or their own id), or a transfer to a colleague with
// an optional internal note. The target's cap is enforced under a row lock.
func (s *Service) Assign(ctx context.Context, a Actor, convID, toUserID, note string) (Conversation, error) {
	if a.Kind != AgentActor && a.Kind != SystemActor {
		return Conversation{}, apperr.New(apperr.Forbidden, "only agents assign conversations")
	}
	if toUserID == "" {
		if a.Kind == SystemActor {
			return Conversation{}, apperr.FieldError("agent_id", "agent_id is required")
		}
		toUserID = a.ID
	}
	note, err := validate.Text("note", note, MaxCommentChars, false)
	if err != nil {
		return Conversation{}, err
	}
	var change Change
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		change = Change{}
		now := s.clock.Now()
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		change.Previous, change.PreviousAssignee = conv.Status, conv.AssigneeID
		if conv.Status == Closed {
			return apperr.New(apperr.Conflict, "the conversation is closed")
		}
		if conv.AssigneeID == toUserID {
			change.Conversation = conv
			return nil
		}
		if a.Kind == AgentActor && !a.Supervisor {
			if conv.Status == Assigned && conv.AssigneeID != a.ID {
				return apperr.New(apperr.Conflict, "another agent has this conversation")
			}
			if toUserID != a.ID && conv.AssigneeID != a.ID {
				return apperr.New(apperr.Forbidden, "only a supervisor can assign a conversation to someone else")
			}
		}
		target, err := user.LockForAssignment(ctx, tx, a.TenantID, toUserID)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.FieldError("agent_id", "no such agent")
			}
			return err
		}
		if target.Disabled {
			return apperr.FieldError("agent_id", "that account is disabled")
		}
		var load int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE tenant_id = $1 AND assignee_id = $2 AND status = 'assigned'`,
			a.TenantID, toUserID).Scan(&load); err != nil {
			return err
		}
		if load >= target.MaxChats {
			return apperr.New(apperr.Conflict, "%s is at capacity (%d/%d)", target.Name, load, target.MaxChats)
		}
		from := conv.AssigneeID
		var fromName string
		if from != "" {
			if prev, err := user.GetTx(ctx, tx, a.TenantID, from); err == nil {
				fromName = prev.Name
			}
		}
		conv.Status, conv.AssigneeID, conv.LastActivityAt = Assigned, toUserID, now
		if conv.AssignedAt == nil {
			conv.AssignedAt = &now
		}
		if err := saveConversationState(ctx, tx, conv); err != nil {
			return err
		}
		ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventJoined,
			Data: eventData(map[string]any{"agent_id": target.ID, "agent_name": target.Name})}
		evType := "conversation.assigned"
		if from != "" {
			ev.Event, evType = EventTransferred, "conversation.transferred"
			ev.Data = eventData(map[string]any{"from_id": from, "from_name": fromName, "agent_id": target.ID, "agent_name": target.Name})
		}
		if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
			return err
		}
		change.Messages = append(change.Messages, ev)
		if note != "" && a.Kind == AgentActor {
			n := Message{SenderKind: AgentActor, SenderID: a.ID, SenderName: a.Name, Kind: Note, Body: note}
			if err := appendMessage(ctx, tx, &conv, &n, false, now); err != nil {
				return err
			}
			change.Messages = append(change.Messages, n)
		}
		change.Conversation = conv
		return insertEvent(ctx, tx, event{Type: evType, Conv: conv, Actor: a, Data: map[string]any{"from": from, "to": toUserID}}, now)
	})
	if err != nil {
		return Conversation{}, err
	}
	if change.StatusChanged() {
		s.notify(ctx, change)
	}
	return change.Conversation, nil
}

// Release puts an assigned conversation back in the queue (the agent went
// away, or handed it back).
func (s *Service) Release(ctx context.Context, a Actor, convID string) (Conversation, error) {
	if a.Kind != AgentActor && a.Kind != SystemActor {
		return Conversation{}, apperr.New(apperr.Forbidden, "only agents release conversations")
	}
	var change Change
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		change = Change{}
		now := s.clock.Now()
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		change.Previous, change.PreviousAssignee, change.Conversation = conv.Status, conv.AssigneeID, conv
		if conv.Status != Assigned {
			return apperr.New(apperr.Conflict, "the conversation is not assigned")
		}
		if a.Kind == AgentActor && conv.AssigneeID != a.ID && !a.Supervisor {
			return apperr.New(apperr.Forbidden, "only its agent or a supervisor can release a conversation")
		}
		from := conv.AssigneeID
		conv.Status, conv.AssigneeID, conv.QueuedAt, conv.LastActivityAt = Queued, "", &now, now
		if err := saveConversationState(ctx, tx, conv); err != nil {
			return err
		}
		ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventLeft, Data: eventData(map[string]any{"agent_id": from})}
		if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
			return err
		}
		change.Conversation, change.Messages = conv, []Message{ev}
		return insertEvent(ctx, tx, event{Type: "conversation.released", Conv: conv, Actor: a, Data: map[string]any{"from": from}}, now)
	})
	if err != nil {
		return Conversation{}, err
	}
	s.notify(ctx, change)
	return change.Conversation, nil
}

// Close ends a conversation. Closing a closed conversation changes nothing.
func (s *Service) Close(ctx context.Context, a Actor, convID string) (Conversation, error) {
	var change Change
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		change = Change{}
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		change.Previous, change.PreviousAssignee, change.Conversation = conv.Status, conv.AssigneeID, conv
		switch a.Kind {
		case VisitorActor:
			if conv.VisitorID != a.ID {
				return notFound()
			}
		case AgentActor:
			if conv.Status == Assigned && conv.AssigneeID != a.ID && !a.Supervisor {
				return apperr.New(apperr.Forbidden, "only its agent or a supervisor can close this conversation")
			}
		}
		if conv.Status == Closed {
			return nil
		}
		conv, change.Messages, err = closeTx(ctx, tx, conv, a, s.clock.Now())
		change.Conversation = conv
		return err
	})
	if err != nil {
		return Conversation{}, err
	}
	if change.StatusChanged() {
		s.notify(ctx, change)
	}
	return change.Conversation, nil
}

func closeTx(ctx context.Context, tx *sql.Tx, conv Conversation, a Actor, now time.Time) (Conversation, []Message, error) {
	by := string(a.Kind)
	if a.Kind == SystemActor {
		by = "timeout"
	}
	conv.Status, conv.ClosedBy, conv.ClosedAt, conv.LastActivityAt = Closed, by, &now, now
	if err := saveConversationState(ctx, tx, conv); err != nil {
		return conv, nil, err
	}
	ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventClosed, Data: eventData(map[string]any{"by": by})}
	if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
		return conv, nil, err
	}
	return conv, []Message{ev}, insertEvent(ctx, tx, event{Type: "conversation.closed", Conv: conv, Actor: a, Data: map[string]any{"by": by}}, now)
}

// inactiveQuery finds idle conversations. Its condition implies the partial
// indexes of open conversations (0001, 0015), so it reads the few open ones
// and no index over all conversations' activity has to move with every
// message.
const inactiveQuery = `SELECT tenant_id, id FROM conversations
	WHERE status <> 'closed' AND last_activity_at < $1 ORDER BY last_activity_at LIMIT 200`

// CloseInactive closes conversations without activity since idle ago and
// returns how many it closed. Safe to run on every node at once: each close
// re-checks the condition under the row lock.
func (s *Service) CloseInactive(ctx context.Context, idle time.Duration) (int, error) {
	cutoff := s.clock.Now().Add(-idle)
	rows, err := s.db.Read().QueryContext(ctx, inactiveQuery, cutoff)
	if err != nil {
		return 0, err
	}
	type key struct{ tenant, id string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.tenant, &k.id); err != nil {
			rows.Close()
			return 0, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	closed := 0
	for _, k := range keys {
		var change Change
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			change = Change{}
			conv, err := s.lockConversation(ctx, tx, k.tenant, k.id)
			if err != nil || conv.Status == Closed || !conv.LastActivityAt.Before(cutoff) {
				return err
			}
			change.Previous, change.PreviousAssignee = conv.Status, conv.AssigneeID
			change.Conversation, change.Messages, err = closeTx(ctx, tx, conv, Actor{Kind: SystemActor, TenantID: k.tenant}, s.clock.Now())
			return err
		})
		if err != nil {
			return closed, err
		}
		if change.Conversation.ID != "" {
			closed++
			s.notify(ctx, change)
		}
	}
	return closed, nil
}

// Rate stores the visitor's smiley rating (the latest one counts) and adds
// a rated event to the conversation.
func (s *Service) Rate(ctx context.Context, a Actor, convID, score, comment string) (Rating, error) {
	if a.Kind != VisitorActor {
		return Rating{}, apperr.New(apperr.Forbidden, "only the visitor rates a conversation")
	}
	if err := validate.OneOf("score", score, Scores...); err != nil {
		return Rating{}, err
	}
	comment, err := validate.Text("comment", comment, MaxCommentChars, false)
	if err != nil {
		return Rating{}, err
	}
	var r Rating
	var change Change
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.clock.Now()
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		if conv.VisitorID != a.ID {
			return notFound()
		}
		if conv.LastSeq == 0 {
			return apperr.New(apperr.Conflict, "there is nothing to rate yet")
		}
		change = Change{Previous: conv.Status, PreviousAssignee: conv.AssigneeID}
		r = Rating{ConversationID: conv.ID, Score: score, Comment: comment, AgentID: conv.AssigneeID, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ratings (conversation_id, tenant_id, site_id, visitor_id, agent_id, score, comment, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
			ON CONFLICT (conversation_id) DO UPDATE SET score = excluded.score, comment = excluded.comment, updated_at = excluded.updated_at`,
			conv.ID, conv.TenantID, conv.SiteID, conv.VisitorID, nullString(conv.AssigneeID), score, comment, now); err != nil {
			return err
		}
		ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventRated, Data: eventData(map[string]any{"score": score, "comment": comment})}
		if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
			return err
		}
		change.Conversation, change.Messages = conv, []Message{ev}
		return insertEvent(ctx, tx, event{Type: "conversation.rated", Conv: conv, Actor: a, Data: map[string]any{"score": score}}, now)
	})
	if err != nil {
		return Rating{}, err
	}
	s.notify(ctx, change)
	return r, nil
}

// MarkRead records that the actor has seen the conversation up to seq (in
// their own stream's numbers). Positions only move forward.
func (s *Service) MarkRead(ctx context.Context, a Actor, convID string, seq int64) error {
	if a.Kind != VisitorActor && a.Kind != AgentActor {
		return apperr.New(apperr.Forbidden, "only visitors and agents read")
	}
	var change Change
	var moved bool
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		conv, err := getConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		last := conv.LastSeq
		if a.Kind == VisitorActor {
			if conv.VisitorID != a.ID {
				return notFound()
			}
			last = conv.LastVisitorSeq
		}
		if seq < 1 || seq > last {
			return apperr.FieldError("seq", "seq must be between 1 and %d", last)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO read_marks (conversation_id, reader_kind, reader_id, seq, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (conversation_id, reader_kind, reader_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
			WHERE read_marks.seq < excluded.seq`, conv.ID, string(a.Kind), a.ID, seq, s.clock.Now())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		moved = n > 0
		mark := &ReadMark{ReaderKind: a.Kind, ReaderID: a.ID, Seq: seq}
		// Translate the position into the other stream's numbering.
		if a.Kind == VisitorActor {
			mark.VisitorSeq = seq
			err = tx.QueryRowContext(ctx, `SELECT seq FROM messages WHERE conversation_id = $1 AND seq >= $2 AND visitor_seq = $2
				ORDER BY seq LIMIT 1`, conv.ID, seq).Scan(&mark.AgentSeq)
		} else {
			mark.AgentSeq = seq
			var v sql.NullInt64
			err = tx.QueryRowContext(ctx, `SELECT (SELECT visitor_seq FROM messages WHERE conversation_id = $1 AND seq <= $2
				AND visitor_seq IS NOT NULL ORDER BY seq DESC LIMIT 1)`, conv.ID, seq).Scan(&v)
			mark.VisitorSeq = v.Int64
		}
		change = Change{Conversation: conv, Previous: conv.Status, PreviousAssignee: conv.AssigneeID, Read: mark}
		return err
	})
	if err == nil && moved {
		s.notify(ctx, change)
	}
	return err
}

// RotateEpochs gives every conversation stream a new epoch, after the data
// was restored from a backup: clients holding newer messages than the
// restored database must throw their copies away rather than trust them.
func (s *Service) RotateEpochs(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET epoch = $1`, id.Secret("")[:12])
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

package chat

import (
	"context"
	"database/sql"

	"tiski/internal/apperr"
	"tiski/internal/id"
	"tiski/internal/mail"
	"tiski/internal/validate"
)

// Console operations beside the core lifecycle: transfer to a department,
// supervisors joining, participants, transcripts.

// mayHandle reports whether an agent may act on a conversation as its
// handler: the assignee, a participant, or a supervisor.
func mayHandle(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, a Actor, conv Conversation) (bool, error) {
	if a.Supervisor || (conv.AssigneeID != "" && conv.AssigneeID == a.ID) {
		return true, nil
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2`,
		conv.ID, a.ID).Scan(&n)
	return n > 0, err
}

// TransferToDepartment puts a conversation back in the queue for another
// department, with an optional internal note for whoever takes it.
func (s *Service) TransferToDepartment(ctx context.Context, a Actor, convID, departmentID, note string) (Conversation, error) {
	if a.Kind != AgentActor {
		return Conversation{}, apperr.New(apperr.Forbidden, "only agents transfer conversations")
	}
	note, err := validate.Text("note", note, MaxCommentChars, false)
	if err != nil {
		return Conversation{}, err
	}
	if !id.Valid(departmentID) {
		return Conversation{}, apperr.FieldError("department_id", "no such department")
	}
	var change Change
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		change = Change{}
		now := s.clock.Now()
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		change.Previous, change.PreviousAssignee, change.Conversation = conv.Status, conv.AssigneeID, conv
		if conv.Status == Closed {
			return apperr.New(apperr.Conflict, "the conversation is closed")
		}
		if conv.Status == Assigned {
			ok, err := mayHandle(ctx, tx, a, conv)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.New(apperr.Forbidden, "only its agent or a supervisor can transfer this conversation")
			}
		}
		var depName string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM departments WHERE tenant_id = $1 AND id = $2`, a.TenantID, departmentID).
			Scan(&depName); err != nil {
			if err == sql.ErrNoRows {
				return apperr.FieldError("department_id", "no such department")
			}
			return err
		}
		from := conv.AssigneeID
		conv.Status, conv.AssigneeID, conv.DepartmentID, conv.QueuedAt, conv.LastActivityAt = Queued, "", departmentID, &now, now
		if err := saveConversationState(ctx, tx, conv); err != nil {
			return err
		}
		ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventTransferred,
			Data: eventData(map[string]any{"from_id": from, "department_id": departmentID, "department_name": depName})}
		if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
			return err
		}
		change.Messages = []Message{ev}
		if note != "" {
			n := Message{SenderKind: AgentActor, SenderID: a.ID, SenderName: a.Name, Kind: Note, Body: note}
			if err := appendMessage(ctx, tx, &conv, &n, false, now); err != nil {
				return err
			}
			change.Messages = append(change.Messages, n)
		}
		change.Conversation = conv
		return insertEvent(ctx, tx, event{Type: "conversation.transferred", Conv: conv, Actor: a,
			Data: map[string]any{"from": from, "department": departmentID}}, now)
	})
	if err != nil {
		return Conversation{}, err
	}
	s.notify(ctx, change)
	return change.Conversation, nil
}

// Participant is an agent who joined a conversation beside its assignee.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Join adds a supervisor to a conversation as a participant; the assignee
// stays. The visitor sees a "joined" event. Joining twice changes nothing.
func (s *Service) Join(ctx context.Context, a Actor, convID string) (Conversation, error) {
	if a.Kind != AgentActor || !a.Supervisor {
		return Conversation{}, apperr.New(apperr.Forbidden, "only supervisors join conversations")
	}
	var change Change
	joined := false
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		change, joined = Change{}, false
		now := s.clock.Now()
		conv, err := s.lockConversation(ctx, tx, a.TenantID, convID)
		if err != nil {
			return err
		}
		change.Previous, change.PreviousAssignee, change.Conversation = conv.Status, conv.AssigneeID, conv
		if conv.Status == Closed {
			return apperr.New(apperr.Conflict, "the conversation is closed")
		}
		if conv.AssigneeID == a.ID {
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO conversation_participants (conversation_id, user_id, tenant_id, joined_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, conv.ID, a.ID, a.TenantID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		joined = true
		ev := Message{SenderKind: SystemActor, Kind: Event, Event: EventJoined,
			Data: eventData(map[string]any{"agent_id": a.ID, "agent_name": a.Name, "as": "participant"})}
		if err := appendMessage(ctx, tx, &conv, &ev, true, now); err != nil {
			return err
		}
		change.Conversation, change.Messages = conv, []Message{ev}
		return insertEvent(ctx, tx, event{Type: "conversation.joined", Conv: conv, Actor: a}, now)
	})
	if err != nil {
		return Conversation{}, err
	}
	if joined {
		s.notify(ctx, change)
	}
	return change.Conversation, nil
}

// Participants lists who joined a conversation beside its assignee.
func (s *Service) Participants(ctx context.Context, tenantID, convID string) ([]Participant, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT u.id, u.name FROM conversation_participants p JOIN users u ON u.id = p.user_id
		WHERE p.tenant_id = $1 AND p.conversation_id = $2 ORDER BY p.joined_at, u.id`, tenantID, convID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Participant{}
	for rows.Next() {
		var p Participant
		if err := rows.Scan(&p.ID, &p.Name); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MayHandle reports whether the agent may act on the conversation as its
// handler (assignee, participant or supervisor).
func (s *Service) MayHandle(ctx context.Context, a Actor, conv Conversation) (bool, error) {
	return mayHandle(ctx, s.db.Read(), a, conv)
}

// VisitorStream returns every message of a conversation that its visitor
// can see, in order: the content of a transcript. Notes are never in it.
func (s *Service) VisitorStream(ctx context.Context, tenantID, convID string) ([]Message, error) {
	return queryMessages(ctx, s.db.Read(), `WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.visitor_seq IS NOT NULL
		ORDER BY m.seq LIMIT 10000`, tenantID, convID)
}

// QueueMail stores an email about a conversation in the outbox together
// with an audit event, in one transaction.
func (s *Service) QueueMail(ctx context.Context, a Actor, conv Conversation, kind string, m mail.Message) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.clock.Now()
		if err := mail.Enqueue(ctx, tx, conv.TenantID, kind, m, now); err != nil {
			return err
		}
		return insertEvent(ctx, tx, event{Type: "conversation." + kind, Conv: conv, Actor: a, Data: map[string]any{"to": m.To}}, now)
	})
}

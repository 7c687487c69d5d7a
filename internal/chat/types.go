// Package chat is the conversation domain: conversations move open → queued
// → assigned → closed, and every message gets a gapless per-conversation
// sequence number in the same transaction that stores it. Nothing is
// acknowledged or announced before it is committed.
package chat

import (
	"encoding/json"
	"time"
)

// Status is where a conversation is in its life.
type Status string

const (
	// Open: started (e.g. a pre-chat form was sent) but nobody asked yet.
	Open Status = "open"
	// Queued: the visitor is waiting for an agent.
	Queued Status = "queued"
	// Assigned: an agent owns the conversation.
	Assigned Status = "assigned"
	// Closed: over; a visitor who writes again starts a new conversation.
	Closed Status = "closed"
)

// ActorKind tells who acts or sends.
type ActorKind string

const (
	VisitorActor ActorKind = "visitor"
	AgentActor   ActorKind = "agent"
	SystemActor  ActorKind = "system"
)

// Actor is the authenticated party behind a request. Every operation takes
// one and is scoped by its tenant.
type Actor struct {
	Kind     ActorKind
	ID       string // visitor or user id; empty for the system
	TenantID string
	SiteID   string // visitors only
	Name     string
	// Supervisor is true for agents whose role lets them act on any
	// conversation of the tenant (supervisor, admin, owner).
	Supervisor bool
}

// Kind is what a message carries.
type Kind string

const (
	Text  Kind = "text"  // plain text, never interpreted as markup
	File  Kind = "file"  // an attachment, with an optional caption
	Event Kind = "event" // a system event: joined, transferred, closed, rated…
	Note  Kind = "note"  // an internal note; visitors never see it
)

// Events carried by Event messages.
const (
	EventStarted     = "started"
	EventJoined      = "joined"
	EventTransferred = "transferred"
	EventLeft        = "left"
	EventClosed      = "closed"
	EventRated       = "rated"
)

// Conversation is one chat between a visitor and the team.
type Conversation struct {
	ID           string `json:"id"`
	TenantID     string `json:"-"`
	SiteID       string `json:"site_id"`
	VisitorID    string `json:"visitor_id"`
	PreviousID   string `json:"previous_id,omitempty"`
	Epoch        string `json:"epoch"`
	Status       Status `json:"status"`
	DepartmentID string `json:"department_id,omitempty"`
	AssigneeID   string `json:"assignee_id,omitempty"`
	// LastSeq numbers every message; LastVisitorSeq those the visitor sees.
	LastSeq        int64      `json:"last_seq"`
	LastVisitorSeq int64      `json:"last_visitor_seq"`
	ClosedBy       string     `json:"closed_by,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	QueuedAt       *time.Time `json:"queued_at,omitempty"`
	AssignedAt     *time.Time `json:"assigned_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	LastMessageAt  *time.Time `json:"last_message_at,omitempty"`
	LastActivityAt time.Time  `json:"last_activity_at"`
}

// Attachment describes a stored file.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"-"`
	StorageKey  string `json:"-"`
}

// Message is one entry of a conversation's stream.
type Message struct {
	ID             string          `json:"id"`
	TenantID       string          `json:"tenant_id"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	VisitorSeq     int64           `json:"visitor_seq,omitempty"` // 0: hidden from the visitor
	SenderKind     ActorKind       `json:"sender_kind"`
	SenderID       string          `json:"sender_id"`
	SenderName     string          `json:"sender_name"`
	ClientMsgID    string          `json:"client_msg_id,omitempty"`
	Kind           Kind            `json:"kind"`
	Body           string          `json:"body"`
	Event          string          `json:"event,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
	Attachment     *Attachment     `json:"attachment,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

// VisibleToVisitor reports whether the visitor's stream holds m.
func (m *Message) VisibleToVisitor() bool { return m.VisitorSeq > 0 }

// Rating is a visitor's smiley feedback on a conversation.
type Rating struct {
	ConversationID string    `json:"conversation_id"`
	Score          string    `json:"score"` // good, neutral, bad
	Comment        string    `json:"comment"`
	AgentID        string    `json:"agent_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Scores a rating may have.
var Scores = []string{"good", "neutral", "bad"}

// Limits on what clients send.
const (
	MaxBodyChars    = 5000
	MaxCommentChars = 1000
	MaxPageSize     = 500
)

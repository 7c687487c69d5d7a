package chat

import (
	"encoding/json"
	"time"
)

// Views are what clients see of conversations and messages. Visitors get a
// narrower view than agents: their own stream's numbering, no notes, no
// internal ids they do not need.

// Sender is who wrote a message.
type Sender struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id,omitempty"`
	Name string    `json:"name,omitempty"`
}

// FileView is an attachment with a time-limited download URL.
type FileView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// MessageView is a message as sent to a client.
type MessageView struct {
	ID          string          `json:"id"`
	Seq         int64           `json:"seq"`
	VisitorSeq  int64           `json:"vseq,omitempty"`
	Kind        Kind            `json:"kind"`
	From        Sender          `json:"from"`
	Body        string          `json:"body"`
	Event       string          `json:"event,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	File        *FileView       `json:"file,omitempty"`
	ClientMsgID string          `json:"cmid,omitempty"`
	At          time.Time       `json:"at"`
}

// FileURLer makes download URLs for attachments.
type FileURLer interface {
	FileURL(tenantID string, a Attachment) string
}

func (m *Message) view(files FileURLer) MessageView {
	v := MessageView{ID: m.ID, Kind: m.Kind, From: Sender{Kind: m.SenderKind, Name: m.SenderName},
		Body: m.Body, Event: m.Event, ClientMsgID: m.ClientMsgID, At: m.CreatedAt}
	if (m.Kind == Event || m.Kind == Note) && len(m.Data) > 0 && string(m.Data) != "{}" {
		v.Data = m.Data
	}
	if a := m.Attachment; a != nil {
		v.File = &FileView{ID: a.ID, Name: a.Name, Type: a.ContentType, Size: a.Size}
		if files != nil {
			v.File.URL = files.FileURL(m.TenantID, *a)
		}
	}
	return v
}

// AgentView is the message as agents see it: full stream numbering.
func (m *Message) AgentView(files FileURLer) MessageView {
	v := m.view(files)
	v.Seq, v.VisitorSeq = m.Seq, m.VisitorSeq
	v.From.ID = m.SenderID
	return v
}

// VisitorView is the message as the visitor sees it, numbered in their
// stream. Call only for messages with VisibleToVisitor.
func (m *Message) VisitorView(files FileURLer) MessageView {
	v := m.view(files)
	v.Seq = m.VisitorSeq
	if m.SenderKind != VisitorActor {
		v.ClientMsgID = ""
	}
	return v
}

// VisitorConversationView is what a visitor sees of a conversation.
type VisitorConversationView struct {
	ID         string     `json:"id"`
	Status     Status     `json:"status"`
	Epoch      string     `json:"epoch"`
	LastSeq    int64      `json:"last_seq"`
	PreviousID string     `json:"previous_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
}

// ForVisitor returns the visitor's view of the conversation.
func (c *Conversation) ForVisitor() VisitorConversationView {
	return VisitorConversationView{ID: c.ID, Status: c.Status, Epoch: c.Epoch, LastSeq: c.LastVisitorSeq,
		PreviousID: c.PreviousID, CreatedAt: c.CreatedAt, ClosedAt: c.ClosedAt}
}

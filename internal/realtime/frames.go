package realtime

import (
	"context"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/chat"
)

type okFrame struct {
	T   string `json:"t"`
	RID string `json:"rid"`
}

// reply sends a frame back to the client: stored replies (acks, history)
// must arrive; others may be dropped under pressure.
type reply func(frame []byte, stored bool) error

// handleFrame runs one client frame. c is the live connection, or nil when
// the frame came by HTTP POST beside an SSE stream (then replies go back in
// the POST response and stream-bound frames are refused).
func (h *Hub) handleFrame(ctx context.Context, p Principal, c *Conn, f *ClientFrame, out reply) (err error) {
	a := p.Actor
	ok := func() error {
		if f.RID != "" {
			return out(encode(okFrame{T: "ok", RID: f.RID}), true)
		}
		return nil
	}
	if c != nil && f.T != TTyping && f.T != TPing && !c.other.Take() {
		return &apperr.Error{Code: apperr.RateLimited, Message: "too many frames; slow down", RetryAfter: 1}
	}
	switch f.T {
	case TSend, TTyping, TRead: // an agent doing something is active
		defer func() {
			if err == nil {
				h.agentActivity(a)
			}
		}()
	}
	switch f.T {
	case THello:
		return apperr.New(apperr.Invalid, "hello is only the first frame of a connection")
	case TPing:
		return out(encode(pongFrame{T: "pong", RID: f.RID, ServerTime: h.clock.Now()}), false)
	case TSend:
		if c != nil && !c.sends.Take() {
			return &apperr.Error{Code: apperr.RateLimited, Message: "sending too fast; slow down", RetryAfter: 1}
		}
		if f.Kind == string(chat.File) {
			return apperr.FieldError("kind", "files are sent by HTTP upload, not in a frame")
		}
		res, err := h.chat.Send(ctx, a, chat.SendInput{ConversationID: f.Conv, ClientMsgID: f.ID, Kind: chat.Kind(f.Kind), Body: f.Body})
		if err != nil {
			return err
		}
		m := &res.Message
		ack := ackFrame{T: "ack", RID: f.RID, ID: f.ID, Conv: m.ConversationID, Dup: res.Duplicate}
		if a.Kind == chat.VisitorActor {
			ack.Seq, ack.M = m.VisitorSeq, m.VisitorView(h.files)
		} else {
			ack.Seq, ack.M = m.Seq, m.AgentView(h.files)
		}
		if c != nil && a.Kind == chat.VisitorActor && !c.following(m.ConversationID) {
			// Follow a conversation this send started before acking, not
			// when the bus's "started" event comes back: across nodes that
			// is a round trip, and the visitor may already type in it.
			zero := int64(0)
			if err := c.follow(m.ConversationID, "", &zero, ""); err != nil {
				c.sendStored(errorFrameFor(err, &ClientFrame{T: TSub, Conv: m.ConversationID}))
			}
		}
		return out(encode(ack), true)
	case TSub:
		if c == nil {
			return apperr.New(apperr.Invalid, "subscribe in the stream's hello; reopen the stream to change subscriptions")
		}
		return c.follow(f.Conv, f.Epoch, f.After, f.RID)
	case TUnsub:
		if c == nil {
			return apperr.New(apperr.Invalid, "reopen the stream to change subscriptions")
		}
		if c.following(f.Conv) {
			c.unfollow(f.Conv)
			c.announce(f.Conv, "offline")
		}
		return ok()
	case TFetch:
		ms, conv, err := h.chat.Messages(ctx, a, f.Conv, *f.After, pageSize(f.Limit))
		if err != nil {
			return err
		}
		last := *f.After
		for i := range ms {
			m := &ms[i]
			var frame []byte
			if a.Kind == chat.VisitorActor {
				frame, last = encode(msgFrame{T: "msg", Conv: conv.ID, Seq: m.VisitorSeq, M: m.VisitorView(h.files)}), m.VisitorSeq
			} else {
				frame, last = encode(msgFrame{T: "msg", Conv: conv.ID, Seq: m.Seq, M: m.AgentView(h.files)}), m.Seq
			}
			if err := out(frame, true); err != nil {
				return err
			}
		}
		end := conv.LastSeq
		if a.Kind == chat.VisitorActor {
			end = conv.LastVisitorSeq
		}
		return out(encode(fetchedFrame{T: "fetched", RID: f.RID, Conv: conv.ID, Seq: last, More: last < end}), true)
	case TTyping:
		if err := h.typing(ctx, p, c, f); err != nil {
			return err
		}
		return ok()
	case TRead:
		if err := h.chat.MarkRead(ctx, a, f.Conv, f.Seq); err != nil {
			return err
		}
		return ok()
	}
	return apperr.FieldError("t", "unknown frame type %q", f.T)
}

func pageSize(limit int) int {
	if limit <= 0 || limit > chat.MaxPageSize {
		return 200
	}
	return limit
}

// typingInterval is the most often one connection's typing is relayed.
const typingInterval = 250 * time.Millisecond

func (h *Hub) typing(ctx context.Context, p Principal, c *Conn, f *ClientFrame) error {
	a := p.Actor
	connID := ""
	if c != nil {
		connID = c.id
		c.mu.Lock()
		fl := c.follows[f.Conv]
		if fl == nil {
			c.mu.Unlock()
			return apperr.New(apperr.Invalid, "subscribe to the conversation before typing in it")
		}
		now := time.Now()
		throttled := *f.On && now.Sub(fl.lastType) < typingInterval
		if !throttled {
			fl.lastType = now
		}
		c.mu.Unlock()
		if throttled {
			return nil
		}
	} else if _, err := h.chat.Get(ctx, a, f.Conv); err != nil {
		return err
	}
	e := &event{T: "typing", Tenant: a.TenantID, ConvID: f.Conv, From: &chat.Sender{Kind: a.Kind, ID: a.ID, Name: a.Name},
		On: *f.On, Conn: connID}
	if a.Kind == chat.VisitorActor && *f.On && f.Text != "" && h.typingPreview(ctx, p) {
		e.Text = f.Text
	}
	h.publish(h.convSubject(a.TenantID, f.Conv), e)
	return nil
}

// HandleFrames runs frames that came by HTTP POST (the SSE fallback's
// upstream) and returns the replies to send in the POST response.
func (h *Hub) HandleFrames(ctx context.Context, p Principal, frames []*ClientFrame) [][]byte {
	var replies [][]byte
	out := func(frame []byte, _ bool) error {
		replies = append(replies, frame)
		return nil
	}
	for _, f := range frames {
		if err := h.handleFrame(ctx, p, nil, f, out); err != nil {
			replies = append(replies, errorFrameFor(err, f))
		}
	}
	return replies
}

package realtime

import (
	"context"
	"sort"
	"sync"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/ratelimit"
)

// Principal is who is behind a connection, as established by the HTTP
// layer (visitor token or agent session).
type Principal struct {
	Actor chat.Actor
	// Session identifies an agent's sign-in, so that logging out closes
	// that session's connections only.
	Session string
	// TypingPreview lets agents see a visitor's draft (a site setting).
	TypingPreview bool
}

// Authenticator turns a connection's hello frame into a principal. Agents
// are already known from their cookie; visitors present their token.
type Authenticator func(ctx context.Context, hello *ClientFrame) (Principal, error)

// WebSocket close codes Tiski uses besides the standard ones.
const (
	CloseUnauthorized = 4001
	CloseBadFrame     = 4002
	CloseForbidden    = 4003
	CloseSlowConsumer = 4008
	CloseTooManyErrs  = 4009
	CloseRevoked      = 4010
	CloseGoingAway    = 1001
)

// transport is the wire under a connection: a WebSocket or an SSE stream.
type transport interface {
	write(ctx context.Context, f outFrame) error
	close(code int, reason string)
}

// Conn is one client connection.
type Conn struct {
	hub    *Hub
	id     string
	p      Principal
	view   view
	ctx    context.Context
	cancel context.CancelFunc
	tr     transport
	q      *outQueue
	sends  *ratelimit.Bucket
	other  *ratelimit.Bucket
	busy   sync.Mutex // held while a frame is handled; shutdown waits on it

	mu       sync.Mutex
	follows  map[string]*follow // by conversation id
	feeds    []string
	closed   bool
	draining bool
	errors   int
}

// follow is a connection's state for one conversation stream.
type follow struct {
	subject   string
	replaying bool
	pending   []*event
	lastType  time.Time // last typing frame relayed, for throttling
}

// maxPending bounds live events held while a replay runs.
const maxPending = 2000

func (h *Hub) newConn(ctx context.Context, p Principal, tr transport) *Conn {
	ctx, cancel := context.WithCancel(ctx)
	c := &Conn{hub: h, id: h.node + "-" + itoa(h.connSeq.Add(1)), p: p, ctx: ctx, cancel: cancel, tr: tr,
		follows: map[string]*follow{},
		sends:   ratelimit.NewBucket(h.opts.SendRate, h.opts.SendBurst),
		other:   ratelimit.NewBucket(50, 200)}
	if p.Actor.Kind == chat.VisitorActor {
		c.view = visitorView
	}
	c.q = newOutQueue(h.opts.QueueFrames, h.opts.QueueBytes,
		func(f outFrame) error { return tr.write(ctx, f) },
		func(error) { c.close(1006, "write failed") })
	return c
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// start registers the connection, greets the client and sets up its
// subscriptions from hello.
func (c *Conn) start(hello *ClientFrame) error {
	if !c.hub.register(c) {
		return apperr.New(apperr.Unavailable, "the server is shutting down; reconnect shortly")
	}
	a := c.p.Actor
	you := chat.Sender{Kind: a.Kind, ID: a.ID, Name: a.Name}
	c.sendStored(encode(welcomeFrame{T: "welcome", V: Version, Conn: c.id, You: you, ServerTime: c.hub.clock.Now()}))
	var feeds []string
	switch a.Kind {
	case chat.VisitorActor:
		feeds = []string{c.hub.visitorSubject(a.TenantID, a.ID)}
	case chat.AgentActor:
		feeds = []string{c.hub.userSubject(a.TenantID, a.ID), c.hub.inboxSubject(a.TenantID)}
	}
	for _, f := range feeds {
		if err := c.hub.subscribe(c, f); err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "cannot subscribe; reconnect shortly")
		}
	}
	c.mu.Lock()
	c.feeds = feeds
	c.mu.Unlock()
	followed := map[string]bool{}
	for _, s := range hello.Subs {
		followed[s.Conv] = true
		after := s.After
		if err := c.follow(s.Conv, s.Epoch, &after, ""); err != nil {
			c.sendStored(errorFrameFor(err, &ClientFrame{T: TSub, Conv: s.Conv}))
		}
	}
	// A visitor always follows their active conversation.
	if a.Kind == chat.VisitorActor {
		if conv, ok, err := c.hub.chat.ActiveConversation(c.ctx, a); err != nil {
			return err
		} else if ok && !followed[conv.ID] {
			zero := int64(0)
			if err := c.follow(conv.ID, "", &zero, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendStored queues a frame the client must get; if it cannot, the
// connection closes and the client resumes.
func (c *Conn) sendStored(frame []byte) {
	if frame != nil && !c.q.push(outFrame{data: frame}) {
		c.hub.SlowConsumers.Add(1)
		c.close(CloseSlowConsumer, "slow consumer: reconnect and resume")
	}
}

func (c *Conn) sendEphemeral(frame []byte) {
	if frame != nil {
		c.q.push(outFrame{data: frame, ephemeral: true})
	}
}

// deliver hands a bus event to this connection.
func (c *Conn) deliver(e *event) {
	switch e.T {
	case "msg":
		frame := e.frame(c.view)
		if frame == nil {
			return
		}
		c.mu.Lock()
		f := c.follows[e.ConvID]
		if f == nil {
			c.mu.Unlock()
			return
		}
		if f.replaying {
			if len(f.pending) >= maxPending {
				c.mu.Unlock()
				c.close(CloseSlowConsumer, "slow consumer: reconnect and resume")
				return
			}
			f.pending = append(f.pending, e)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.sendStored(frame)
	case "conv":
		if !c.following(e.ConvID) && c.view == visitorView {
			return
		}
		c.sendStored(e.frame(c.view))
	case "read":
		c.sendStored(e.frame(c.view))
	case "typing":
		if e.Conn == c.id || c.view == visitorView && e.From.Kind == chat.VisitorActor {
			return
		}
		c.sendEphemeral(e.frame(c.view))
	case "presence":
		if e.Conn != c.id {
			c.sendEphemeral(e.frame(c.view))
		}
	case "who":
		if e.Conn != c.id && c.following(e.ConvID) {
			c.announce(e.ConvID, "online")
		}
	case "started":
		if c.view == visitorView && !c.following(e.ConvID) {
			go func() {
				zero := int64(0)
				if err := c.follow(e.ConvID, "", &zero, ""); err != nil {
					c.sendStored(errorFrameFor(err, &ClientFrame{T: TSub, Conv: e.ConvID}))
				}
			}()
		}
	case "agent", "tags", "offline":
		// Console state: agents only; tags only to those following the chat.
		// Not dropped under pressure, or a board would show stale state.
		frame := e.frame(c.view)
		if frame == nil || e.T == "tags" && !c.following(e.ConvID) {
			return
		}
		c.sendStored(frame)
	case "revoke":
		if e.Session == "" || e.Session == c.p.Session {
			c.close(CloseRevoked, "signed out")
		}
	}
}

func (c *Conn) following(convID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.follows[convID] != nil
}

// announce tells the conversation's other parties this connection's presence.
func (c *Conn) announce(convID, state string) {
	a := c.p.Actor
	c.hub.publish(c.hub.convSubject(a.TenantID, convID), &event{T: "presence", Tenant: a.TenantID, ConvID: convID,
		From: &chat.Sender{Kind: a.Kind, ID: a.ID, Name: a.Name}, Conn: c.id, State: state})
}

// follow subscribes to a conversation stream and replays what the client
// missed. Subscribing comes first, so nothing committed meanwhile falls
// between the replay and live traffic: live events wait in pending until
// the replay ends and are then sent if the replay did not cover them.
func (c *Conn) follow(convID, epoch string, after *int64, rid string) error {
	conv, err := c.hub.chat.Get(c.ctx, c.p.Actor, convID)
	if err != nil {
		return err
	}
	from := int64(0)
	if after != nil {
		from = *after
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return apperr.New(apperr.Unavailable, "connection closed")
	}
	if c.follows[convID] != nil {
		c.mu.Unlock()
		// Already live: just send what the client says it lacks.
		last, err := c.sendRange(conv, from, true)
		if err == nil {
			c.sendStored(encode(syncedFrame{T: "synced", RID: rid, Conv: convID, Epoch: conv.Epoch, Seq: last}))
		}
		return err
	}
	if len(c.follows) >= MaxSubs {
		c.mu.Unlock()
		return apperr.New(apperr.Invalid, "a connection follows at most %d conversations", MaxSubs)
	}
	f := &follow{subject: c.hub.convSubject(conv.TenantID, conv.ID), replaying: true}
	c.follows[convID] = f
	c.mu.Unlock()

	if err := c.hub.subscribe(c, f.subject); err != nil {
		c.unfollow(convID)
		return apperr.Wrap(apperr.Unavailable, err, "cannot subscribe; retry")
	}
	if epoch != "" && epoch != conv.Epoch {
		// The stream was restored or rebuilt: the client's copy is void.
		c.sendStored(encode(resetFrame{T: "reset", Conv: convID, Epoch: conv.Epoch}))
		from = 0
	}
	last, err := c.sendRange(conv, from, true)
	if err != nil {
		c.unfollow(convID)
		return err
	}
	c.mu.Lock()
	pending := f.pending
	f.pending, f.replaying = nil, false
	c.mu.Unlock()
	c.sendStored(encode(syncedFrame{T: "synced", RID: rid, Conv: convID, Epoch: conv.Epoch, Seq: last}))
	sort.SliceStable(pending, func(i, j int) bool { return seqFor(pending[i], c.view) < seqFor(pending[j], c.view) })
	for _, e := range pending {
		if seqFor(e, c.view) > last {
			c.sendStored(e.frame(c.view))
		}
	}
	c.announce(convID, "online")
	a := c.p.Actor
	c.hub.publish(f.subject, &event{T: "who", Tenant: a.TenantID, ConvID: convID, Conn: c.id})
	return nil
}

func seqFor(e *event, v view) int64 {
	if v == visitorView {
		return e.Msg.VisitorSeq
	}
	return e.Msg.Seq
}

// sendRange sends the client's stream of conv after seq, page by page,
// waiting for room in the queue. It returns the last sequence sent (or
// after, if there was nothing). With all it sends to the end, otherwise one
// page.
func (c *Conn) sendRange(conv chat.Conversation, after int64, all bool) (int64, error) {
	last := after
	for {
		ms, _, err := c.hub.chat.Messages(c.ctx, c.p.Actor, conv.ID, last, 200)
		if err != nil {
			return last, err
		}
		for i := range ms {
			m := &ms[i]
			var frame []byte
			if c.view == visitorView {
				frame = encode(msgFrame{T: "msg", Conv: conv.ID, Seq: m.VisitorSeq, M: m.VisitorView(c.hub.files)})
				last = m.VisitorSeq
			} else {
				frame = encode(msgFrame{T: "msg", Conv: conv.ID, Seq: m.Seq, M: m.AgentView(c.hub.files)})
				last = m.Seq
			}
			if err := c.q.pushWait(c.ctx, outFrame{data: frame}); err != nil {
				return last, apperr.New(apperr.Unavailable, "connection closed")
			}
		}
		if len(ms) < 200 {
			return last, nil
		}
		if !all {
			return last, nil
		}
	}
}

func (c *Conn) unfollow(convID string) {
	c.mu.Lock()
	f := c.follows[convID]
	delete(c.follows, convID)
	c.mu.Unlock()
	if f != nil {
		c.hub.unsubscribe(c, f.subject)
	}
}

// close ends the connection once: unsubscribe, tell the others, close the wire.
func (c *Conn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	follows := c.follows
	c.follows = map[string]*follow{}
	feeds := c.feeds
	c.mu.Unlock()
	c.q.close()
	c.cancel()
	for convID, f := range follows {
		c.hub.unsubscribe(c, f.subject)
		c.announce(convID, "offline")
	}
	for _, s := range feeds {
		c.hub.unsubscribe(c, s)
	}
	c.hub.unregister(c)
	c.tr.close(code, reason)
}

// drainAndClose waits for the frame being handled and for queued replies
// to be written, then closes with "going away".
func (c *Conn) drainAndClose(ctx context.Context) {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.busy.Lock()
		c.busy.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	c.q.flush(ctx)
	c.close(CloseGoingAway, "server restarting; reconnect")
}

// handle runs one client frame from a live connection.
func (c *Conn) handle(f *ClientFrame) {
	c.busy.Lock()
	defer c.busy.Unlock()
	c.mu.Lock()
	draining := c.draining
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	if draining {
		c.sendStored(errorFrameFor(apperr.New(apperr.Unavailable, "the server is restarting; resend after reconnecting"), f))
		return
	}
	err := c.hub.handleFrame(c.ctx, c.p, c, f, func(frame []byte, stored bool) error {
		if stored {
			return c.q.pushWait(c.ctx, outFrame{data: frame})
		}
		c.sendEphemeral(frame)
		return nil
	})
	if err != nil {
		c.sendStored(errorFrameFor(err, f))
		c.mu.Lock()
		c.errors++
		tooMany := c.errors > 100
		c.mu.Unlock()
		if tooMany {
			c.close(CloseTooManyErrs, "too many bad frames")
		}
	}
}

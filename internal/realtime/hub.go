package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/id"
)

// Options tune the hub. Zero values pick the defaults.
type Options struct {
	// Prefix namespaces bus subjects (tests and tenants of a shared NATS).
	Prefix string
	// QueueFrames and QueueBytes bound each connection's send queue.
	QueueFrames int
	QueueBytes  int
	// HelloTimeout is how long a new connection has to say hello.
	HelloTimeout time.Duration
	// IdleTimeout closes a connection that sent nothing (not even a ping)
	// for this long.
	IdleTimeout time.Duration
	// SendRate and SendBurst limit messages per connection per second.
	SendRate  float64
	SendBurst int
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = "tiski."
	}
	if o.QueueFrames <= 0 {
		o.QueueFrames = 512
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 4 << 20
	}
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 75 * time.Second
	}
	if o.SendRate <= 0 {
		o.SendRate = 10
	}
	if o.SendBurst <= 0 {
		o.SendBurst = 30
	}
}

// Hub holds this node's connections and their subscriptions, and turns
// committed changes into bus events.
type Hub struct {
	bus   Bus
	chat  *chat.Service
	files chat.FileURLer
	log   *slog.Logger
	clock clock.Clock
	opts  Options
	node  string
	hooks Hooks

	mu       sync.Mutex
	topics   map[string]*topic
	conns    map[*Conn]struct{}
	draining bool
	connSeq  atomic.Uint64

	// unavailable: the bus or the database is out; take no connections.
	unavailable bool

	// Counters for metrics and tests.
	SlowConsumers atomic.Int64
	PublishErrors atomic.Int64
}

type topic struct {
	mu     sync.Mutex // serialises bus (un)subscribe of this subject
	sub    Subscription
	closed bool
	conns  map[*Conn]struct{} // guarded by Hub.mu
}

// NewHub returns a hub publishing and listening on bus.
func NewHub(bus Bus, svc *chat.Service, files chat.FileURLer, c clock.Clock, log *slog.Logger, o Options) *Hub {
	o.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{bus: bus, chat: svc, files: files, clock: c, log: log, opts: o, node: id.Key("")[:8],
		topics: map[string]*topic{}, conns: map[*Conn]struct{}{}}
}

// Subjects. Tenant ids in every subject keep tenants apart on a shared bus.

func (h *Hub) convSubject(tenant, conv string) string {
	return h.opts.Prefix + "t." + tenant + ".c." + conv
}
func (h *Hub) visitorSubject(tenant, v string) string {
	return h.opts.Prefix + "t." + tenant + ".v." + v
}
func (h *Hub) userSubject(tenant, u string) string { return h.opts.Prefix + "t." + tenant + ".u." + u }
func (h *Hub) inboxSubject(tenant string) string   { return h.opts.Prefix + "t." + tenant + ".inbox" }

// event is what travels on the bus.
type event struct {
	T       string             `json:"t"` // msg, conv, typing, read, presence, who, started, revoke
	Tenant  string             `json:"tenant"`
	ConvID  string             `json:"conv_id,omitempty"`
	Conv    *chat.Conversation `json:"conv,omitempty"`
	Msg     *chat.Message      `json:"msg,omitempty"`
	From    *chat.Sender       `json:"from,omitempty"`
	On      bool               `json:"on,omitempty"`
	Text    string             `json:"text,omitempty"`
	Read    *chat.ReadMark     `json:"read,omitempty"`
	Conn    string             `json:"conn,omitempty"` // the connection it came from
	State   string             `json:"state,omitempty"`
	Session string             `json:"session,omitempty"`
	// Data is the payload of console events (agent, tags).
	Data json.RawMessage `json:"data,omitempty"`

	once   [2]sync.Once
	frames [2][]byte
	hub    *Hub
}

type view int

const (
	agentView view = iota
	visitorView
)

// frame encodes the event for one kind of reader, once per event however
// many connections receive it. nil means the reader must not see it.
func (e *event) frame(v view) []byte {
	e.once[v].Do(func() { e.frames[v] = e.encodeFor(v) })
	return e.frames[v]
}

func (e *event) encodeFor(v view) []byte {
	switch e.T {
	case "msg":
		if v == visitorView {
			if !e.Msg.VisibleToVisitor() {
				return nil
			}
			return encode(msgFrame{T: "msg", Conv: e.ConvID, Seq: e.Msg.VisitorSeq, M: e.Msg.VisitorView(e.hub.files)})
		}
		return encode(msgFrame{T: "msg", Conv: e.ConvID, Seq: e.Msg.Seq, M: e.Msg.AgentView(e.hub.files)})
	case "conv":
		if v == visitorView {
			return encode(convFrame{T: "conv", C: e.Conv.ForVisitor()})
		}
		return encode(convFrame{T: "conv", C: e.Conv})
	case "typing":
		tf := typingFrame{T: "typing", Conv: e.ConvID, From: *e.From, On: e.On}
		if v == agentView {
			tf.Text = e.Text
		} else {
			tf.From.ID = ""
		}
		return encode(tf)
	case "read":
		rf := readFrame{T: "read", Conv: e.ConvID, Reader: e.Read.ReaderKind, Seq: e.Read.Seq}
		if v == visitorView {
			if e.Read.ReaderKind == chat.VisitorActor {
				rf.Seq = e.Read.Seq
			} else {
				rf.Seq = e.Read.VisitorSeq
			}
		} else {
			rf.ID = e.Read.ReaderID
			if e.Read.ReaderKind == chat.VisitorActor {
				rf.Seq = e.Read.AgentSeq
			}
		}
		return encode(rf)
	case "presence":
		from := *e.From
		if v == visitorView {
			from.ID = ""
		}
		return encode(presenceFrame{T: "presence", Conv: e.ConvID, From: from, Conn: e.Conn, State: e.State})
	case "agent":
		if v == agentView {
			return encode(agentFrame{T: "agent", A: e.Data})
		}
	case "tags":
		if v == agentView {
			return encode(tagsFrame{T: "tags", Conv: e.ConvID, Tags: e.Data})
		}
	case "offline":
		if v == agentView {
			return encode(offlineFrame{T: "offline", Offline: e.Data})
		}
	}
	return nil
}

func (h *Hub) publish(subject string, e *event) {
	data, err := json.Marshal(e)
	if err != nil {
		h.log.Error("encode bus event", "err", err)
		return
	}
	if err := h.bus.Publish(subject, data); err != nil {
		// At most once: clients heal from the database by sequence.
		h.PublishErrors.Add(1)
		h.mu.Lock()
		draining := h.draining
		h.mu.Unlock()
		if !draining { // connections closing at shutdown may outlive the bus
			h.log.Warn("bus publish failed", "subject", subject, "err", err)
		}
	}
}

// Notify implements chat.Notifier: it announces a committed change.
func (h *Hub) Notify(_ context.Context, ch chat.Change) {
	c := ch.Conversation
	conv := h.convSubject(c.TenantID, c.ID)
	for i := range ch.Messages {
		h.publish(conv, &event{T: "msg", Tenant: c.TenantID, ConvID: c.ID, Msg: &ch.Messages[i]})
	}
	if ch.Read != nil {
		h.publish(conv, &event{T: "read", Tenant: c.TenantID, ConvID: c.ID, Read: ch.Read})
	}
	if ch.Read == nil || ch.StatusChanged() {
		ce := &event{T: "conv", Tenant: c.TenantID, ConvID: c.ID, Conv: &c}
		h.publish(conv, ce)
		// The inbox feed reaches every agent of the tenant: it carries
		// lifecycle changes and activity in the queue, not every message
		// of chats that their agents follow anyway.
		if ch.StatusChanged() || c.Status == chat.Open || c.Status == chat.Queued {
			h.publish(h.inboxSubject(c.TenantID), ce)
		}
	}
	if ch.Previous == "" && ch.Read == nil {
		h.publish(h.visitorSubject(c.TenantID, c.VisitorID), &event{T: "started", Tenant: c.TenantID, ConvID: c.ID, Conv: &c})
	}
}

// Revoke closes every connection of a user, or only those of one session
// when session is not empty, on every node.
func (h *Hub) Revoke(tenantID, userID, session string) {
	h.publish(h.userSubject(tenantID, userID), &event{T: "revoke", Tenant: tenantID, Session: session})
}

func (h *Hub) subscribe(c *Conn, subject string) error {
	h.mu.Lock()
	t := h.topics[subject]
	if t == nil {
		t = &topic{conns: map[*Conn]struct{}{}}
		h.topics[subject] = t
	}
	t.conns[c] = struct{}{}
	h.mu.Unlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sub != nil || t.closed {
		return nil
	}
	sub, err := h.bus.Subscribe(subject, func(data []byte) { h.dispatch(subject, data) })
	if err != nil {
		h.unsubscribe(c, subject)
		return err
	}
	t.sub = sub
	return nil
}

func (h *Hub) unsubscribe(c *Conn, subject string) {
	h.mu.Lock()
	t := h.topics[subject]
	if t == nil {
		h.mu.Unlock()
		return
	}
	delete(t.conns, c)
	empty := len(t.conns) == 0
	if empty {
		delete(h.topics, subject)
	}
	h.mu.Unlock()
	if !empty {
		return
	}
	t.mu.Lock()
	t.closed = true
	if t.sub != nil {
		_ = t.sub.Unsubscribe()
		t.sub = nil
	}
	t.mu.Unlock()
}

// dispatch hands one bus event to every local connection on subject.
func (h *Hub) dispatch(subject string, data []byte) {
	h.mu.Lock()
	t := h.topics[subject]
	if t == nil {
		h.mu.Unlock()
		return
	}
	conns := make([]*Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	e := &event{hub: h}
	if err := json.Unmarshal(data, e); err != nil {
		h.log.Warn("bad bus event", "subject", subject, "err", err)
		return
	}
	if !e.valid() {
		h.log.Warn("incomplete bus event", "subject", subject, "type", e.T)
		return
	}
	for _, c := range conns {
		c.deliver(e)
	}
}

func (e *event) valid() bool {
	switch e.T {
	case "msg":
		return e.Msg != nil && e.ConvID != ""
	case "conv", "started":
		return e.Conv != nil
	case "typing", "presence":
		return e.From != nil && e.ConvID != ""
	case "read":
		return e.Read != nil && e.ConvID != ""
	case "who":
		return e.ConvID != ""
	case "revoke":
		return true
	case "agent", "offline":
		return len(e.Data) > 0
	case "tags":
		return len(e.Data) > 0 && e.ConvID != ""
	}
	return false
}

func (h *Hub) register(c *Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining || h.unavailable {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Hub) unregister(c *Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Connections returns how many clients are connected to this node.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Shutdown stops taking connections, lets every frame being handled finish
// and its reply reach the client, then closes each connection with "going
// away" so clients resume elsewhere or after the restart.
func (h *Hub) Shutdown(ctx context.Context) {
	h.mu.Lock()
	h.draining = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.drainAndClose(ctx)
		}()
	}
	wg.Wait()
}

package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Frame is any frame the server sends.
type Frame struct {
	T          string          `json:"t"`
	RID        string          `json:"rid"`
	ID         string          `json:"id"`
	Conv       string          `json:"conv"`
	Seq        int64           `json:"seq"`
	Epoch      string          `json:"epoch"`
	Dup        bool            `json:"dup"`
	M          *Message        `json:"m"`
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	Field      string          `json:"field"`
	RetryAfter int             `json:"retry_after"`
	More       bool            `json:"more"`
	On         bool            `json:"on"`
	Text       string          `json:"text"`
	From       *Sender         `json:"from"`
	State      string          `json:"state"`
	Reader     string          `json:"reader"`
	Conn       string          `json:"conn"`
	C          json.RawMessage `json:"c"`
	A          json.RawMessage `json:"a"`       // agent: an agent's state (console)
	Tags       json.RawMessage `json:"tags"`    // tags: a conversation's tags (console)
	Offline    json.RawMessage `json:"offline"` // offline: the open offline messages count (console)
}

// StreamOptions tune a Stream.
type StreamOptions struct {
	// Transport is "ws" (default) or "sse" (Server-Sent Events + POST).
	Transport string
	// Follow lists conversations to follow from the start (agents).
	Follow []string
	// OnFrame, if set, sees every frame (from the reading goroutine).
	OnFrame func(Frame)
	// BackoffBase and BackoffMax shape reconnect delays (exponential with
	// full jitter). Defaults 200 ms and 10 s.
	BackoffBase, BackoffMax time.Duration
	// PingEvery keeps the connection alive (default 25 s, as the widget and
	// the console do).
	PingEvery time.Duration
}

// Stream is a self-healing realtime connection. It keeps every followed
// conversation's messages in sequence order exactly once: on reconnect it
// resumes from the last sequence it holds, drops what it has, and asks for
// any gap it sees.
type Stream struct {
	opts    StreamOptions
	dial    func(ctx context.Context, hello []byte) (wire, error)
	hello   func(*Stream) map[string]any
	isAgent bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	convs   map[string]*convState
	follow  map[string]bool
	waiters map[string]chan Frame // by client message id or rid
	cur     *liveWire
	changed chan struct{} // closed and replaced whenever state changes

	// Counters.
	Connects   atomic.Int64
	Duplicates atomic.Int64 // messages received again and dropped
	GapFetches atomic.Int64
	Resets     atomic.Int64
	Welcome    atomic.Value // last welcome frame's conn id
}

type convState struct {
	epoch    string
	msgs     []Message
	ahead    map[int64]Message
	fetching bool
}

// wire is one live connection under the stream.
type wire interface {
	read(ctx context.Context) ([]byte, error)
	write(ctx context.Context, frame []byte) error
	close()
}

type liveWire struct {
	w    wire
	done chan struct{}
}

// ErrClosed is returned by operations on a closed stream.
var ErrClosed = errors.New("tiski: stream closed")

func newStream(o StreamOptions, isAgent bool, hello func(*Stream) map[string]any, dial func(context.Context, []byte) (wire, error)) *Stream {
	if o.BackoffBase <= 0 {
		o.BackoffBase = 200 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Second
	}
	if o.PingEvery <= 0 {
		o.PingEvery = 25 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stream{opts: o, dial: dial, hello: hello, isAgent: isAgent, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		convs: map[string]*convState{}, follow: map[string]bool{}, waiters: map[string]chan Frame{}, changed: make(chan struct{})}
	for _, c := range o.Follow {
		s.follow[c] = true
	}
	go s.run()
	return s
}

// Connect opens the visitor's realtime stream.
func (v *Visitor) Connect(o StreamOptions) *Stream {
	hello := func(s *Stream) map[string]any {
		return map[string]any{"t": "hello", "v": 1, "token": v.Token, "subs": s.subs()}
	}
	base := v.c.BaseURL + v.path("/rt")
	return newStream(o, false, hello, func(ctx context.Context, h []byte) (wire, error) {
		hdr := http.Header{"Origin": {v.c.Origin}}
		if o.Transport == "sse" {
			fh := v.header()
			return dialSSE(ctx, v.c.HTTP, base, hdr, fh, h)
		}
		return dialWS(ctx, base, hdr, h)
	})
}

// Connect opens the agent's realtime stream.
func (a *Agent) Connect(o StreamOptions) *Stream {
	hello := func(s *Stream) map[string]any { return map[string]any{"t": "hello", "v": 1, "subs": s.subs()} }
	base := a.c.BaseURL + "/api/console/v1/rt"
	return newStream(o, true, hello, func(ctx context.Context, h []byte) (wire, error) {
		hdr := a.StreamHeader()
		if o.Transport == "sse" {
			return dialSSE(ctx, a.hc, base, hdr, a.header(), h)
		}
		return dialWS(ctx, base, hdr, h)
	})
}

// StreamHeader is what the agent's realtime request carries: origin, CSRF
// token and session cookie (for clients that speak the protocol by hand).
func (a *Agent) StreamHeader() http.Header {
	hdr := a.header()
	u, _ := http.NewRequest("GET", a.c.BaseURL+"/api/console/v1/rt", nil)
	for _, ck := range a.hc.Jar.Cookies(u.URL) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	return hdr
}

// subs lists what to resume: every conversation held or followed.
func (s *Stream) subs() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	seen := map[string]bool{}
	for id, cs := range s.convs {
		seen[id] = true
		out = append(out, map[string]any{"conv": id, "epoch": cs.epoch, "after": cs.last()})
	}
	for id := range s.follow {
		if !seen[id] {
			out = append(out, map[string]any{"conv": id, "after": 0})
		}
	}
	return out
}

func (cs *convState) last() int64 { return int64(len(cs.msgs)) }

func (s *Stream) run() {
	defer close(s.done)
	attempt := 0
	for s.ctx.Err() == nil {
		hello, _ := json.Marshal(s.hello(s))
		dctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		w, err := s.dial(dctx, hello)
		cancel()
		if err == nil {
			lw := &liveWire{w: w, done: make(chan struct{})}
			ok := s.serve(lw)
			if ok {
				attempt = 0
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		// Exponential backoff with full jitter spreads a reconnect storm.
		ceil := s.opts.BackoffBase << min(attempt, 16)
		if ceil > s.opts.BackoffMax || ceil <= 0 {
			ceil = s.opts.BackoffMax
		}
		attempt++
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(ceil) + 1))):
		case <-s.ctx.Done():
			return
		}
	}
}

// serve reads one connection until it ends; it reports whether the server
// welcomed us (so the backoff can start over).
func (s *Stream) serve(lw *liveWire) (welcomed bool) {
	defer func() {
		lw.w.close()
		s.mu.Lock()
		if s.cur == lw {
			s.cur = nil
		}
		for _, cs := range s.convs {
			cs.fetching = false
		}
		s.mu.Unlock()
		close(lw.done)
		s.notify()
	}()
	pctx, stopPing := context.WithCancel(s.ctx)
	defer stopPing()
	go func() {
		t := time.NewTicker(s.opts.PingEvery)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				_ = lw.w.write(pctx, []byte(`{"t":"ping"}`))
			}
		}
	}()
	for {
		data, err := lw.w.read(s.ctx)
		if err != nil {
			return welcomed
		}
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil {
			return welcomed
		}
		if f.T == "welcome" {
			welcomed = true
			s.Connects.Add(1)
			s.Welcome.Store(f.Conn)
			s.mu.Lock()
			s.cur = lw
			s.mu.Unlock()
			s.notify()
		}
		s.handle(lw, f)
	}
}

func (s *Stream) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Stream) handle(lw *liveWire, f Frame) {
	if s.opts.OnFrame != nil {
		s.opts.OnFrame(f)
	}
	switch f.T {
	case "msg":
		s.onMsg(lw, f)
	case "reset":
		s.Resets.Add(1)
		s.mu.Lock()
		s.convs[f.Conv] = &convState{epoch: f.Epoch, ahead: map[int64]Message{}}
		s.mu.Unlock()
	case "synced":
		s.mu.Lock()
		cs := s.conv(f.Conv)
		cs.epoch = f.Epoch
		ch := s.waiters[f.RID]
		s.mu.Unlock()
		if ch != nil && f.RID != "" {
			select {
			case ch <- f:
			default:
			}
		}
	case "fetched":
		s.mu.Lock()
		cs := s.conv(f.Conv)
		cs.fetching = false
		s.mu.Unlock()
		s.fillGap(lw, f.Conv)
	case "ack", "error", "ok", "pong":
		key := f.ID
		if key == "" {
			key = f.RID
		}
		s.mu.Lock()
		ch := s.waiters[key]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- f:
			default:
			}
		}
	}
	s.notify()
}

func (s *Stream) conv(id string) *convState {
	cs := s.convs[id]
	if cs == nil {
		cs = &convState{ahead: map[int64]Message{}}
		s.convs[id] = cs
	}
	return cs
}

func (s *Stream) onMsg(lw *liveWire, f Frame) {
	if f.M == nil {
		return
	}
	m := *f.M
	m.Seq = f.Seq // the stream's own numbering
	s.mu.Lock()
	cs := s.conv(f.Conv)
	switch last := cs.last(); {
	case f.Seq <= last:
		s.Duplicates.Add(1)
	case f.Seq == last+1:
		cs.msgs = append(cs.msgs, m)
		for {
			next, ok := cs.ahead[cs.last()+1]
			if !ok {
				break
			}
			delete(cs.ahead, next.Seq)
			cs.msgs = append(cs.msgs, next)
		}
	default:
		if _, dup := cs.ahead[f.Seq]; dup {
			s.Duplicates.Add(1)
		}
		cs.ahead[f.Seq] = m
	}
	s.mu.Unlock()
	s.fillGap(lw, f.Conv)
}

// fillGap asks for the messages between what we hold and what arrived ahead.
func (s *Stream) fillGap(lw *liveWire, conv string) {
	s.mu.Lock()
	cs := s.conv(conv)
	if len(cs.ahead) == 0 || cs.fetching {
		s.mu.Unlock()
		return
	}
	cs.fetching = true
	after := cs.last()
	s.mu.Unlock()
	s.GapFetches.Add(1)
	frame, _ := json.Marshal(map[string]any{"t": "fetch", "rid": "gap-" + conv, "conv": conv, "after": after, "limit": 500})
	go func() {
		if err := lw.w.write(s.ctx, frame); err != nil {
			s.mu.Lock()
			cs.fetching = false
			s.mu.Unlock()
		}
	}()
}

// Messages returns a copy of the conversation's messages held, in order.
func (s *Stream) Messages(conv string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convs[conv]
	if cs == nil {
		return nil
	}
	return append([]Message(nil), cs.msgs...)
}

// Conversations lists the conversations the stream holds.
func (s *Stream) Conversations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.convs))
	for id := range s.convs {
		out = append(out, id)
	}
	return out
}

// Connected reports whether a connection is up.
func (s *Stream) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// WaitFor waits until cond holds (checked after every change) or ctx ends.
func (s *Stream) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

// Follow starts following a conversation (agents), resuming from what is held.
func (s *Stream) Follow(ctx context.Context, conv string) error {
	if s.opts.Transport == "sse" {
		// An SSE stream's subscriptions are fixed by its hello: reopen it.
		s.mu.Lock()
		s.follow[conv] = true
		s.mu.Unlock()
		s.Drop()
		return s.WaitFor(ctx, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.convs[conv] != nil && s.convs[conv].epoch != ""
		})
	}
	s.mu.Lock()
	s.follow[conv] = true
	after := int64(0)
	epoch := ""
	if cs := s.convs[conv]; cs != nil {
		after, epoch = cs.last(), cs.epoch
	}
	s.mu.Unlock()
	f, err := s.request(ctx, map[string]any{"t": "sub", "conv": conv, "epoch": epoch, "after": after}, "synced")
	if err != nil {
		return err
	}
	if f.T == "error" {
		return &Error{Code: f.Code, Message: f.Message}
	}
	return nil
}

// request sends a frame with a fresh rid and waits for the reply of type
// want (or an error frame), resending after reconnects.
func (s *Stream) request(ctx context.Context, frame map[string]any, want string) (Frame, error) {
	rid := fmt.Sprintf("r%d", rand.Int64())
	frame["rid"] = rid
	data, _ := json.Marshal(frame)
	ch := make(chan Frame, 4)
	s.mu.Lock()
	s.waiters[rid] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, rid)
		s.mu.Unlock()
	}()
	for {
		lw, err := s.live(ctx)
		if err != nil {
			return Frame{}, err
		}
		if err := lw.w.write(ctx, data); err != nil {
			continue
		}
		select {
		case f := <-ch:
			if f.T == "error" && (f.Code == "unavailable" || f.Code == "rate_limited") {
				if err := sleep(ctx, time.Duration(max(f.RetryAfter, 1))*200*time.Millisecond); err != nil {
					return Frame{}, err
				}
				continue
			}
			return f, nil
		case <-lw.done:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// live waits for a connection.
func (s *Stream) live(ctx context.Context) (*liveWire, error) {
	for {
		s.mu.Lock()
		lw, ch := s.cur, s.changed
		s.mu.Unlock()
		if lw != nil {
			return lw, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, ErrClosed
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send sends a text message and waits for its acknowledgement, resending
// with the same client message id across reconnects until the server
// answers. conv may be empty for a visitor's active conversation.
func (s *Stream) Send(ctx context.Context, conv, cmid, kind, body string) (Ack, error) {
	frame := map[string]any{"t": "send", "id": cmid, "conv": conv, "kind": kind, "body": body}
	data, _ := json.Marshal(frame)
	ch := make(chan Frame, 4)
	s.mu.Lock()
	s.waiters[cmid] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, cmid)
		s.mu.Unlock()
	}()
	for {
		lw, err := s.live(ctx)
		if err != nil {
			return Ack{}, err
		}
		if err := lw.w.write(ctx, data); err != nil {
			if ctx.Err() != nil {
				return Ack{}, ctx.Err()
			}
			continue
		}
		select {
		case f := <-ch:
			switch {
			case f.T == "ack":
				return Ack{ID: f.ID, Conv: f.Conv, Seq: f.Seq, Dup: f.Dup, M: *f.M}, nil
			case f.Code == "unavailable" || f.Code == "rate_limited":
				if err := sleep(ctx, time.Duration(max(f.RetryAfter, 1))*200*time.Millisecond); err != nil {
					return Ack{}, err
				}
			default:
				return Ack{}, &Error{Code: f.Code, Message: f.Message, Field: f.Field}
			}
		case <-lw.done:
			// Lost the connection: the message may or may not be stored;
			// resending with the same id is safe either way.
		case <-ctx.Done():
			return Ack{}, ctx.Err()
		}
	}
}

// Typing tells the others the user is (or stopped) typing.
func (s *Stream) Typing(ctx context.Context, conv string, on bool, text string) error {
	lw, err := s.live(ctx)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"t": "typing", "conv": conv, "on": on, "text": text})
	return lw.w.write(ctx, data)
}

// Read marks the conversation seen up to seq.
func (s *Stream) Read(ctx context.Context, conv string, seq int64) error {
	f, err := s.request(ctx, map[string]any{"t": "read", "conv": conv, "seq": seq}, "ok")
	if err == nil && f.T == "error" {
		return &Error{Code: f.Code, Message: f.Message}
	}
	return err
}

// Drop cuts the current connection abruptly, as a network failure would.
func (s *Stream) Drop() {
	s.mu.Lock()
	lw := s.cur
	s.mu.Unlock()
	if lw != nil {
		lw.w.close()
	}
}

// Close ends the stream for good.
func (s *Stream) Close() {
	s.cancel()
	s.Drop()
	<-s.done
}

// WebSocket wire.

type wsWire struct{ c *websocket.Conn }

func dialWS(ctx context.Context, httpURL string, hdr http.Header, hello []byte) (wire, error) {
	u := "ws" + strings.TrimPrefix(httpURL, "http")
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(8 << 20)
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		c.CloseNow()
		return nil, err
	}
	return &wsWire{c: c}, nil
}

func (w *wsWire) read(ctx context.Context) ([]byte, error) {
	_, data, err := w.c.Read(ctx)
	return data, err
}

func (w *wsWire) write(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, frame)
}

func (w *wsWire) close() { w.c.CloseNow() }

// SSE wire: events down a streamed POST response, frames up by POST.

type sseWire struct {
	hc      *http.Client
	framesU string
	hdr     http.Header
	body    interface{ Close() error }
	events  chan []byte // frames from the stream
	ended   chan error
	replies chan []byte // replies to posted frames
	cancel  context.CancelFunc
}

func dialSSE(ctx context.Context, hc *http.Client, base string, hdr, postHdr http.Header, hello []byte) (wire, error) {
	sctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(sctx, "POST", base+"/sse", bytes.NewReader(hello))
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	for k, v := range postHdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	streamClient := &http.Client{Transport: hc.Transport, Jar: hc.Jar} // no timeout: the stream is long
	resp, err := streamClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("tiski: sse stream: status %d", resp.StatusCode)
	}
	ph := http.Header{}
	for k, v := range postHdr {
		ph[k] = v
	}
	for k, v := range hdr {
		if k == "Cookie" {
			ph[k] = v
		}
	}
	w := &sseWire{hc: hc, framesU: base + "/frames", hdr: ph, body: resp.Body, events: make(chan []byte, 256),
		ended: make(chan error, 1), replies: make(chan []byte, 256), cancel: cancel}
	go w.scan(resp.Body)
	return w, nil
}

func (w *sseWire) scan(body interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue // comments (keep-alive) and blank separators
		}
		var probe struct {
			T string `json:"t"`
		}
		if json.Unmarshal([]byte(data), &probe) == nil && probe.T == "bye" {
			w.ended <- errors.New("tiski: server closed the stream")
			return
		}
		w.events <- []byte(data)
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("tiski: sse stream ended")
	}
	w.ended <- err
}

func (w *sseWire) read(ctx context.Context) ([]byte, error) {
	select {
	case r := <-w.replies:
		return r, nil
	case e := <-w.events:
		return e, nil
	case err := <-w.ended:
		w.ended <- err
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *sseWire) write(ctx context.Context, frame []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", w.framesU, bytes.NewReader(frame))
	if err != nil {
		return err
	}
	for k, v := range w.hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var replies []json.RawMessage
	if resp.StatusCode != 200 {
		var eb struct {
			Error Error `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		b, _ := json.Marshal(map[string]any{"t": "error", "code": eb.Error.Code, "message": eb.Error.Message})
		replies = []json.RawMessage{b}
	} else if err := json.NewDecoder(resp.Body).Decode(&replies); err != nil {
		return err
	}
	for _, r := range replies {
		select {
		case w.replies <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (w *sseWire) close() {
	w.cancel()
	w.body.Close()
}

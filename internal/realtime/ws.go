package realtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/realtime/wsproto"
)

// writeTimeout bounds one frame write; a client that takes longer is gone.
const writeTimeout = 10 * time.Second

type wsTransport struct{ ws *wsproto.Conn }

func (t *wsTransport) write(_ context.Context, f outFrame) error {
	if f.comment {
		return nil
	}
	return t.ws.WriteText(f.data, writeTimeout)
}

func (t *wsTransport) close(code int, reason string) {
	// Sending the close frame may wait behind a frame being written to a
	// slow client; never make the caller (often a publisher) wait.
	go t.ws.Close(code, reason)
}

// ServeWS upgrades the request to a WebSocket, greets the client and hands
// the connection to a reader goroutine of its own, then returns: net/http's
// request, response and handler stack are released while the connection
// lives on with one small goroutine. The caller has already checked the
// request's origin and, for agents, their session; auth completes the
// principal from the hello frame.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, auth Authenticator) {
	ws, err := wsproto.Accept(w, r, MaxFrameBytes)
	if err != nil {
		return // Accept has answered the client
	}
	// The connection outlives the request context's usual meaning; it ends
	// when the client goes, the hub shuts down, or an error closes it.
	ctx := context.WithoutCancel(r.Context())

	hello, code, err := h.readHello(ws)
	if err != nil {
		h.refuse(ws, code, err)
		return
	}
	p, err := auth(ctx, hello)
	if err != nil {
		h.refuse(ws, CloseUnauthorized, err)
		return
	}
	c := h.newConn(ctx, p, &wsTransport{ws: ws})
	if err := c.start(hello); err != nil {
		c.sendStored(errorFrameFor(err, hello))
		c.q.flush(ctx)
		c.close(CloseGoingAway, "could not start")
		return
	}
	go h.readLoop(c, ws)
}

// readLoop reads the client's frames until the connection ends. While idle
// it is blocked in the network poller with a shallow stack; the socket's
// read deadline enforces the idle timeout.
func (h *Hub) readLoop(c *Conn, ws *wsproto.Conn) {
	for {
		typ, data, err := ws.ReadMessage(h.opts.IdleTimeout)
		if err != nil {
			code := 1000
			if s := wsproto.CloseStatus(err); s != -1 {
				code = s
			}
			c.close(code, "")
			// The socket ends in every case, also when the close above
			// had already run (its close frame then awaits the answer).
			ws.Close(code, "")
			return
		}
		if typ != wsproto.OpText {
			c.handleBad(apperr.New(apperr.Invalid, "frames are JSON text"), nil)
			continue
		}
		if rid, ok := plainPing(data); ok && c.pong(rid) {
			continue
		}
		f, err := DecodeClientFrame(data)
		if err != nil {
			c.handleBad(err, f)
			continue
		}
		c.handle(f)
	}
}

func (h *Hub) readHello(ws *wsproto.Conn) (*ClientFrame, int, error) {
	typ, data, err := ws.ReadMessage(h.opts.HelloTimeout)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, CloseBadFrame, apperr.New(apperr.Invalid, "no hello in time")
		}
		return nil, CloseBadFrame, err
	}
	if typ != wsproto.OpText {
		return nil, CloseBadFrame, apperr.New(apperr.Invalid, "frames are JSON text")
	}
	f, err := DecodeClientFrame(data)
	if err != nil {
		return nil, CloseBadFrame, err
	}
	if f.T != THello {
		return nil, CloseBadFrame, apperr.New(apperr.Invalid, "the first frame must be hello")
	}
	if f.V != Version {
		return nil, CloseBadFrame, unsupportedVersion(f.V)
	}
	return f, 0, nil
}

// refuse tells a client why it cannot connect, then closes.
func (h *Hub) refuse(ws *wsproto.Conn, code int, err error) {
	_ = ws.WriteText(errorFrameFor(err, nil), time.Second)
	reason := apperr.As(err).Message
	if len(reason) > 120 {
		reason = reason[:120]
	}
	ws.Close(code, reason)
}

// handleBad answers a frame that could not be decoded; f is what could be
// read of it (for its rid), or nil.
func (c *Conn) handleBad(err error, f *ClientFrame) {
	c.sendStored(errorFrameFor(err, f))
	c.mu.Lock()
	c.errors++
	tooMany := c.errors > 100
	c.mu.Unlock()
	if tooMany {
		c.close(CloseTooManyErrs, "too many bad frames")
	}
}

func unsupportedVersion(v int) error {
	return apperr.New(apperr.Unsupported, "protocol version %d is not supported; this server speaks %d", v, Version)
}

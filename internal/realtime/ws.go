package realtime

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"tiski/internal/apperr"
)

// writeTimeout bounds one frame write; a client that takes longer is gone.
const writeTimeout = 10 * time.Second

type wsTransport struct{ ws *websocket.Conn }

func (t *wsTransport) write(ctx context.Context, f outFrame) error {
	if f.comment {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return t.ws.Write(ctx, websocket.MessageText, f.data)
}

func (t *wsTransport) close(code int, reason string) {
	// Close waits for the peer's close frame; never make the caller wait.
	go t.ws.Close(websocket.StatusCode(code), reason)
}

// ServeWS upgrades the request to a WebSocket and runs the connection until
// it ends. The caller has already checked the request's origin and, for
// agents, their session; auth completes the principal from the hello frame.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, auth Authenticator) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origin checked against the site's allowed origins by the caller
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the client
	}
	ws.SetReadLimit(MaxFrameBytes)
	// The connection outlives the request context's usual meaning; it ends
	// when the client goes, the hub shuts down, or an error closes it.
	ctx := context.WithoutCancel(r.Context())

	helloCtx, cancel := context.WithTimeout(ctx, h.opts.HelloTimeout)
	hello, code, err := h.readHello(helloCtx, ws)
	cancel()
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
	for {
		rctx, cancel := context.WithTimeout(c.ctx, h.opts.IdleTimeout)
		typ, data, err := ws.Read(rctx)
		cancel()
		if err != nil {
			code := 1000
			if s := websocket.CloseStatus(err); s != -1 {
				code = int(s)
			}
			c.close(code, "")
			return
		}
		if typ != websocket.MessageText {
			c.handleBad(apperr.New(apperr.Invalid, "frames are JSON text"), nil)
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

func (h *Hub) readHello(ctx context.Context, ws *websocket.Conn) (*ClientFrame, int, error) {
	typ, data, err := ws.Read(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, CloseBadFrame, apperr.New(apperr.Invalid, "no hello in time")
		}
		return nil, CloseBadFrame, err
	}
	if typ != websocket.MessageText {
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
func (h *Hub) refuse(ws *websocket.Conn, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ws.Write(ctx, websocket.MessageText, errorFrameFor(err, nil))
	reason := apperr.As(err).Message
	if len(reason) > 120 {
		reason = reason[:120]
	}
	go ws.Close(websocket.StatusCode(code), reason)
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

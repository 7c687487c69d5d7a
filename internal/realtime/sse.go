package realtime

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// keepAlive is how often an idle SSE stream gets a comment line, so that
// proxies keep it open and the server notices dead clients.
const keepAlive = 25 * time.Second

type sseTransport struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	once sync.Once
	done chan struct{}
	code int
	why  string
}

func (t *sseTransport) write(_ context.Context, f outFrame) error {
	_ = t.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	var err error
	if f.comment {
		_, err = fmt.Fprint(t.w, ": keep-alive\n\n")
	} else {
		_, err = fmt.Fprintf(t.w, "data: %s\n\n", f.data)
	}
	if err != nil {
		return err
	}
	return t.rc.Flush()
}

func (t *sseTransport) close(code int, reason string) {
	t.once.Do(func() {
		t.code, t.why = code, reason
		close(t.done)
	})
}

type byeFrame struct {
	T      string `json:"t"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// ServeSSE streams a connection as Server-Sent Events, for clients whose
// network blocks WebSockets. hello is the stream's opening frame (sent in
// the request body); upstream frames come by POST to HandleFrames. It
// returns an error, without writing, if the stream cannot start.
func (h *Hub) ServeSSE(w http.ResponseWriter, r *http.Request, hello *ClientFrame, auth Authenticator) error {
	if hello.T != THello {
		return badFrame("the stream must open with hello")
	}
	if hello.V != Version {
		return unsupportedVersion(hello.V)
	}
	ctx := r.Context()
	p, err := auth(ctx, hello)
	if err != nil {
		return err
	}
	tr := &sseTransport{w: w, rc: http.NewResponseController(w), done: make(chan struct{})}
	h2 := w.Header()
	h2.Set("Content-Type", "text/event-stream; charset=utf-8")
	h2.Set("Cache-Control", "no-store")
	h2.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = tr.rc.Flush()

	c := h.newConn(context.WithoutCancel(ctx), p, tr)
	if err := c.start(hello); err != nil {
		c.sendStored(errorFrameFor(err, hello))
		c.close(CloseGoingAway, "could not start")
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-tr.done:
			// Let the writer finish its frame, then say why we stop.
			fctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			c.q.flush(fctx)
			cancel()
			_ = tr.write(ctx, outFrame{data: encode(byeFrame{T: "bye", Code: tr.code, Reason: tr.why})})
			return nil
		case <-ctx.Done():
			c.close(1001, "client went away")
			<-tr.done
			fctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			c.q.flush(fctx)
			cancel()
			return nil
		case <-tick.C:
			c.q.push(outFrame{comment: true, ephemeral: true})
		}
	}
}

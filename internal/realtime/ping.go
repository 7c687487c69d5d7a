package realtime

import (
	"bytes"
	"time"
)

// Every idle widget and console pings every 25 s, so at ten thousand
// connections pings are most of what a node does. A plain ping is
// recognised by its bytes and answered from the reader without decoding
// JSON or starting a writer goroutine; anything else takes the general path.

var (
	pingBare   = []byte(`{"t":"ping"}`)
	pingPrefix = []byte(`{"t":"ping","rid":"`)
)

// plainPing reports whether data is {"t":"ping"} or {"t":"ping","rid":"…"}
// with a short rid of plain characters, and returns the rid.
func plainPing(data []byte) (rid string, ok bool) {
	if bytes.Equal(data, pingBare) {
		return "", true
	}
	rest, ok := bytes.CutPrefix(data, pingPrefix)
	if !ok {
		return "", false
	}
	r, ok := bytes.CutSuffix(rest, []byte(`"}`))
	if !ok || len(r) == 0 || len(r) > 64 {
		return "", false
	}
	for _, b := range r {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
			return "", false
		}
	}
	return string(r), true
}

// appendPong appends the pong frame that encode(pongFrame{…}) would make.
func appendPong(b []byte, rid string, now time.Time) []byte {
	b = append(b, `{"t":"pong"`...)
	if rid != "" {
		b = append(b, `,"rid":"`...)
		b = append(b, rid...)
		b = append(b, '"')
	}
	b = append(b, `,"server_time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// pong answers a plain ping on the reader's goroutine. It returns false
// when the connection is draining: the general path then answers.
func (c *Conn) pong(rid string) bool {
	c.busy.Lock()
	defer c.busy.Unlock()
	c.mu.Lock()
	draining := c.draining
	c.mu.Unlock()
	if draining {
		return false
	}
	if c.ctx.Err() != nil {
		return true
	}
	c.q.writeNow(outFrame{data: appendPong(make([]byte, 0, 64+len(rid)), rid, c.hub.clock.Now()), ephemeral: true})
	return true
}

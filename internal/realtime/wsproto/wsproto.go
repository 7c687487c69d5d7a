// Package wsproto is the server side of the WebSocket protocol (RFC 6455)
// as Tiski uses it: text and binary messages, no extensions, no
// subprotocols. It exists to keep an idle connection small. After the
// upgrade it drops the buffers net/http lent the connection, reads frame
// headers straight from the socket into a few bytes of its own, and times
// out idle reads with the socket's deadline instead of a context and a timer
// per read, so an idle connection costs one goroutine blocked in the
// network poller and a few hundred bytes of state.
package wsproto

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes (RFC 6455 section 7.4.1).
const (
	StatusNormal        = 1000
	StatusGoingAway     = 1001
	StatusProtocolError = 1002
	StatusNoStatus      = 1005
	StatusAbnormal      = 1006
	StatusInvalidData   = 1007
	StatusTooBig        = 1009
)

// closeWait bounds how long Close waits for the peer to answer its close
// frame before dropping the TCP connection.
const closeWait = 2 * time.Second

// CloseError is returned by Read when the peer closed the connection, or
// when the protocol was broken (Code then says how, and was sent).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason)
}

// CloseStatus returns the close code in err, or -1.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// Conn is an upgraded connection. Read must be called from one goroutine;
// Write and Close may be called from any.
type Conn struct {
	// ValidateUTF8 makes a text message that is not UTF-8 fail the
	// connection (1007), as RFC 6455 says. Off by default: Tiski's frame
	// decoder rejects such a frame with an error the client can act on
	// and keeps the connection.
	ValidateUTF8 bool

	nc  net.Conn
	pre []byte // bytes the client sent before the upgrade finished

	// Reader state, touched only by the reading goroutine.
	hdr     [14]byte
	limit   int
	reading bool // a Read is running: Close leaves the socket to it

	wmu       sync.Mutex // one frame at a time on the wire
	mu        sync.Mutex
	closeSent bool
	closed    bool
}

// handshake checks an upgrade request and returns the accept key.
func handshake(r *http.Request) (string, int, error) {
	switch {
	case r.Method != http.MethodGet:
		return "", http.StatusMethodNotAllowed, errors.New("websocket: upgrade needs GET")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "", http.StatusBadRequest, errors.New("websocket: Connection header lacks upgrade")
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "", http.StatusBadRequest, errors.New("websocket: Upgrade header lacks websocket")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", http.StatusUpgradeRequired, errors.New("websocket: only version 13 is supported")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return "", http.StatusBadRequest, errors.New("websocket: bad Sec-WebSocket-Key")
	}
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), 0, nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Accept upgrades the request. On a bad request it answers with an HTTP
// error and returns it. limit caps a message's size (a larger one closes
// the connection with 1009).
func Accept(w http.ResponseWriter, r *http.Request, limit int) (*Conn, error) {
	accept, status, err := handshake(r)
	if err != nil {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, err.Error(), status)
		return nil, err
	}
	// The response controller finds the hijacker under middleware wrappers.
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		err = fmt.Errorf("websocket: %w", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, err
	}
	c := &Conn{nc: nc, limit: limit}
	// Keep what the client sent early, then let the buffers go back to
	// net/http's pools (they are 8 KiB an idle connection would hold).
	if n := brw.Reader.Buffered(); n > 0 {
		c.pre = make([]byte, n)
		_, _ = io.ReadFull(brw.Reader, c.pre)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, resp); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetWriteDeadline(time.Time{})
	return c, nil
}

// NewServerConn wraps a connection whose upgrade is already done (tests and
// the fuzzer use it with a pipe).
func NewServerConn(nc net.Conn, br *bufio.Reader, limit int) *Conn {
	c := &Conn{nc: nc, limit: limit}
	if br != nil {
		if n := br.Buffered(); n > 0 {
			c.pre = make([]byte, n)
			_, _ = io.ReadFull(br, c.pre)
		}
	}
	return c
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.nc.Read(p)
}

// ReadMessage returns the next text or binary message, answering pings and
// the close handshake on the way. idle bounds the wait for each frame (0:
// no bound); a timeout returns a net.Error with Timeout() true and leaves
// the connection to the caller, who must Close it. Any other error is
// final: the socket is closed (after a protocol error, with the close frame
// saying why).
func (c *Conn) ReadMessage(idle time.Duration) (op int, data []byte, err error) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, nil, net.ErrClosed
	case c.closeSent:
		// We are closing: wait for the peer's answer, then drop.
		c.mu.Unlock()
		c.linger()
		return 0, nil, net.ErrClosed
	}
	c.reading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading = false
		c.mu.Unlock()
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			c.drop()
		}
	}()
	var msg []byte
	msgOp := 0 // opcode of the fragmented message in progress, 0 if none
	for {
		if idle > 0 {
			// Under mu, so that a Close's shorter deadline is never
			// pushed back.
			c.mu.Lock()
			if !c.closeSent {
				_ = c.nc.SetReadDeadline(time.Now().Add(idle))
			}
			c.mu.Unlock()
		}
		fin, fop, payload, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		switch fop {
		case opPing:
			if err := c.writeFrame(opPong, payload, time.Second); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			return 0, nil, c.answerClose(payload)
		case opContinuation:
			if msgOp == 0 {
				return 0, nil, c.fail(StatusProtocolError, "continuation without a message")
			}
		case OpText, OpBinary:
			if msgOp != 0 {
				return 0, nil, c.fail(StatusProtocolError, "new message inside a fragmented one")
			}
			msgOp = fop
		}
		if len(msg)+len(payload) > c.limit {
			return 0, nil, c.fail(StatusTooBig, "message too big")
		}
		if msg == nil && fin {
			msg = payload // the common case: one frame, no copy
		} else {
			msg = append(msg, payload...)
		}
		if !fin {
			continue
		}
		if msgOp == OpText && c.ValidateUTF8 && !utf8.Valid(msg) {
			return 0, nil, c.fail(StatusInvalidData, "text is not UTF-8")
		}
		if msg == nil {
			msg = []byte{}
		}
		return msgOp, msg, nil
	}
}

// readFrame reads one frame and unmasks its payload.
func (c *Conn) readFrame() (fin bool, op int, payload []byte, err error) {
	h := c.hdr[:]
	if _, err := io.ReadFull(c, h[:2]); err != nil {
		return false, 0, nil, readErr(err)
	}
	fin, op = h[0]&0x80 != 0, int(h[0]&0x0F)
	if h[0]&0x70 != 0 {
		return false, 0, nil, c.fail(StatusProtocolError, "reserved bits set")
	}
	switch op {
	case opContinuation, OpText, OpBinary, opClose, opPing, opPong:
	default:
		return false, 0, nil, c.fail(StatusProtocolError, "unknown opcode")
	}
	if h[1]&0x80 == 0 {
		return false, 0, nil, c.fail(StatusProtocolError, "client frames must be masked")
	}
	n := uint64(h[1] & 0x7F)
	control := op >= opClose
	if control && (n > 125 || !fin) {
		return false, 0, nil, c.fail(StatusProtocolError, "bad control frame")
	}
	extra := 4 // the mask key
	switch n {
	case 126:
		extra += 2
	case 127:
		extra += 8
	}
	if _, err := io.ReadFull(c, h[2:2+extra]); err != nil {
		return false, 0, nil, readErr(err)
	}
	mask := h[2 : 2+extra]
	switch n {
	case 126:
		n, mask = uint64(binary.BigEndian.Uint16(h[2:4])), h[4:8]
	case 127:
		n, mask = binary.BigEndian.Uint64(h[2:10]), h[10:14]
		if n>>63 != 0 {
			return false, 0, nil, c.fail(StatusProtocolError, "bad length")
		}
	}
	if n > uint64(c.limit) {
		return false, 0, nil, c.fail(StatusTooBig, "message too big")
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c, payload); err != nil {
		return false, 0, nil, readErr(err)
	}
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return fin, op, payload, nil
}

// readErr turns the end of the stream mid-frame into an abnormal closure.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &CloseError{Code: StatusAbnormal, Reason: "connection lost"}
	}
	return err
}

// answerClose completes a close the peer started: it checks the payload,
// echoes the code and drops the connection.
func (c *Conn) answerClose(p []byte) error {
	code, reason := StatusNoStatus, ""
	switch {
	case len(p) == 1:
		return c.fail(StatusProtocolError, "bad close frame")
	case len(p) >= 2:
		code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		if !validCloseCode(code) {
			return c.fail(StatusProtocolError, "bad close code")
		}
		if !utf8.ValidString(reason) {
			return c.fail(StatusInvalidData, "close reason is not UTF-8")
		}
	}
	echo := code
	if echo == StatusNoStatus {
		echo = StatusNormal
	}
	c.sendClose(echo, "")
	c.drop()
	return &CloseError{Code: code, Reason: reason}
}

func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fail ends the connection after a protocol error by the peer.
func (c *Conn) fail(code int, reason string) error {
	c.sendClose(code, reason)
	c.drop()
	return &CloseError{Code: code, Reason: reason}
}

// WriteText sends one text message (unfragmented), giving up after timeout.
func (c *Conn) WriteText(data []byte, timeout time.Duration) error {
	return c.writeFrame(OpText, data, timeout)
}

func (c *Conn) writeFrame(op int, data []byte, timeout time.Duration) error {
	c.mu.Lock()
	done := c.closeSent || c.closed
	c.mu.Unlock()
	if done {
		return net.ErrClosed
	}
	return c.writeRaw(op, data, timeout)
}

func (c *Conn) writeRaw(op int, data []byte, timeout time.Duration) error {
	var hdr [10]byte
	hdr[0] = 0x80 | byte(op)
	n := 2
	switch l := len(data); {
	case l <= 125:
		hdr[1] = byte(l)
	case l <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	bufs := net.Buffers{hdr[:n], data}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// sendClose sends a close frame once.
func (c *Conn) sendClose(code int, reason string) {
	c.mu.Lock()
	if c.closeSent || c.closed {
		c.mu.Unlock()
		return
	}
	c.closeSent = true
	c.mu.Unlock()
	if len(reason) > 123 {
		reason = reason[:123]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	_ = c.writeRaw(opClose, p, time.Second)
}

// drop closes the socket.
func (c *Conn) drop() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		c.nc.Close()
	}
}

// Close starts the close handshake with code and reason and returns
// without waiting: a running Read, or else a goroutine of its own, reads
// until the peer answers (at most closeWait) and then drops the socket, so
// that frames sent just before the close frame reach the peer.
func (c *Conn) Close(code int, reason string) {
	if code == StatusNoStatus || code == StatusAbnormal || !validCloseCode(code) {
		code = StatusNormal
	}
	c.sendClose(code, reason)
	c.mu.Lock()
	reading, closed := c.reading, c.closed
	if reading && !closed {
		_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	}
	c.mu.Unlock()
	if !reading && !closed {
		go c.linger()
	}
}

// linger reads and discards frames until the peer's close frame, an error
// or closeWait, then drops the socket. Only one reader may run.
func (c *Conn) linger() {
	c.mu.Lock()
	if c.reading || c.closed {
		c.mu.Unlock()
		return
	}
	c.reading = true
	c.mu.Unlock()
	defer c.drop()
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	for {
		_, op, _, err := c.readFrame()
		if err != nil || op == opClose {
			return
		}
	}
}

// Abort drops the socket without a close frame.
func (c *Conn) Abort() { c.drop() }

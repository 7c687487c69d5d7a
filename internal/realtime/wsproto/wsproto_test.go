package wsproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// frame builds one client frame: masked unless unmasked is set.
func frame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	var b []byte
	h0 := op
	if fin {
		h0 |= 0x80
	}
	b = append(b, h0)
	maskBit := byte(0x80)
	if unmasked {
		maskBit = 0
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, maskBit|byte(n))
	case n <= 0xFFFF:
		b = append(b, maskBit|126, byte(n>>8), byte(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func closePayload(code int, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(p, reason...)
}

// pair returns a server Conn over real loopback TCP and the client's end.
func pair(t *testing.T, limit int) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return NewServerConn(srv, nil, limit), cli
}

// serverFrame is a frame as the client receives it.
type serverFrame struct {
	op      byte
	payload []byte
}

func readServerFrame(t *testing.T, r io.Reader) (serverFrame, error) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return serverFrame{}, err
	}
	if h[0]&0x80 == 0 || h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		t.Fatalf("bad server frame header %x", h)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(r, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(r, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return serverFrame{op: h[0] & 0x0F, payload: p}, err
}

// expectClose reads frames until a close frame and checks its code; the
// socket must then end.
func expectClose(t *testing.T, cli net.Conn, code int) {
	t.Helper()
	cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := readServerFrame(t, cli)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if f.op != opClose {
			continue
		}
		if len(f.payload) < 2 || int(binary.BigEndian.Uint16(f.payload)) != code {
			t.Fatalf("close payload %q, want code %d", f.payload, code)
		}
		break
	}
	if _, err := cli.Read(make([]byte, 1)); err == nil {
		t.Fatal("the socket stayed open after the close frame")
	}
}

func TestFramesAutobahnStyle(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 70000)
	cases := []struct {
		name    string
		limit   int
		utf8    bool
		frames  [][]byte
		want    []string // messages Read returns, in order
		pongs   []string // pong payloads expected, in order
		close   int      // close code the server sends (0: none expected)
		errCode int      // CloseStatus of the final error (-1: not a close)
	}{
		{name: "one text frame", frames: [][]byte{frame(true, OpText, []byte("hello"), false)}, want: []string{"hello"}},
		{name: "empty text", frames: [][]byte{frame(true, OpText, nil, false)}, want: []string{""}},
		{name: "16-bit length", frames: [][]byte{frame(true, OpText, long[:300], false)}, want: []string{string(long[:300])}},
		{name: "64-bit length", limit: 1 << 20, frames: [][]byte{frame(true, OpBinary, long, false)}, want: []string{string(long)}},
		{name: "fragments with a ping between", frames: [][]byte{
			frame(false, OpText, []byte("hel"), false), frame(true, opPing, []byte("p1"), false),
			frame(false, opContinuation, []byte("lo "), false), frame(true, opContinuation, []byte("world"), false)},
			want: []string{"hello world"}, pongs: []string{"p1"}},
		{name: "pong ignored", frames: [][]byte{frame(true, opPong, []byte("x"), false), frame(true, OpText, []byte("a"), false)}, want: []string{"a"}},
		{name: "ping with empty payload", frames: [][]byte{frame(true, opPing, nil, false), frame(true, OpText, []byte("a"), false)}, want: []string{"a"}, pongs: []string{""}},
		{name: "continuation first", frames: [][]byte{frame(true, opContinuation, []byte("x"), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "text inside fragmented text", frames: [][]byte{frame(false, OpText, []byte("a"), false), frame(true, OpText, []byte("b"), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "unmasked", frames: [][]byte{frame(true, OpText, []byte("x"), true)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "reserved bit", frames: [][]byte{append([]byte{0xC1}, frame(true, OpText, []byte("x"), false)[1:]...)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "reserved opcode 3", frames: [][]byte{frame(true, 0x3, nil, false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "reserved control opcode 0xB", frames: [][]byte{frame(true, 0xB, nil, false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "control frame over 125 bytes", frames: [][]byte{frame(true, opPing, long[:126], false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "fragmented ping", frames: [][]byte{frame(false, opPing, []byte("x"), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "64-bit length with the top bit", frames: [][]byte{{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "frame over the limit", limit: 100, frames: [][]byte{frame(true, OpText, long[:101], false)}, close: StatusTooBig, errCode: StatusTooBig},
		{name: "fragments over the limit", limit: 100, frames: [][]byte{frame(false, OpText, long[:60], false), frame(true, opContinuation, long[:60], false)}, close: StatusTooBig, errCode: StatusTooBig},
		{name: "close without code", frames: [][]byte{frame(true, opClose, nil, false)}, close: StatusNormal, errCode: StatusNoStatus},
		{name: "close 1000 with reason", frames: [][]byte{frame(true, opClose, closePayload(1000, "bye"), false)}, close: 1000, errCode: 1000},
		{name: "close 3000 echoed", frames: [][]byte{frame(true, opClose, closePayload(3000, ""), false)}, close: 3000, errCode: 3000},
		{name: "close 4999 echoed", frames: [][]byte{frame(true, opClose, closePayload(4999, ""), false)}, close: 4999, errCode: 4999},
		{name: "close with one byte", frames: [][]byte{frame(true, opClose, []byte{3}, false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "close code 1005 on the wire", frames: [][]byte{frame(true, opClose, closePayload(1005, ""), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "close code 999", frames: [][]byte{frame(true, opClose, closePayload(999, ""), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "close code 1004", frames: [][]byte{frame(true, opClose, closePayload(1004, ""), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "close code 5000", frames: [][]byte{frame(true, opClose, closePayload(5000, ""), false)}, close: StatusProtocolError, errCode: StatusProtocolError},
		{name: "close reason not UTF-8", frames: [][]byte{frame(true, opClose, closePayload(1000, "\xff"), false)}, close: StatusInvalidData, errCode: StatusInvalidData},
		{name: "text not UTF-8, checked", utf8: true, frames: [][]byte{frame(true, OpText, []byte("a\xffb"), false)}, close: StatusInvalidData, errCode: StatusInvalidData},
		{name: "text not UTF-8, left to the application", frames: [][]byte{frame(true, OpText, []byte("a\xffb"), false)}, want: []string{"a\xffb"}},
		{name: "UTF-8 split across fragments", utf8: true, frames: [][]byte{frame(false, OpText, []byte("k\xc3"), false), frame(true, opContinuation, []byte("\xa4si"), false)}, want: []string{"käsi"}},
		{name: "stream ends mid-frame", frames: [][]byte{frame(true, OpText, []byte("hello"), false)[:5]}, errCode: StatusAbnormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 16
			}
			srv, cli := pair(t, limit)
			srv.ValidateUTF8 = tc.utf8
			for _, f := range tc.frames {
				if _, err := cli.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "stream ends mid-frame" {
				cli.(*net.TCPConn).CloseWrite()
			}
			for _, want := range tc.want {
				op, got, err := srv.ReadMessage(5 * time.Second)
				if err != nil || string(got) != want || op == 0 {
					t.Fatalf("read %d %.40q %v, want %.40q", op, got, err, want)
				}
			}
			for _, want := range tc.pongs {
				cli.SetReadDeadline(time.Now().Add(5 * time.Second))
				f, err := readServerFrame(t, cli)
				if err != nil || f.op != opPong || string(f.payload) != want {
					t.Fatalf("pong %d %q %v, want %q", f.op, f.payload, err, want)
				}
			}
			if tc.close == 0 && tc.errCode == 0 {
				return
			}
			_, _, err := srv.ReadMessage(5 * time.Second)
			if err == nil {
				t.Fatal("no error")
			}
			if got := CloseStatus(err); got != tc.errCode {
				t.Fatalf("error %v: close status %d, want %d", err, got, tc.errCode)
			}
			if tc.close != 0 {
				expectClose(t, cli, tc.close)
			}
			if _, _, err := srv.ReadMessage(time.Second); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read after the end: %v", err)
			}
		})
	}
}

func TestIdleTimeoutLeavesTheConnectionToTheCaller(t *testing.T) {
	srv, cli := pair(t, 1024)
	_, _, err := srv.ReadMessage(50 * time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
	// Still usable: a message sent now is read.
	cli.Write(frame(true, OpText, []byte("late"), false))
	if _, got, err := srv.ReadMessage(5 * time.Second); err != nil || string(got) != "late" {
		t.Fatalf("after the timeout: %q %v", got, err)
	}
	// Close with no reader running: a goroutine waits for the answer.
	srv.Close(4008, "slow consumer")
	cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := readServerFrame(t, cli)
	if err != nil || f.op != opClose || binary.BigEndian.Uint16(f.payload) != 4008 || string(f.payload[2:]) != "slow consumer" {
		t.Fatalf("close frame %v %q %v", f.op, f.payload, err)
	}
	cli.Write(frame(true, opClose, closePayload(4008, ""), false))
	if _, err := cli.Read(make([]byte, 1)); err == nil {
		t.Fatal("the socket stayed open after the close handshake")
	}
	if err := srv.WriteText([]byte("x"), time.Second); err == nil {
		t.Fatal("write after close succeeded")
	}
}

// A Close while a Read runs: the reader sees the peer's answer and the
// socket ends; without an answer it ends after closeWait.
func TestCloseWhileReading(t *testing.T) {
	for _, answer := range []bool{true, false} {
		srv, cli := pair(t, 1024)
		done := make(chan error, 1)
		go func() {
			_, _, err := srv.ReadMessage(time.Minute)
			done <- err
		}()
		for { // wait until the reader runs
			srv.mu.Lock()
			r := srv.reading
			srv.mu.Unlock()
			if r {
				break
			}
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		srv.Close(1001, "going away")
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		if f, err := readServerFrame(t, cli); err != nil || f.op != opClose {
			t.Fatalf("close frame: %v %v", f, err)
		}
		if answer {
			cli.Write(frame(true, opClose, closePayload(1001, ""), false))
		}
		err := <-done
		if answer && CloseStatus(err) != 1001 {
			t.Fatalf("reader ended with %v", err)
		}
		if !answer {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) < closeWait/2 {
				t.Fatalf("reader ended with %v after %v", err, time.Since(start))
			}
			srv.Close(1000, "") // what the caller does after a timeout
		}
		if _, err := cli.Read(make([]byte, 1)); err == nil {
			t.Fatal("socket still open")
		}
	}
}

func TestBytesSentWithTheUpgradeAreKept(t *testing.T) {
	srv, cli := pair(t, 1024)
	early := frame(true, OpText, []byte("early"), false)
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(early)))
	br.Peek(len(early))
	srv = NewServerConn(srv.nc, br, 1024)
	cli.Write(frame(true, OpText, []byte("later"), false))
	for _, want := range []string{"early", "later"} {
		if _, got, err := srv.ReadMessage(5 * time.Second); err != nil || string(got) != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
}

func TestHandshake(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, 1<<20)
		if err != nil {
			return
		}
		go func() {
			for {
				op, data, err := c.ReadMessage(10 * time.Second)
				if err != nil {
					c.Close(1000, "")
					return
				}
				if op == OpText && string(data) == "close me" {
					c.Close(4001, "as asked")
					continue
				}
				c.WriteText(data, time.Second)
			}
		}()
	})
	// Behind a wrapper that hides the Hijacker, as middleware does.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(wrapped{w}, r) }))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 21)
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		msg := bytes.Repeat([]byte("ä"), n/2)
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.Read(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}
	// The client's ping is answered while no message is in flight.
	pingDone := make(chan error, 1)
	readCtx, stopRead := context.WithCancel(ctx)
	go func() { pingDone <- ws.Ping(ctx) }()
	go ws.Read(readCtx) // the client library needs a reader to see the pong
	if err := <-pingDone; err != nil {
		t.Fatalf("ping: %v", err)
	}
	stopRead()

	ws2, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws2.Write(ctx, websocket.MessageText, []byte("close me"))
	_, _, err = ws2.Read(ctx)
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("server close: %v", err)
	}
	// A client-initiated close handshake completes.
	ws3, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws3.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("client close: %v", err)
	}

	bad := []struct {
		name   string
		method string
		hdr    map[string]string
		status int
	}{
		{"POST", "POST", map[string]string{}, http.StatusMethodNotAllowed},
		{"no upgrade", "GET", map[string]string{"Upgrade": ""}, http.StatusBadRequest},
		{"no connection upgrade", "GET", map[string]string{"Connection": "keep-alive"}, http.StatusBadRequest},
		{"version 8", "GET", map[string]string{"Sec-WebSocket-Version": "8"}, http.StatusUpgradeRequired},
		{"short key", "GET", map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}, http.StatusBadRequest},
		{"no key", "GET", map[string]string{"Sec-WebSocket-Key": ""}, http.StatusBadRequest},
	}
	for _, b := range bad {
		req, _ := http.NewRequestWithContext(ctx, b.method, srv.URL, nil)
		req.Header.Set("Connection", "keep-alive, Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		for k, v := range b.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != b.status {
			t.Errorf("%s: status %d, want %d", b.name, resp.StatusCode, b.status)
		}
		if b.status == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("%s: no Sec-WebSocket-Version in the answer", b.name)
		}
	}
	// The accept key of RFC 6455's example.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if got, _, err := handshake(r); err != nil || got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept key %q %v", got, err)
	}
}

type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FuzzReadMessage feeds arbitrary client bytes: the reader must never
// panic or return a message over the limit, and a valid message split into
// fuzzed fragments must come back whole.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte{}, []byte("hello"), uint8(1))
	f.Add(frame(true, opPing, []byte("x"), false), []byte("fragmented message"), uint8(5))
	f.Add(frame(true, opClose, closePayload(1000, ""), false), []byte{}, uint8(0))
	f.Add([]byte{0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, []byte("x"), uint8(2))
	f.Fuzz(func(t *testing.T, garbage, msg []byte, split uint8) {
		const limit = 4096
		// 1: arbitrary bytes.
		c := NewServerConn(nopConn{}, bufio.NewReader(bytes.NewReader(garbage)), limit)
		c.pre = append([]byte(nil), garbage...)
		for range 8 {
			_, data, err := c.ReadMessage(0)
			if err != nil {
				break
			}
			if len(data) > limit {
				t.Fatalf("message of %d bytes over the limit", len(data))
			}
		}
		// 2: msg in fragments, with a ping after the first.
		if len(msg) > limit {
			return
		}
		var stream []byte
		n := int(split)%8 + 1
		size := (len(msg) + n - 1) / n
		for i := 0; i < n; i++ {
			lo, hi := min(i*size, len(msg)), min((i+1)*size, len(msg))
			op := byte(opContinuation)
			if i == 0 {
				op = OpBinary
			}
			stream = append(stream, frame(i == n-1, op, msg[lo:hi], false)...)
			if i == 0 {
				stream = append(stream, frame(true, opPing, []byte("p"), false)...)
			}
		}
		c = NewServerConn(nopConn{}, nil, limit)
		c.pre = stream
		op, data, err := c.ReadMessage(0)
		if err != nil || op != OpBinary || !bytes.Equal(data, msg) {
			t.Fatalf("fragmented message: op %d, %q, %v; want %q", op, data, err, msg)
		}
	})
}

// nopConn is a net.Conn whose reads end and whose writes vanish.
type nopConn struct{ net.Conn }

func (nopConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (nopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (nopConn) Close() error                     { return nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (nopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

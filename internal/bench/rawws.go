package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// A WebSocket spoken by hand, for phases where the load generator must
// cost as little as possible next to the server on the same cores: no
// JSON decoding, no context or timer per read, one small buffered reader
// per connection.

// dialRaw upgrades a connection to path with hdr, sends hello as the first
// frame and waits for the server's welcome.
func dialRaw(addr, path string, hdr http.Header, hello []byte) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	var req bytes.Buffer
	req.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + addr +
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	_ = hdr.Write(&req)
	req.WriteString("\r\n")
	req.Write(maskedFrame(hello))
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fail := func(err error) (net.Conn, *bufio.Reader, error) {
		c.Close()
		return nil, nil, err
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(c, 4096)
	status, err := br.ReadString('\n')
	if err != nil || !bytes.Contains([]byte(status), []byte(" 101 ")) {
		return fail(fmt.Errorf("upgrade: %q %v", status, err))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fail(err)
		}
		if line == "\r\n" {
			break
		}
	}
	_, first, err := readRawFrame(br, nil)
	if err != nil || !bytes.Contains(first, []byte(`"welcome"`)) {
		return fail(fmt.Errorf("no welcome: %q %v", first, err))
	}
	_ = c.SetDeadline(time.Time{})
	return c, br, nil
}

// readRawFrame reads one unfragmented, unmasked server frame into buf
// (grown as needed) and returns its opcode and payload.
func readRawFrame(br *bufio.Reader, buf []byte) (byte, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 {
		return 0, nil, errors.New("fragmented frame")
	}
	size := uint64(h[1] & 0x7F)
	switch size {
	case 126:
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return 0, nil, err
		}
		size = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(br, h[:8]); err != nil {
			return 0, nil, err
		}
		size = binary.BigEndian.Uint64(h[:8])
	}
	if size > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", size)
	}
	if uint64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0F, buf, nil
}

// maskedFrame makes a client's text frame.
func maskedFrame(p []byte) []byte {
	b := []byte{0x81}
	if len(p) <= 125 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = append(b, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i&3])
	}
	return b
}

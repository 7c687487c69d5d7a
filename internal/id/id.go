// Package id makes the identifiers and secrets Tiski hands out. Public ids
// are UUIDv7: time-ordered (good for indexes and cursors) with 74 random
// bits, so they cannot be guessed or enumerated. Secrets are 256-bit random
// tokens that are only ever stored hashed.
package id

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

var (
	mu     sync.Mutex
	lastMs int64
	seq    uint16
)

// New returns a new UUIDv7 in its canonical text form.
func New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("id: crypto/rand failed: " + err.Error())
	}
	ms := time.Now().UnixMilli()
	// Within one millisecond, keep ids monotonic with a counter in rand_a.
	mu.Lock()
	if ms <= lastMs {
		ms = lastMs
		seq++
		if seq > 0x0fff {
			ms++
			seq = 0
		}
	} else {
		seq = binary.BigEndian.Uint16(b[6:8]) & 0x03ff // leave room to count up
	}
	lastMs = ms
	s := seq
	mu.Unlock()

	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | byte(s>>8)&0x0f
	b[7] = byte(s)
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Valid reports whether s looks like an id made by New (any UUID form, lower case).
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Secret returns prefix followed by 256 random bits, base64url encoded.
func Secret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("id: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

var keyEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// Key returns a short random key with a prefix, for things people copy
// (widget keys): 100 random bits in an alphabet without look-alikes.
func Key(prefix string) string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("id: crypto/rand failed: " + err.Error())
	}
	return prefix + strings.ToLower(keyEncoding.EncodeToString(b[:]))[:20]
}

// Hash returns the hex SHA-256 of a high-entropy secret, the form in which
// tokens are stored. (Passwords use argon2id instead; see internal/auth.)
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Package auth holds Tiski's credentials: argon2id password hashes, agent
// sessions with CSRF tokens, and the failed-login throttle.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"tiski/internal/apperr"
)

// Params are argon2id cost parameters; they are stored in every hash so
// that they can be raised later and old hashes upgraded at login.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams meet OWASP ASVS 5.0 (argon2id, m=64 MiB, t=2, p=1).
var DefaultParams = Params{Time: 2, Memory: 64 * 1024, Threads: 1}

// MinPasswordLen and MaxPasswordLen bound passwords in characters.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

// CheckPasswordPolicy rejects passwords that are too short or too long.
func CheckPasswordPolicy(pw string) error {
	if !utf8.ValidString(pw) {
		return apperr.FieldError("password", "password is not valid UTF-8")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return apperr.FieldError("password", "password must be at least %d characters", MinPasswordLen)
	}
	if n > MaxPasswordLen {
		return apperr.FieldError("password", "password must be at most %d characters", MaxPasswordLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with fixed parameters.
type Hasher struct{ P Params }

// Hash returns the PHC-style string $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func (h Hasher) Hash(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, h.P.Time, h.P.Memory, h.P.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.P.Memory, h.P.Time, h.P.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether pw matches encoded, and whether the hash should be
// upgraded because its parameters are weaker than h's.
func (h Hasher) Verify(pw, encoded string) (ok, rehash bool) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, false
	}
	// Refuse absurd costs from a tampered hash, and zero rounds or threads,
	// on which argon2 panics.
	if p.Memory > 1<<22 || p.Time > 64 || p.Time == 0 || p.Threads == 0 {
		return false, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false
	}
	return true, p.Memory < h.P.Memory || p.Time < h.P.Time
}

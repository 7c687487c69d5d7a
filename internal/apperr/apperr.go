// Package apperr defines the typed errors every layer of Tiski returns. The
// domain never speaks HTTP: each Code is mapped to a status in one place
// (internal/httpapi) and to an error frame in the realtime protocol.
package apperr

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Code classifies an error for callers. The string values are part of the
// public API (JSON `error.code`) and must not change.
type Code string

const (
	Invalid      Code = "invalid"       // the request is malformed or breaks a rule
	NotFound     Code = "not_found"     // no such object in the caller's scope
	Conflict     Code = "conflict"      // the state changed under the caller
	Unauthorized Code = "unauthorized"  // no or bad credentials
	TokenExpired Code = "token_expired" // credentials were valid once
	Forbidden    Code = "forbidden"     // credentials fine, action not allowed
	TooLarge     Code = "too_large"     // body, message or file over its limit
	RateLimited  Code = "rate_limited"  // slow down
	Unsupported  Code = "unsupported"   // e.g. protocol version or media type
	Unavailable  Code = "unavailable"   // try again later (shutdown, database down)
	Internal     Code = "internal"      // a bug or an unexpected failure
)

// Error is a domain error with a code, a human message and an optional field.
type Error struct {
	Code    Code
	Message string
	Field   string // the input field at fault, when there is one
	// RetryAfter, in seconds, for RateLimited and Unavailable.
	RetryAfter int
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.cause }

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause that is logged but never shown to clients.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), cause: cause}
}

// CodeOf returns the code of err, Internal for errors that carry none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns err as *Error; untyped errors become Internal with a generic
// message so that internals never leak to clients.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if unreachable(err) {
		return &Error{Code: Unavailable, Message: "the database is unavailable; retry shortly", cause: err}
	}
	return &Error{Code: Internal, Message: "internal error", cause: err}
}

// unreachable reports whether an error that no layer classified means the
// database (or another service behind Tiski) could not be reached, rather
// than a bug: a network error, a connection dropped mid-answer, or
// PostgreSQL shutting down or cutting the session.
func unreachable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		st := pg.SQLState()
		return strings.HasPrefix(st, "08") || strings.HasPrefix(st, "57P")
	}
	return false
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

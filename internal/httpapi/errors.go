package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"tiski/internal/apperr"
)

// statusOf is the one place where error codes become HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.TokenExpired: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.RateLimited:  http.StatusTooManyRequests,
	apperr.Unsupported:  http.StatusUnsupportedMediaType,
	apperr.Unavailable:  http.StatusServiceUnavailable,
	apperr.Internal:     http.StatusInternalServerError,
}

// Status returns the HTTP status for an error.
func Status(err error) int {
	if s, ok := statusOf[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       apperr.Code `json:"code"`
	Message    string      `json:"message"`
	Field      string      `json:"field,omitempty"`
	RetryAfter int         `json:"retry_after,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.As(err)
	status := Status(e)
	switch {
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		// The client went away (a closed tab, a dropped connection): not
		// the server's failure, and a mass drop would flood the log.
		s.log.Debug("client gone", "method", r.Method, "path", r.URL.Path, "err", err)
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code, "msg", e.Message)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field, RetryAfter: e.RetryAfter}})
}

// respond ends a handler: the error if there is one, else v with status.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, err error, status int, v any) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 64 << 10

// decodeJSON reads a JSON object into v: it must be JSON, valid UTF-8,
// within the size limit, a single object, and have no unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.New(apperr.TooLarge, "the request body is larger than %d KB", maxJSONBody>>10)
		}
		return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	return DecodeStrict(body, v)
}

// requireJSON refuses bodies declared as anything but JSON (a missing
// Content-Type is taken as JSON).
func requireJSON(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apperr.New(apperr.Unsupported, "send JSON with Content-Type: application/json")
		}
	}
	return nil
}

// DecodeStrict decodes one JSON object with no unknown fields.
func DecodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return apperr.New(apperr.Invalid, "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return apperr.New(apperr.Invalid, "the request body is not valid UTF-8")
	}
	// encoding/json takes null for any struct and leaves it untouched.
	if trimmed[0] != '{' {
		return apperr.New(apperr.Invalid, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.New(apperr.Invalid, "the request body is not valid: %s", truncate(err.Error(), 160))
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "the request body has data after the JSON object")
	}
	return nil
}

// truncate shortens s to at most n bytes without splitting a character
// (decoder errors quote the client's input).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

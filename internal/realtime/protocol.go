// Package realtime carries conversations to connected clients. A Hub keeps
// this node's subscriptions and hears every change through the Bus, so a
// node never assumes it holds every connection of a conversation. Clients
// speak the frame protocol of docs/protocol.md over WebSocket, or over
// Server-Sent Events plus HTTP POST where WebSockets are blocked.
package realtime

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
	"unicode/utf8"

	"tiski/internal/apperr"
	"tiski/internal/chat"
)

// Version is the protocol version this server speaks.
const Version = 1

// MaxFrameBytes bounds one client frame.
const MaxFrameBytes = 64 << 10

// Client frame types.
const (
	THello  = "hello"
	TSend   = "send"
	TSub    = "sub"
	TUnsub  = "unsub"
	TFetch  = "fetch"
	TTyping = "typing"
	TRead   = "read"
	TPing   = "ping"
)

// ClientFrame is any frame a client sends. Which fields apply depends on T.
type ClientFrame struct {
	T     string `json:"t"`
	RID   string `json:"rid,omitempty"`
	V     int    `json:"v,omitempty"`
	Token string `json:"token,omitempty"`
	Subs  []Sub  `json:"subs,omitempty"`
	ID    string `json:"id,omitempty"`
	Conv  string `json:"conv,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Body  string `json:"body,omitempty"`
	Epoch string `json:"epoch,omitempty"`
	After *int64 `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
	On    *bool  `json:"on,omitempty"`
	Text  string `json:"text,omitempty"`
	Seq   int64  `json:"seq,omitempty"`
}

// Sub names a conversation stream and what the client already holds of it.
type Sub struct {
	Conv  string `json:"conv"`
	Epoch string `json:"epoch,omitempty"`
	After int64  `json:"after"`
}

// MaxSubs bounds the streams one connection follows.
const MaxSubs = 100

func badFrame(format string, args ...any) error {
	return apperr.New(apperr.Invalid, format, args...)
}

// DecodeClientFrame parses and checks one client frame: valid UTF-8, one
// JSON object, no unknown fields, the fields its type needs. When the JSON
// parsed but the frame breaks a rule, the frame is returned with the error
// so that the reply can carry its rid.
func DecodeClientFrame(data []byte) (*ClientFrame, error) {
	if len(data) > MaxFrameBytes {
		return nil, apperr.New(apperr.TooLarge, "frame is larger than %d bytes", MaxFrameBytes)
	}
	if !utf8.Valid(data) {
		return nil, badFrame("frame is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f ClientFrame
	if err := dec.Decode(&f); err != nil {
		return nil, badFrame("frame is not a valid JSON object of this protocol: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badFrame("frame has data after the JSON object")
	}
	if len(f.RID) > 64 {
		return nil, badFrame("rid is longer than 64 characters")
	}
	return &f, f.check()
}

func jsonProblem(err error) string {
	s := err.Error()
	if len(s) <= 120 {
		return s
	}
	n := 120
	for n > 0 && !utf8.RuneStart(s[n]) { // never cut a character in two
		n--
	}
	return s[:n]
}

func (f *ClientFrame) check() error {
	needConv := func() error {
		if f.Conv == "" {
			return apperr.FieldError("conv", "%s needs conv", f.T)
		}
		return nil
	}
	switch f.T {
	case THello:
		if f.V == 0 {
			return apperr.FieldError("v", "hello needs the protocol version v")
		}
		if len(f.Subs) > MaxSubs {
			return apperr.FieldError("subs", "at most %d subscriptions", MaxSubs)
		}
		for _, s := range f.Subs {
			if s.Conv == "" || s.After < 0 {
				return apperr.FieldError("subs", "each subscription needs conv and after >= 0")
			}
		}
	case TSend:
		if f.ID == "" {
			return apperr.FieldError("id", "send needs a client message id")
		}
		if f.Kind == "" {
			f.Kind = string(chat.Text)
		}
	case TSub:
		if err := needConv(); err != nil {
			return err
		}
		if f.After != nil && *f.After < 0 {
			return apperr.FieldError("after", "after must not be negative")
		}
	case TUnsub:
		return needConv()
	case TFetch:
		if err := needConv(); err != nil {
			return err
		}
		if f.After == nil || *f.After < 0 {
			return apperr.FieldError("after", "fetch needs after >= 0")
		}
		if f.Limit < 0 || f.Limit > chat.MaxPageSize {
			return apperr.FieldError("limit", "limit must be between 0 and %d", chat.MaxPageSize)
		}
	case TTyping:
		if err := needConv(); err != nil {
			return err
		}
		if f.On == nil {
			return apperr.FieldError("on", "typing needs on")
		}
		if utf8.RuneCountInString(f.Text) > chat.MaxBodyChars {
			return apperr.New(apperr.TooLarge, "typing preview is longer than a message may be")
		}
	case TRead:
		if err := needConv(); err != nil {
			return err
		}
		if f.Seq < 1 {
			return apperr.FieldError("seq", "read needs seq >= 1")
		}
	case TPing:
	case "":
		return apperr.FieldError("t", "frame needs a type t")
	default:
		return apperr.FieldError("t", "unknown frame type %q", f.T)
	}
	return nil
}

// Server frames.

type welcomeFrame struct {
	T          string      `json:"t"`
	V          int         `json:"v"`
	Conn       string      `json:"conn"`
	You        chat.Sender `json:"you"`
	ServerTime time.Time   `json:"server_time"`
}

type ackFrame struct {
	T    string           `json:"t"`
	RID  string           `json:"rid,omitempty"`
	ID   string           `json:"id"`
	Conv string           `json:"conv"`
	Seq  int64            `json:"seq"`
	Dup  bool             `json:"dup,omitempty"`
	M    chat.MessageView `json:"m"`
}

type msgFrame struct {
	T    string           `json:"t"`
	Conv string           `json:"conv"`
	Seq  int64            `json:"seq"`
	M    chat.MessageView `json:"m"`
}

type syncedFrame struct {
	T     string `json:"t"`
	RID   string `json:"rid,omitempty"`
	Conv  string `json:"conv"`
	Epoch string `json:"epoch"`
	Seq   int64  `json:"seq"`
}

type resetFrame struct {
	T     string `json:"t"`
	Conv  string `json:"conv"`
	Epoch string `json:"epoch"`
}

type fetchedFrame struct {
	T    string `json:"t"`
	RID  string `json:"rid,omitempty"`
	Conv string `json:"conv"`
	Seq  int64  `json:"seq"`
	More bool   `json:"more"`
}

type errorFrame struct {
	T          string `json:"t"`
	RID        string `json:"rid,omitempty"`
	ID         string `json:"id,omitempty"`
	Conv       string `json:"conv,omitempty"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

type typingFrame struct {
	T    string      `json:"t"`
	Conv string      `json:"conv"`
	From chat.Sender `json:"from"`
	On   bool        `json:"on"`
	Text string      `json:"text,omitempty"`
}

type readFrame struct {
	T      string         `json:"t"`
	Conv   string         `json:"conv"`
	Reader chat.ActorKind `json:"reader"`
	ID     string         `json:"id,omitempty"`
	Seq    int64          `json:"seq"`
}

type presenceFrame struct {
	T     string      `json:"t"`
	Conv  string      `json:"conv"`
	From  chat.Sender `json:"from"`
	Conn  string      `json:"conn"`
	State string      `json:"state"`
}

type convFrame struct {
	T string `json:"t"`
	C any    `json:"c"`
}

type pongFrame struct {
	T          string    `json:"t"`
	RID        string    `json:"rid,omitempty"`
	ServerTime time.Time `json:"server_time"`
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("realtime: encode frame: " + err.Error()) // our own types always encode
	}
	return b
}

// ErrorFrame encodes err as an error frame answering f (which may be nil).
func ErrorFrame(err error, f *ClientFrame) []byte { return errorFrameFor(err, f) }

func errorFrameFor(err error, f *ClientFrame) []byte {
	e := apperr.As(err)
	ef := errorFrame{T: "error", Code: string(e.Code), Message: e.Message, Field: e.Field, RetryAfter: e.RetryAfter}
	if f != nil {
		ef.RID, ef.Conv = f.RID, f.Conv
		if f.T == TSend {
			ef.ID = f.ID
		}
	}
	return encode(ef)
}

package realtime_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"tiski/internal/apperr"
	"tiski/internal/realtime"
)

// FuzzDecodeClientFrame: the frame decoder never panics, refuses with a
// client error code, accepts only valid UTF-8 within the size limit, and
// every frame it accepts encodes and decodes back to the same frame.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"t":"hello","v":1,"token":"v_abc","subs":[{"conv":"c1","epoch":"e1","after":3}]}`,
		`{"t":"hello","v":1,"subs":[]}`,
		`{"t":"hello","v":1,"subs":[{"conv":"","after":0}]}`,
		`{"t":"send","rid":"r1","id":"m1","conv":"c1","body":"Hei 😊\nriviä\ttab"}`,
		`{"t":"send","id":"m1","kind":"note","body":"<script>alert(1)</script>"}`,
		`{"t":"send","id":"m1","body":"\ud800 lone surrogate \u0000 nul"}`,
		`{"t":"sub","conv":"c1","epoch":"e","after":0}`,
		`{"t":"sub","conv":"c1","after":-1}`,
		`{"t":"unsub","conv":"c1"}`,
		`{"t":"fetch","conv":"c1","after":0,"limit":500}`,
		`{"t":"fetch","conv":"c1","after":null}`,
		`{"t":"typing","conv":"c1","on":true,"text":"kirjoit"}`,
		`{"t":"typing","conv":"c1","on":null}`,
		`{"t":"read","conv":"c1","seq":1}`,
		`{"t":"read","conv":"c1","seq":1e3}`,
		`{"t":"ping","rid":"` + strings.Repeat("r", 65) + `"}`,
		`{"T":"ping","Rid":"case"}`,
		`{"t":"ping","t":"hello"}`,
		`{"t":"ping"} `,
		`{"t":"ping"}{"t":"ping"}`,
		`{"t":"ping"}]`,
		`{"t":"ping","x":1}`,
		"{\"t\":\"send\",\"id\":\"x\",\"body\":\"\xff\"}",
		"\ufeff{\"t\":\"ping\"}",
		`null`, `[]`, `""`, ``, `   `, `{`, `{"t":`,
		strings.Repeat("[", 200),
		`{"t":"send","id":"m","body":"` + strings.Repeat("<\u2028", 200) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := realtime.DecodeClientFrame(data)
		if err != nil {
			switch c := apperr.CodeOf(err); c {
			case apperr.Invalid, apperr.TooLarge:
			default:
				t.Fatalf("refused with code %q: %v", c, err)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8: %q", data)
		}
		if len(data) > realtime.MaxFrameBytes {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a frame that is not one JSON value: %q", data)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(fr); err != nil {
			t.Fatalf("encode %+v: %v", fr, err)
		}
		if buf.Len() > realtime.MaxFrameBytes {
			return // escapes (\u2028 and the like) can grow a frame past the limit
		}
		again, err := realtime.DecodeClientFrame(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoded frame %s refused: %v (from %q)", buf.Bytes(), err, data)
		}
		if !reflect.DeepEqual(normalise(fr), normalise(again)) {
			t.Fatalf("round trip changed the frame:\n%+v\n%+v", fr, again)
		}
	})
}

// normalise treats an empty subscription list like none (omitempty drops it).
func normalise(f *realtime.ClientFrame) *realtime.ClientFrame {
	g := *f
	if len(g.Subs) == 0 {
		g.Subs = nil
	}
	return &g
}

// TestDecodeClientFrameLimits covers inputs too big to be fuzz seeds.
func TestDecodeClientFrameLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		code apperr.Code
	}{
		{"over the size limit", `{"t":"send","id":"m","body":"` + strings.Repeat("x", realtime.MaxFrameBytes) + `"}`, apperr.TooLarge},
		{"too deep", strings.Repeat("[", 20000), apperr.Invalid},
		{"too deep in a field", `{"t":"hello","v":1,"subs":` + strings.Repeat("[", 20000), apperr.Invalid},
		{"typing preview longer than a message", `{"t":"typing","conv":"c","on":true,"text":"` + strings.Repeat("ä", 5001) + `"}`, apperr.TooLarge},
		{"too many subscriptions", `{"t":"hello","v":1,"subs":[` + strings.Repeat(`{"conv":"c","after":0},`, 100) + `{"conv":"c","after":0}]}`, apperr.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := realtime.DecodeClientFrame([]byte(tc.data)); apperr.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
		})
	}
	// Right at the limits, frames are accepted.
	body := strings.Repeat("ä", 5000)
	if f, err := realtime.DecodeClientFrame([]byte(`{"t":"typing","conv":"c","on":true,"text":"` + body + `"}`)); err != nil || f.Text != body {
		t.Fatalf("typing preview of 5000 characters: %v", err)
	}
	subs := `{"t":"hello","v":1,"subs":[` + strings.Repeat(`{"conv":"c","after":0},`, 99) + `{"conv":"c","after":0}]}`
	if f, err := realtime.DecodeClientFrame([]byte(subs)); err != nil || len(f.Subs) != 100 {
		t.Fatalf("hello with 100 subscriptions: %v", err)
	}
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"tiski/internal/apperr"
	"tiski/internal/httpapi"
)

// probe has the kinds of fields request bodies have.
type probe struct {
	Name   string            `json:"name"`
	N      int               `json:"n"`
	P      *bool             `json:"p"`
	List   []string          `json:"list"`
	Attrs  map[string]string `json:"attrs"`
	Nested *struct {
		X string `json:"x"`
	} `json:"nested"`
}

// FuzzDecodeStrict: the request decoder never panics; it accepts only one
// valid UTF-8 JSON object with nothing after it, refuses everything else as
// invalid with a valid UTF-8 message, and what it accepts survives a round
// trip.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"name":"Aino","n":3,"p":true,"list":["a","b"],"attrs":{"k":"v"},"nested":{"x":"y"}}`,
		`{"name":"x"}`, ` {"name":"x"} ` + "\n", `{}`, `{"list":[],"attrs":{}}`, `{"list":null,"p":null}`,
		`{"name":"a","name":"b"}`, `{"NAME":"case"}`,
		`{"name":"x"}{}`, `{"name":"x"} {"name":"y"}`, `{"name":"x"}x`, `{"name":"x"}]`, `{"name":"x"}null`,
		`null`, // once accepted as an empty object
		`[]`, `[{"name":"x"}]`, `"name"`, `1`, `true`, ``, " \t\r\n ", `{`, `{"name":`,
		`{"bogus":1}`, `{"nested":{"x":"y","z":1}}`, `{"n":"1"}`, `{"n":1.5}`, `{"n":1e400}`, `{"n":-0}`,
		"{\"name\":\"\xff\"}", "{\"name\":\"\xed\xa0\x80\"}", `{"name":"\ud800"}`, "\ufeff{}",
		`{"` + strings.Repeat("ä", 100) + `":1}`, // once cut its error message inside a character
		strings.Repeat(`{"nested":`, 50), strings.Repeat("[", 200),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v probe
		err := httpapi.DecodeStrict(body, &v)
		if err != nil {
			e := apperr.As(err)
			if e.Code != apperr.Invalid {
				t.Fatalf("refused with code %q: %v", e.Code, err)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("error message is not valid UTF-8: %q", e.Message)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted something that is not exactly one JSON value: %q", body)
		}
		if trimmed := bytes.TrimSpace(body); trimmed[0] != '{' {
			t.Fatalf("accepted a JSON value that is not an object: %q", body)
		}
		for _, tail := range []string{"{}", "x", "\xff", "null", "]"} {
			if httpapi.DecodeStrict(append(bytes.Clone(body), tail...), new(probe)) == nil {
				t.Fatalf("accepted %q followed by %q", body, tail)
			}
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var again probe
		if err := httpapi.DecodeStrict(enc, &again); err != nil {
			t.Fatalf("re-encoded body %s refused: %v", enc, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("round trip changed the value:\n%+v\n%+v", v, again)
		}
	})
}

// TestDecodeStrict covers the inputs too big to be fuzz seeds and pins
// down the messages of the common refusals.
func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		name, body, msg string
	}{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"null", "null", "JSON object"},
		{"array", `[{"name":"x"}]`, "JSON object"},
		{"invalid UTF-8", "{\"name\":\"\xc3\x28\"}", "UTF-8"},
		{"unknown field", `{"name":"x","admin":true}`, `unknown field "admin"`},
		{"trailing object", `{"name":"x"}{"name":"y"}`, "after the JSON object"},
		{"trailing garbage", `{"name":"x"} ;`, "after the JSON object"},
		{"too deep", strings.Repeat(`{"nested":`, 20000), "not valid"},
		{"too deep arrays", `{"list":` + strings.Repeat("[", 20000), "not valid"},
		{"long unknown field", `{"` + strings.Repeat("ö", 500) + `":1}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := httpapi.DecodeStrict([]byte(tc.body), new(probe))
			e := apperr.As(err)
			if err == nil || e.Code != apperr.Invalid || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("DecodeStrict(%.40q) = %v, want invalid mentioning %q", tc.body, err, tc.msg)
			}
			if !utf8.ValidString(e.Message) || len(e.Message) > 250 {
				t.Fatalf("message %q", e.Message)
			}
		})
	}
	var v probe
	if err := httpapi.DecodeStrict([]byte(" {\"NAME\":\"a\",\"name\":\"b\",\"list\":[]}\r\n"), &v); err != nil || v.Name != "b" || v.List == nil {
		t.Fatalf("valid body: %+v %v", v, err)
	}
}

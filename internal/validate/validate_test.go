package validate_test

import (
	"strings"
	"testing"

	"tiski/internal/apperr"
	"tiski/internal/validate"
)

// wantErr checks err against a code ("" for none) and, if there is an
// error, that it names the field.
func wantErr(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	e := apperr.As(err)
	if err == nil || e.Code != code || e.Field != field || !strings.Contains(e.Message, field) {
		t.Fatalf("got %v (field %q), want code %s naming %q", err, e.Field, code, field)
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		max      int
		required bool
		want     string
		code     apperr.Code
	}{
		{"plain", "Aino", 10, true, "Aino", ""},
		{"trimmed", "  Aino Ä  \t", 10, true, "Aino Ä", ""},
		{"empty optional", "", 10, false, "", ""},
		{"blank optional", "   ", 10, false, "", ""},
		{"empty required", "", 10, true, "", apperr.Invalid},
		{"blank required", " \t ", 10, true, "", apperr.Invalid},
		{"limit counts characters, not bytes", strings.Repeat("ä", 10), 10, true, strings.Repeat("ä", 10), ""},
		{"over the limit", strings.Repeat("ä", 11), 10, true, "", apperr.TooLarge},
		{"spaces outside do not count", "  " + strings.Repeat("a", 10) + "  ", 10, true, strings.Repeat("a", 10), ""},
		{"emoji", "Kiitos 😊", 10, true, "Kiitos 😊", ""},
		{"newline inside", "a\nb", 10, true, "", apperr.Invalid},
		{"tab inside", "a\tb", 10, true, "", apperr.Invalid},
		{"NUL", "a\x00b", 10, true, "", apperr.Invalid},
		{"escape", "a\x1b[31mb", 20, true, "", apperr.Invalid},
		{"DEL", "a\x7fb", 10, true, "", apperr.Invalid},
		{"C1 control", "a\u0085b", 10, true, "", apperr.Invalid},
		{"invalid UTF-8", "a\xffb", 10, true, "", apperr.Invalid},
		{"truncated UTF-8", "a\xc3", 10, true, "", apperr.Invalid},
		{"surrogate half encoded", "\xed\xa0\x80", 10, true, "", apperr.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validate.Text("name", tc.in, tc.max, tc.required)
			wantErr(t, err, tc.code, "name")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMultiline(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		code apperr.Code
	}{
		{"kept exactly as typed", "  Hei!\n\n  Toimitatteko\tOuluun?\r\n", 100, ""},
		{"one character", "?", 1, ""},
		{"empty", "", 100, apperr.Invalid},
		{"only space and line breaks", " \n\t\r\n ", 100, apperr.Invalid},
		{"at the limit", strings.Repeat("ö", 50), 50, ""},
		{"over the limit", strings.Repeat("ö", 51), 50, apperr.TooLarge},
		{"NUL", "hei\x00", 100, apperr.Invalid},
		{"bell", "hei\a", 100, apperr.Invalid},
		{"vertical tab", "hei\vmoi", 100, apperr.Invalid},
		{"form feed", "hei\fmoi", 100, apperr.Invalid},
		{"invalid UTF-8", "hei \xc0\xaf", 100, apperr.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validate.Multiline("body", tc.in, tc.max)
			wantErr(t, err, tc.code, "body")
			if tc.code == "" && got != tc.in {
				t.Fatalf("got %q, want it unchanged", got)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	for _, tc := range []struct {
		in       string
		required bool
		want     string
		code     apperr.Code
	}{
		{"aino@kauppa.example", true, "aino@kauppa.example", ""},
		{"  Aino.Virtanen+tilaus@Kauppa.FI ", true, "aino.virtanen+tilaus@kauppa.fi", ""},
		{"admin@localhost", true, "admin@localhost", ""},
		{"", false, "", ""},
		{"   ", false, "", ""},
		{"", true, "", apperr.Invalid},
		{"aino", true, "", apperr.Invalid},
		{"aino@", true, "", apperr.Invalid},
		{"@kauppa.fi", true, "", apperr.Invalid},
		{"aino@kauppa", true, "", apperr.Invalid},
		{"Aino <aino@kauppa.fi>", true, "", apperr.Invalid},
		{"<aino@kauppa.fi>", true, "", apperr.Invalid},
		{"aino@kauppa.fi, eero@kauppa.fi", true, "", apperr.Invalid},
		{"aino @kauppa.fi", true, "", apperr.Invalid},
		{"aino@kauppa.fi\n", true, "aino@kauppa.fi", ""},
		{"aino\n@kauppa.fi", true, "", apperr.Invalid},
		{"aino@kauppa.fi\x00", true, "", apperr.Invalid},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 187) + ".fi", true, "", apperr.TooLarge},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := validate.Email("email", tc.in, tc.required)
			wantErr(t, err, tc.code, "email")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://shop.example", "https://shop.example"},
		{"https://shop.example/", "https://shop.example"},
		{"  https://shop.example  ", "https://shop.example"},
		{"HTTPS://Shop.Example", "https://shop.example"},
		{"https://shop.example:443", "https://shop.example"},
		{"http://shop.example:80", "http://shop.example"},
		{"https://shop.example:80", "https://shop.example:80"},
		{"http://shop.example:443", "http://shop.example:443"},
		{"https://shop.example:8443", "https://shop.example:8443"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"http://127.0.0.1", "http://127.0.0.1"},
		{"http://[::1]:80", "http://[::1]"},
		{"https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"},
		{"https://xn--kauppa-bua.example", "https://xn--kauppa-bua.example"},
		{"https://shop.example\n", "https://shop.example"},
		{"https://shop.example:", "https://shop.example"},
		{"https://shop.example:0443", "https://shop.example"},
		{"http://shop.example:080", "http://shop.example"},
		{"https://shop.example:08443", "https://shop.example:8443"},
		{"http://[::1]:", "http://[::1]"},
		{"https://shop.example:65535", "https://shop.example:65535"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := validate.Origin("allowed_origins", tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("Origin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{
		"", "shop.example", "//shop.example", "https://", "https:///path", "ftp://shop.example", "javascript:alert(1)",
		"data:text/html,<script>", "file:///etc/passwd", "https://shop.example/path", "https://shop.example/?q=1",
		"https://shop.example#top", "https://user:pass@shop.example", "https://user@shop.example", "https://shop.example:0",
		"https://shop.example:65536",
		"https://shop\x00.example", "https://" + strings.Repeat("a", 300) + ".example", "https://shop.example:99999",
		"https://shop.example:port", "http://[::1", "\xffhttps://shop.example",
	} {
		t.Run("refused "+in, func(t *testing.T) {
			got, err := validate.Origin("allowed_origins", in)
			if err == nil || apperr.As(err).Field != "allowed_origins" {
				t.Fatalf("Origin(%q) = %q, %v; want an error naming the field", in, got, err)
			}
		})
	}
}

func TestOneOf(t *testing.T) {
	if err := validate.OneOf("status", "away", "online", "away"); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "Away", "away ", "busy"} {
		wantErr(t, validate.OneOf("status", in, "online", "away"), apperr.Invalid, "status")
	}
}

func TestClientID(t *testing.T) {
	for _, ok := range []string{"a", "m-1", "01932c07-2c54-7a3e-9c4f-4c8f3a6b1d2e", "A.b_c:d-E", strings.Repeat("x", 64)} {
		if err := validate.ClientID("id", ok); err != nil {
			t.Errorf("ClientID(%q): %v", ok, err)
		}
	}
	for _, tc := range []struct {
		in   string
		code apperr.Code
	}{
		{"", apperr.Invalid},
		{strings.Repeat("x", 65), apperr.TooLarge},
		{"a b", apperr.Invalid},
		{"a/b", apperr.Invalid},
		{"a\x00", apperr.Invalid},
		{"ä", apperr.Invalid},
		{"<script>", apperr.Invalid},
		{"id\n", apperr.Invalid},
		{"a%2F", apperr.Invalid},
	} {
		t.Run(tc.in, func(t *testing.T) {
			wantErr(t, validate.ClientID("id", tc.in), tc.code, "id")
		})
	}
}

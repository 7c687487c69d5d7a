package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"tiski/internal/httpapi"
)

func init() {
	moreBadCases = append(moreBadCases, func(w *world, t *testing.T) []badCase {
		return []badCase{{route: "GET /console", name: "query is not reflected; strict CSP", path: "/console?x=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
			check: func(t *testing.T, r reply) {
				if r.status != 200 || bytes.Contains(r.body, []byte("alert(1)")) {
					t.Fatalf("console page: %d %s", r.status, r.body)
				}
				checkConsoleCSP(t, r.header)
			}}}
	})
}

func checkConsoleCSP(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self'",
		"frame-ancestors 'none'", "require-trusted-types-for 'script'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("console CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("console CSP %q allows unsafe sources", csp)
	}
	if h.Get("Cache-Control") != "no-cache" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("console page headers %v", h)
	}
}

// TestConsolePage checks that the console page links the hashed assets of
// the manifest, and says so plainly when the front-end was not built.
func TestConsolePage(t *testing.T) {
	built := httpapi.New(httpapi.Deps{
		Manifest: map[string]string{"console.js": "assets/console-AB12.js", "console.css": "assets/console-CD34.css"},
		Assets:   fstest.MapFS{"assets/console-AB12.js": {Data: []byte("1")}, "assets/console-CD34.css": {Data: []byte("a{}")}},
	})
	rec := httptest.NewRecorder()
	built.ServeHTTP(rec, httptest.NewRequest("GET", "/console", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<script defer src="/assets/console-AB12.js">`) ||
		!strings.Contains(body, `<link rel="stylesheet" href="/assets/console-CD34.css">`) {
		t.Fatalf("built console page: %d %s", rec.Code, body)
	}
	checkConsoleCSP(t, rec.Header())

	bare := httpapi.New(httpapi.Deps{Manifest: map[string]string{}})
	rec = httptest.NewRecorder()
	bare.ServeHTTP(rec, httptest.NewRequest("GET", "/console", nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "<script") || !strings.Contains(rec.Body.String(), "make build") {
		t.Fatalf("console page without a build: %d %s", rec.Code, rec.Body.String())
	}
}

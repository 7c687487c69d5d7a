package httpapi_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/httpapi"
	"tiski/internal/testsrv"
)

// Route prefixes, spelled as server.go spells them.
const (
	wr = "/api/widget/v1/sites/{key}"
	cr = "/api/console/v1"
)

// badCase is one request that the edge must refuse (or, with check, answer
// in a particular way) without changing any stored state.
type badCase struct {
	route  string // the pattern registered in server.go
	name   string
	path   string
	body   []byte
	opts   []opt
	status int
	code   string
	method string   // for routes without a method in their pattern
	field  string   // if set, error.field must be this
	msg    string   // if set, error.message must contain this
	leak   []string // must not appear anywhere in the answer
	check  func(t *testing.T, r reply)
}

// TestBadInput sends every route of server.go malformed, unauthorised,
// cross-tenant and oversize requests. Each must be answered with the right
// status and error code in the API's one error shape, and must leave the
// database and the stored files exactly as they were.
// moreBadCases lets other test files add the cases of the routes they own.
var moreBadCases []func(w *world, t *testing.T) []badCase

func TestBadInput(t *testing.T) {
	w := newWorld(t)
	cases := w.badCases(t)
	for _, more := range moreBadCases {
		cases = append(cases, more(w, t)...)
	}
	state := watchState(t, w.env)
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.route] = true
		t.Run(tc.route+"/"+tc.name, func(t *testing.T) {
			method, _, ok := strings.Cut(tc.route, " ")
			if !ok { // a pattern for every method
				method = tc.method
			}
			r := send(t, w.env.URL, method, tc.path, tc.body, tc.opts...)
			if tc.check != nil {
				tc.check(t, r)
			} else {
				e := checkError(t, r, tc.status, tc.code)
				if tc.field != "" && e.Field != tc.field {
					t.Errorf("error field %q, want %q (message %q)", e.Field, tc.field, e.Message)
				}
				if tc.msg != "" && !strings.Contains(e.Message, tc.msg) {
					t.Errorf("error message %q does not mention %q", e.Message, tc.msg)
				}
			}
			for _, s := range tc.leak {
				if bytes.Contains(r.body, []byte(s)) {
					t.Errorf("answer leaks %q: %s", s, r.body)
				}
			}
			state.unchanged(t)
		})
	}
	registered := registeredRoutes(t)
	for _, route := range registered {
		if !covered[route] {
			t.Errorf("route %q has no bad-input case", route)
		}
	}
	for route := range covered {
		if !slices.Contains(registered, route) {
			t.Errorf("cases name route %q, which server.go does not register", route)
		}
	}
}

// jsonCases are the malformed bodies every JSON endpoint must refuse. valid
// is an accepted body (a non-empty object) and field one of its string
// fields; auth carries whatever the endpoint needs to get to decoding.
func jsonCases(route, path string, auth []opt, valid, field string) []badCase {
	with := func(extra ...opt) []opt { return append(slices.Clone(auth), extra...) }
	c := func(name, body string, o []opt, status int, code, msg string) badCase {
		return badCase{route: route, name: name, path: path, body: []byte(body), opts: o, status: status, code: code, msg: msg}
	}
	big := `{"` + field + `":"` + strings.Repeat("a", 65<<10) + `"}`
	return []badCase{
		c("text/plain body", valid, with(ctype("text/plain")), 415, "unsupported", ""),
		c("form body", valid, with(ctype("application/x-www-form-urlencoded")), 415, "unsupported", ""),
		c("multipart body", valid, with(ctype("multipart/form-data; boundary=x")), 415, "unsupported", ""),
		c("malformed content type", valid, with(ctype("application/json; charset")), 415, "unsupported", ""),
		c("not JSON", field+"=x", with(jsonCT), 400, "invalid", ""),
		c("JSON array", "["+valid+"]", with(jsonCT), 400, "invalid", ""),
		c("JSON null", "null", with(jsonCT), 400, "invalid", ""),
		c("JSON string", `"`+field+`"`, with(jsonCT), 400, "invalid", ""),
		c("unknown field", `{"bogus":1,`+valid[1:], with(jsonCT), 400, "invalid", "unknown field"),
		c("wrong field type", `{"`+field+`":{"x":1}}`, with(jsonCT), 400, "invalid", ""),
		c("trailing object", valid+` {}`, with(jsonCT), 400, "invalid", "after the JSON object"),
		c("trailing garbage", valid+`x`, with(jsonCT), 400, "invalid", ""),
		c("truncated", valid[:len(valid)-1], with(jsonCT), 400, "invalid", ""),
		c("invalid UTF-8", `{"`+field+`":"a`+"\xff\xfe"+`b"}`, with(jsonCT), 400, "invalid", "UTF-8"),
		c("too large", big, with(jsonCT), 413, "too_large", ""),
	}
}

// widgetCases refuse requests for unknown sites and from origins the site
// does not allow; if needToken, also requests without the visitor's token.
func (w *world) widgetCases(route, path string, body []byte, extra []opt, needToken bool) []badCase {
	opts := func(o ...opt) []opt { return append(slices.Clone(extra), o...) }
	tokA := bearer(w.visA.Token)
	unknown := strings.Replace(path, w.wA, "/api/widget/v1/sites/w_nosuchsite", 1)
	long := strings.Replace(path, w.wA, "/api/widget/v1/sites/w_"+strings.Repeat("x", 100), 1)
	cs := []badCase{
		{name: "unknown site", path: unknown, opts: opts(origin(testsrv.ShopOrigin), tokA), status: 404, code: "not_found"},
		{name: "overlong site key", path: long, opts: opts(origin(testsrv.ShopOrigin), tokA), status: 404, code: "not_found"},
		{name: "no origin", path: path, opts: opts(tokA), status: 403, code: "forbidden"},
		{name: "foreign origin", path: path, opts: opts(origin(evilOrigin), tokA), status: 403, code: "forbidden"},
		{name: "origin of another tenant's site", path: path, opts: opts(origin(originB), tokA), status: 403, code: "forbidden"},
		{name: "origin with path", path: path, opts: opts(origin(testsrv.ShopOrigin+"/"), tokA), status: 403, code: "forbidden"},
		{name: "null origin", path: path, opts: opts(origin("null"), tokA), status: 403, code: "forbidden"},
	}
	if needToken {
		o := origin(testsrv.ShopOrigin)
		cs = append(cs,
			badCase{name: "no token", path: path, opts: opts(o), status: 401, code: "unauthorized"},
			badCase{name: "empty bearer", path: path, opts: opts(o, hdr("Authorization", "Bearer ")), status: 401, code: "unauthorized"},
			badCase{name: "basic auth", path: path, opts: opts(o, hdr("Authorization", "Basic "+w.visA.Token)), status: 401, code: "unauthorized"},
			badCase{name: "wrong token", path: path, opts: opts(o, bearer("v_"+strings.Repeat("A", 43))), status: 401, code: "unauthorized"},
			badCase{name: "overlong token", path: path, opts: opts(o, bearer(strings.Repeat("v", 5000))), status: 401, code: "unauthorized"},
			badCase{name: "token of another site of the tenant", path: path, opts: opts(o, bearer(w.visOth.Token)), status: 401, code: "unauthorized"},
			badCase{name: "token of another tenant", path: path, opts: opts(o, bearer(w.visB.Token)), status: 401, code: "unauthorized"},
		)
	}
	for i := range cs {
		cs[i].route, cs[i].body = route, body
		cs[i].leak = []string{secretA, nameA, secretB, nameB}
	}
	return cs
}

// consoleCases refuse requests without a live session, and state-changing
// ones without the session's CSRF token or from another site. If adminOnly,
// an agent's session is refused too.
func (w *world) consoleCases(route, path string, body []byte, extra []opt, adminOnly bool) []badCase {
	opts := func(o ...opt) []opt { return append(slices.Clone(extra), o...) }
	bogus := cookie(&http.Cookie{Name: "tiski_session", Value: "s_" + strings.Repeat("x", 43)})
	cs := []badCase{
		{name: "no session", path: path, opts: opts(hdr("X-CSRF-Token", w.owner.csrf)), status: 401, code: "unauthorized"},
		{name: "unknown session", path: path, opts: opts(bogus, hdr("X-CSRF-Token", w.owner.csrf)), status: 401, code: "unauthorized"},
		{name: "overlong session", path: path, opts: opts(cookie(&http.Cookie{Name: "tiski_session", Value: strings.Repeat("s", 3000)})), status: 401, code: "unauthorized"},
		{name: "session in the wrong cookie", path: path, opts: opts(cookie(&http.Cookie{Name: "session", Value: w.owner.cookie.Value}), hdr("X-CSRF-Token", w.owner.csrf)), status: 401, code: "unauthorized"},
	}
	if method, _, _ := strings.Cut(route, " "); method != "GET" {
		withCookie := func(o ...opt) []opt { return opts(append([]opt{cookie(w.owner.cookie)}, o...)...) }
		cs = append(cs,
			badCase{name: "no CSRF token", path: path, opts: withCookie(), status: 403, code: "forbidden"},
			badCase{name: "wrong CSRF token", path: path, opts: withCookie(hdr("X-CSRF-Token", w.agent.csrf)), status: 403, code: "forbidden"},
			badCase{name: "cross-site request", path: path, opts: withCookie(hdr("X-CSRF-Token", w.owner.csrf), hdr("Sec-Fetch-Site", "cross-site")), status: 403, code: "forbidden"},
			badCase{name: "foreign origin", path: path, opts: withCookie(hdr("X-CSRF-Token", w.owner.csrf), origin(evilOrigin)), status: 403, code: "forbidden"},
		)
	}
	if adminOnly {
		cs = append(cs, badCase{name: "agent role", path: path, opts: opts(w.agent.auth()), status: 403, code: "forbidden"})
	}
	for i := range cs {
		cs[i].route, cs[i].body = route, body
		cs[i].leak = []string{secretA, nameA, secretB, nameB}
	}
	return cs
}

// queryCases refuse malformed paging parameters.
func queryCases(route, path string, auth []opt) []badCase {
	var cs []badCase
	for _, q := range []struct{ query, field string }{
		{"after=-1", "after"}, {"after=abc", "after"}, {"after=1.5", "after"}, {"after=99999999999999999999", "after"},
		{"limit=0", "limit"}, {"limit=-1", "limit"}, {"limit=9999", "limit"}, {"limit=501", "limit"}, {"limit=ten", "limit"},
		{"after=0&limit=0x10", "limit"},
	} {
		cs = append(cs, badCase{route: route, name: q.query, path: path + "?" + q.query, opts: auth, status: 400, code: "invalid", field: q.field})
	}
	return cs
}

// upload builds a multipart upload request body with a file part.
func (w *world) upload(t *testing.T, id, name string, data []byte) ([]byte, opt) {
	body, ct := multipartBody(t, formPart{name: "id", data: []byte(id)}, formPart{name: "file", filename: name, data: data})
	return body, ctype(ct)
}

// uploadCases refuse bad uploads; auth gets the request to the form.
func (w *world) uploadCases(t *testing.T, route, path string, auth []opt) []badCase {
	with := func(o ...opt) []opt { return append(slices.Clone(auth), o...) }
	png := pngBytes(t)
	c := func(name string, body []byte, ct opt, status int, code, field string) badCase {
		return badCase{route: route, name: name, path: path, body: body, opts: with(ct), status: status, code: code, field: field}
	}
	okBody, okCT := w.upload(t, "u-1", "kuva.png", png)
	noFile, noFileCT := multipartBody(t, formPart{name: "id", data: []byte("u-2")})
	unknown, unknownCT := multipartBody(t, formPart{name: "id", data: []byte("u-3")}, formPart{name: "owner", data: []byte("x")},
		formPart{name: "file", filename: "kuva.png", data: png})
	noID, noIDCT := multipartBody(t, formPart{name: "file", filename: "kuva.png", data: png})
	badID, badIDCT := w.upload(t, "not ok/id", "kuva.png", png)
	html, htmlCT := w.upload(t, "u-4", "kuva.png", []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"))
	svg, svgCT := w.upload(t, "u-5", "kuva.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`))
	exe, exeCT := w.upload(t, "u-6", "ohje.pdf", append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 200)...))
	empty, emptyCT := w.upload(t, "u-7", "tyhjä.png", nil)
	corrupt, corruptCT := w.upload(t, "u-8", "rikki.png", append(slices.Clone(png[:16]), bytes.Repeat([]byte{0xAB}, 100)...))
	bomb, bombCT := w.upload(t, "u-9", "pommi.png", pngWithSize(png, 100000, 100000))
	over, overCT := w.upload(t, "u-10", "iso.png", append(slices.Clone(png), make([]byte, uploadLimit)...))
	huge, hugeCT := w.upload(t, "u-11", "valtava.png", append(slices.Clone(png), make([]byte, 80<<10)...))
	return []badCase{
		c("JSON instead of a form", []byte(`{"id":"u-1"}`), jsonCT, 415, "unsupported", ""),
		c("no content type", okBody, hdr("Content-Type", ""), 415, "unsupported", ""),
		c("form without boundary", okBody, ctype("multipart/form-data"), 400, "invalid", ""),
		c("form with wrong boundary", okBody, ctype("multipart/form-data; boundary=nope"), 400, "invalid", ""),
		c("truncated form", okBody[:len(okBody)/2+40], okCT, 400, "invalid", ""),
		c("no file part", noFile, ctype(noFileCT), 400, "invalid", "file"),
		c("unknown form field", unknown, ctype(unknownCT), 400, "invalid", "owner"),
		c("no message id", noID, ctype(noIDCT), 400, "invalid", "id"),
		c("bad message id", badID, badIDCT, 400, "invalid", "id"),
		c("HTML named .png", html, htmlCT, 415, "unsupported", ""),
		c("SVG named .png", svg, svgCT, 415, "unsupported", ""),
		c("executable named .pdf", exe, exeCT, 415, "unsupported", ""),
		c("empty file", empty, emptyCT, 400, "invalid", "file"),
		c("PNG with a corrupt header", corrupt, corruptCT, 400, "invalid", "file"),
		c("decompression bomb", bomb, bombCT, 400, "invalid", "file"),
		c("file over the limit", over, overCT, 413, "too_large", "file"),
		c("body far over the limit", huge, hugeCT, 413, "too_large", ""),
	}
}

// pngWithSize rewrites a PNG's header to claim other dimensions, with a
// valid checksum, as a decompression bomb would.
func pngWithSize(png []byte, width, height uint32) []byte {
	out := slices.Clone(png)
	// Signature (8), IHDR length (4), "IHDR" (4), width, height, …, CRC.
	binary.BigEndian.PutUint32(out[16:20], width)
	binary.BigEndian.PutUint32(out[20:24], height)
	binary.BigEndian.PutUint32(out[29:33], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func (w *world) badCases(t *testing.T) []badCase {
	env := w.env
	var cs []badCase
	add := func(more ...badCase) { cs = append(cs, more...) }
	shop := origin(testsrv.ShopOrigin)
	visA := []opt{shop, bearer(w.visA.Token)}
	visA2 := []opt{shop, bearer(w.visA2.Token)}
	leaks := []string{secretA, nameA, secretB, nameB}
	notFoundA := func(route, name, path string, body []byte, opts ...opt) badCase {
		return badCase{route: route, name: name, path: path, body: body, opts: opts, status: 404, code: "not_found", leak: leaks}
	}

	// Unknown endpoints and methods answer in the API's error shape.
	add(badCase{route: "/api/", method: "GET", name: "unknown endpoint", path: "/api/widget/v1/nonsense", status: 404, code: "not_found"})
	add(badCase{route: "/api/", method: "DELETE", name: "unknown method on a known path", path: "/api/console/v1/me", status: 404, code: "not_found"})

	// Built front-end files: nothing outside the build is reachable.
	add(badCase{route: "GET /widget.js", name: "query is ignored, not reflected", path: "/widget.js?x=%3Cscript%3E",
		check: func(t *testing.T, r reply) {
			if (r.status != 200 && r.status != 404) || bytes.Contains(r.body, []byte("<script>")) {
				t.Fatalf("widget.js: %d %s", r.status, r.body)
			}
		}})
	for _, p := range []string{"/assets/..%2fmanifest.json", "/assets/.gitkeep%2f..", "/assets/nosuch-123.js", "/assets/%2e%2e"} {
		add(badCase{route: "GET /assets/{file}", name: "outside the build: " + p, path: p,
			check: func(t *testing.T, r reply) {
				if r.status != 404 && r.status != 400 {
					t.Fatalf("%s: %d %s", p, r.status, r.body)
				}
			}})
	}

	// Health, files and the home page.
	add(badCase{route: "GET /healthz", name: "answers with nothing but its status", path: "/healthz?verbose=1&x=%zz",
		check: func(t *testing.T, r reply) {
			if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
				t.Fatalf("healthz: %d %s", r.status, r.body)
			}
		}})
	add(badCase{route: "GET /readyz", name: "answers with nothing but its status", path: "/readyz?db=1",
		check: func(t *testing.T, r reply) {
			if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ready"}` {
				t.Fatalf("readyz: %d %s", r.status, r.body)
			}
		}})
	add(badCase{route: "GET /{$}", name: "does not reflect a set-up token once set up", path: "/?token=" + url.QueryEscape(`"><script>alert(1)</script>`),
		check: func(t *testing.T, r reply) {
			if r.status != 200 || bytes.Contains(r.body, []byte("alert(1)")) || bytes.Contains(r.body, []byte(`id="setup"`)) {
				t.Fatalf("home: %d %s", r.status, r.body)
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Fatalf("home CSP %q", csp)
			}
		}})
	fileB, _ := url.Parse(w.fileB)
	q := fileB.Query()
	fileCase := func(name, path string, status int) badCase {
		return badCase{route: "GET /files/{tenant}/{id}", name: name, path: path, check: func(t *testing.T, r reply) {
			if r.status != status {
				t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
			}
			if bytes.Contains(r.body, []byte("\x89PNG")) || strings.HasPrefix(r.header.Get("Content-Type"), "image/") {
				t.Fatalf("a refused file request served the file")
			}
		}}
	}
	parts := strings.Split(fileB.Path, "/") // "", "files", tenant, id
	tamper := func(sig string) string {
		b := []byte(sig)
		b[len(b)-1] ^= 1
		return string(b)
	}
	add(
		fileCase("no signature", fileB.Path, 404),
		fileCase("tampered signature", fileB.Path+"?exp="+q.Get("exp")+"&sig="+tamper(q.Get("sig")), 404),
		fileCase("signature of another expiry", fileB.Path+"?exp=9999999999&sig="+q.Get("sig"), 404),
		fileCase("expiry not a number", fileB.Path+"?exp=soon&sig="+q.Get("sig"), 404),
		fileCase("another tenant in the path", "/files/"+env.Tenant.ID+"/"+parts[3]+"?"+fileB.RawQuery, 404),
		fileCase("not an id", "/files/"+parts[2]+"/..%2f..%2ftiski.db?"+fileB.RawQuery, 404),
		fileCase("unknown file", "/files/"+parts[2]+"/"+w.convB+"?"+fileB.RawQuery, 404),
	)

	// First-run set-up, on a node that is set up already.
	setupOK := string(mustJSON(map[string]any{"token": env.SetupToken, "organisation": "Kolmas Oy", "site_name": "K",
		"site_origins": []string{"https://k.example"}, "email": "k@k.example", "name": "K", "password": testsrv.Password}))
	add(jsonCases("POST /api/setup", "/api/setup", nil, setupOK, "organisation")...)
	add(
		badCase{route: "GET /api/setup", name: "needed is false once users exist", path: "/api/setup", check: func(t *testing.T, r reply) {
			if v := decode[map[string]bool](t, r, 200); len(v) != 1 || v["needed"] {
				t.Fatalf("setup status %s", r.body)
			}
		}},
		badCase{route: "POST /api/setup", name: "wrong token", path: "/api/setup", opts: []opt{jsonCT},
			body: []byte(strings.Replace(setupOK, env.SetupToken, "wrong", 1)), status: 403, code: "forbidden"},
		badCase{route: "POST /api/setup", name: "no token", path: "/api/setup", opts: []opt{jsonCT},
			body: []byte(`{"organisation":"X"}`), status: 403, code: "forbidden"},
		badCase{route: "POST /api/setup", name: "cross-site", path: "/api/setup", opts: []opt{jsonCT, hdr("Sec-Fetch-Site", "cross-site")},
			body: []byte(setupOK), status: 403, code: "forbidden"},
		badCase{route: "POST /api/setup", name: "right token but set up already", path: "/api/setup", opts: []opt{jsonCT},
			body: []byte(setupOK), status: 409, code: "conflict"},
	)

	// Widget API.
	add(w.widgetCases("OPTIONS "+wr+"/", w.wA+"/visitors", nil, []opt{hdr("Access-Control-Request-Method", "POST")}, false)...)
	add(badCase{route: "OPTIONS " + wr + "/", name: "preflight from an allowed origin", path: w.wA + "/me",
		opts: []opt{shop, hdr("Access-Control-Request-Method", "PATCH")}, check: func(t *testing.T, r reply) {
			if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != testsrv.ShopOrigin ||
				!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Fatalf("preflight: %d %v", r.status, r.header)
			}
		}})
	add(w.widgetCases("GET "+wr, w.wA, nil, nil, false)...)
	add(badCase{route: "GET " + wr, name: "public config holds no secrets", path: w.wA, opts: []opt{shop},
		check: func(t *testing.T, r reply) {
			if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != testsrv.ShopOrigin {
				t.Fatalf("site config: %d %v", r.status, r.header)
			}
			for _, s := range []string{env.Site.IdentitySecret, env.Site.ID, env.Tenant.ID, testsrv.ShopOrigin, "allowed_origins"} {
				if bytes.Contains(r.body, []byte(s)) {
					t.Fatalf("site config shows %q: %s", s, r.body)
				}
			}
		}})

	add(w.widgetCases("POST "+wr+"/visitors", w.wA+"/visitors", []byte(`{"language":"fi"}`), []opt{jsonCT}, false)...)
	add(jsonCases("POST "+wr+"/visitors", w.wA+"/visitors", []opt{shop}, `{"language":"fi"}`, "language")...)

	add(w.widgetCases("GET "+wr+"/me", w.wA+"/me", nil, nil, true)...)
	add(badCase{route: "GET " + wr + "/me", name: "lowercase bearer scheme is not a token", path: w.wA + "/me",
		opts: []opt{shop, hdr("Authorization", "bearer")}, status: 401, code: "unauthorized"})

	add(w.widgetCases("PATCH "+wr+"/me", w.wA+"/me", []byte(`{"name":"Uusi"}`), []opt{jsonCT}, true)...)
	add(jsonCases("PATCH "+wr+"/me", w.wA+"/me", visA, `{"name":"Uusi"}`, "name")...)
	tooMany := map[string]string{}
	for i := range 51 {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	for _, p := range []struct {
		name, body, status, code, field string
	}{
		{"bad email", `{"email":"not an email"}`, "400", "invalid", "email"},
		{"email with display name", `{"email":"Aapo <aapo@example.com>"}`, "400", "invalid", "email"},
		{"control character in name", `{"name":"Aapo\u0007"}`, "400", "invalid", "name"},
		{"name too long", `{"name":"` + strings.Repeat("ä", 101) + `"}`, "413", "too_large", "name"},
		{"unknown language", `{"language":"de"}`, "400", "invalid", "language"},
		{"empty attribute key", `{"attributes":{"":"x"}}`, "400", "invalid", "attributes"},
		{"attribute too long", `{"attributes":{"cart":"` + strings.Repeat("x", 501) + `"}}`, "413", "too_large", "attributes"},
		{"too many attributes, with a valid name", string(mustJSON(map[string]any{"name": "Ei tallennu", "attributes": tooMany})), "400", "invalid", "attributes"},
		{"attribute value not a string", `{"attributes":{"cart":3}}`, "400", "invalid", ""},
	} {
		st := 400
		if p.status == "413" {
			st = 413
		}
		add(badCase{route: "PATCH " + wr + "/me", name: p.name, path: w.wA + "/me", body: []byte(p.body), opts: append(slices.Clone(visA), jsonCT),
			status: st, code: p.code, field: p.field})
	}

	add(w.widgetCases("GET "+wr+"/conversations", w.wA+"/conversations", nil, nil, true)...)

	add(w.widgetCases("POST "+wr+"/conversations", w.wA+"/conversations", nil, nil, true)...)
	add(jsonCases("POST "+wr+"/conversations", w.wA+"/conversations", visA2, `{"department_id":"`+w.deptA.ID+`"}`, "department_id")...)
	add(
		badCase{route: "POST " + wr + "/conversations", name: "unknown department", path: w.wA + "/conversations",
			body: []byte(`{"department_id":"nope"}`), opts: []opt{shop, bearer(w.visA3.Token), jsonCT},
			status: 400, code: "invalid", field: "department_id"},
		badCase{route: "POST " + wr + "/conversations", name: "department of another tenant", path: w.wA + "/conversations",
			body: []byte(`{"department_id":"` + w.deptB.ID + `"}`), opts: []opt{shop, bearer(w.visA3.Token), jsonCT},
			status: 400, code: "invalid", field: "department_id", leak: []string{"Myynti"}},
	)

	msgs := w.wA + "/conversations/" + w.convA + "/messages"
	add(w.widgetCases("GET "+wr+"/conversations/{id}/messages", msgs, nil, nil, true)...)
	add(queryCases("GET "+wr+"/conversations/{id}/messages", msgs, visA)...)
	add(
		notFoundA("GET "+wr+"/conversations/{id}/messages", "another visitor's conversation", msgs, nil, visA2...),
		notFoundA("GET "+wr+"/conversations/{id}/messages", "another tenant's conversation", w.wA+"/conversations/"+w.convB+"/messages", nil, visA...),
		notFoundA("GET "+wr+"/conversations/{id}/messages", "unknown conversation", w.wA+"/conversations/nope/messages", nil, visA...),
	)

	closeA := w.wA + "/conversations/" + w.convA + "/close"
	add(w.widgetCases("POST "+wr+"/conversations/{id}/close", closeA, nil, nil, true)...)
	add(
		notFoundA("POST "+wr+"/conversations/{id}/close", "another visitor's conversation", closeA, nil, visA2...),
		notFoundA("POST "+wr+"/conversations/{id}/close", "another tenant's conversation", w.wA+"/conversations/"+w.convB+"/close", nil, visA...),
	)

	rateA := w.wA + "/conversations/" + w.convA + "/rating"
	rating := `{"score":"good","comment":"kiitos"}`
	add(w.widgetCases("POST "+wr+"/conversations/{id}/rating", rateA, []byte(rating), []opt{jsonCT}, true)...)
	add(jsonCases("POST "+wr+"/conversations/{id}/rating", rateA, visA, rating, "comment")...)
	withJSON := func(o []opt) []opt { return append(slices.Clone(o), jsonCT) }
	add(
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "empty body", path: rateA, body: []byte{}, opts: withJSON(visA), status: 400, code: "invalid"},
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "unknown score", path: rateA, body: []byte(`{"score":"great"}`), opts: withJSON(visA), status: 400, code: "invalid", field: "score"},
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "no score", path: rateA, body: []byte(`{"comment":"hyvä"}`), opts: withJSON(visA), status: 400, code: "invalid", field: "score"},
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "comment too long", path: rateA,
			body: []byte(`{"score":"bad","comment":"` + strings.Repeat("ö", 1001) + `"}`), opts: withJSON(visA), status: 413, code: "too_large", field: "comment"},
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "control character in comment", path: rateA,
			body: []byte(`{"score":"bad","comment":"a\u001bb"}`), opts: withJSON(visA), status: 400, code: "invalid", field: "comment"},
		badCase{route: "POST " + wr + "/conversations/{id}/rating", name: "nothing to rate yet", path: w.wA + "/conversations/" + w.convA2 + "/rating",
			body: []byte(rating), opts: withJSON(visA2), status: 409, code: "conflict"},
		notFoundA("POST "+wr+"/conversations/{id}/rating", "another visitor's conversation", rateA, []byte(rating), withJSON(visA2)...),
		notFoundA("POST "+wr+"/conversations/{id}/rating", "another tenant's conversation", w.wA+"/conversations/"+w.convB+"/rating", []byte(rating), withJSON(visA)...),
	)

	files := w.wA + "/files?conv=" + w.convA
	okUpload, okCT := w.upload(t, "u-ok", "kuva.png", pngBytes(t))
	add(w.widgetCases("POST "+wr+"/files", files, okUpload, []opt{okCT}, true)...)
	add(w.uploadCases(t, "POST "+wr+"/files", files, visA)...)
	add(
		notFoundA("POST "+wr+"/files", "into another visitor's conversation", files, okUpload, append(slices.Clone(visA2), okCT)...),
		notFoundA("POST "+wr+"/files", "into another tenant's conversation", w.wA+"/files?conv="+w.convB, okUpload, append(slices.Clone(visA), okCT)...),
	)

	add(w.widgetCases("GET "+wr+"/rt", w.wA+"/rt", nil, nil, false)...)

	hello := func(token string) []byte { return mustJSON(map[string]any{"t": "hello", "v": 1, "token": token}) }
	sse := w.wA + "/rt/sse"
	add(w.widgetCases("POST "+wr+"/rt/sse", sse, hello(w.visA.Token), []opt{jsonCT}, false)...)
	sseCase := func(name string, body []byte, status int, code, field string) badCase {
		return badCase{route: "POST " + wr + "/rt/sse", name: name, path: sse, body: body, opts: []opt{shop, jsonCT}, status: status, code: code, field: field, leak: leaks}
	}
	add(
		sseCase("empty body", []byte{}, 400, "invalid", ""),
		sseCase("not JSON", []byte("hello"), 400, "invalid", ""),
		sseCase("invalid UTF-8", []byte(`{"t":"hello","v":1,"token":"`+w.visA.Token+"\xff\"}"), 400, "invalid", ""),
		sseCase("not a hello", []byte(`{"t":"ping"}`), 400, "invalid", "t"),
		sseCase("unknown field", []byte(`{"t":"hello","v":1,"token":"x","admin":true}`), 400, "invalid", ""),
		sseCase("trailing data", append(hello(w.visA.Token), []byte(`{"t":"ping"}`)...), 400, "invalid", ""),
		sseCase("no version", []byte(`{"t":"hello","token":"`+w.visA.Token+`"}`), 400, "invalid", "v"),
		sseCase("future version", []byte(`{"t":"hello","v":2,"token":"`+w.visA.Token+`"}`), 415, "unsupported", ""),
		sseCase("negative resume point", []byte(`{"t":"hello","v":1,"token":"`+w.visA.Token+`","subs":[{"conv":"`+w.convA+`","after":-1}]}`), 400, "invalid", "subs"),
		sseCase("frame too large", []byte(`{"t":"hello","v":1,"token":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "too_large", ""),
		sseCase("no token", []byte(`{"t":"hello","v":1}`), 401, "unauthorized", ""),
		sseCase("wrong token", hello("v_nope"), 401, "unauthorized", ""),
		sseCase("token of another tenant", hello(w.visB.Token), 401, "unauthorized", ""),
	)

	frames := w.wA + "/rt/frames"
	add(w.widgetCases("POST "+wr+"/rt/frames", frames, []byte(`{"t":"ping"}`), nil, true)...)
	fr := func(name string, body []byte, status int, code, field string) badCase {
		return badCase{route: "POST " + wr + "/rt/frames", name: name, path: frames, body: body, opts: visA, status: status, code: code, field: field, leak: leaks}
	}
	add(w.frameCases(fr)...)

	// Console API.
	loginOK := string(mustJSON(map[string]string{"email": env.Owner.Email, "password": testsrv.Password}))
	add(jsonCases("POST "+cr+"/login", cr+"/login", nil, loginOK, "email")...)
	add(
		badCase{route: "POST " + cr + "/login", name: "cross-site", path: cr + "/login", body: []byte(loginOK),
			opts: []opt{jsonCT, hdr("Sec-Fetch-Site", "cross-site")}, status: 403, code: "forbidden"},
		badCase{route: "POST " + cr + "/login", name: "foreign origin", path: cr + "/login", body: []byte(loginOK),
			opts: []opt{jsonCT, origin(evilOrigin)}, status: 403, code: "forbidden"},
		badCase{route: "POST " + cr + "/login", name: "empty body", path: cr + "/login", body: []byte{}, opts: []opt{jsonCT}, status: 400, code: "invalid"},
		badCase{route: "POST " + cr + "/login", name: "wrong password of another tenant's owner", path: cr + "/login",
			body: mustJSON(map[string]string{"email": "owner@b.example", "password": "wrong password!"}), opts: []opt{jsonCT}, status: 401, code: "unauthorized"},
	)

	add(w.consoleCases("POST "+cr+"/logout", cr+"/logout", nil, nil, false)...)
	add(w.consoleCases("GET "+cr+"/me", cr+"/me", nil, nil, false)...)

	status := []byte(`{"status":"online"}`)
	add(w.consoleCases("PUT "+cr+"/me/status", cr+"/me/status", status, []opt{jsonCT}, false)...)
	add(jsonCases("PUT "+cr+"/me/status", cr+"/me/status", []opt{w.agent.auth()}, `{"status":"online"}`, "status")...)
	add(badCase{route: "PUT " + cr + "/me/status", name: "unknown status", path: cr + "/me/status", body: []byte(`{"status":"busy"}`),
		opts: []opt{w.agent.auth(), jsonCT}, status: 400, code: "invalid", field: "status"})

	inbox := cr + "/conversations"
	add(w.consoleCases("GET "+inbox, inbox, nil, nil, false)...)
	add(queryCases("GET "+inbox, inbox, []opt{w.agent.auth()})...)
	add(
		badCase{route: "GET " + inbox, name: "unknown status", path: inbox + "?status=queued,deleted", opts: []opt{w.agent.auth()}, status: 400, code: "invalid", field: "status"},
		badCase{route: "GET " + inbox, name: "before not a time", path: inbox + "?before=yesterday", opts: []opt{w.agent.auth()}, status: 400, code: "invalid", field: "before"},
	)

	conv := cr + "/conversations/" + w.convA
	add(w.consoleCases("GET "+cr+"/conversations/{id}", conv, nil, nil, false)...)
	add(
		notFoundA("GET "+cr+"/conversations/{id}", "another tenant's conversation", conv, nil, w.ownerB.auth()),
		notFoundA("GET "+cr+"/conversations/{id}", "unknown conversation", cr+"/conversations/nope", nil, w.owner.auth()),
	)

	add(w.consoleCases("GET "+cr+"/conversations/{id}/messages", conv+"/messages", nil, nil, false)...)
	add(queryCases("GET "+cr+"/conversations/{id}/messages", conv+"/messages", []opt{w.agent.auth()})...)
	add(notFoundA("GET "+cr+"/conversations/{id}/messages", "another tenant's conversation", conv+"/messages", nil, w.ownerB.auth()))

	assign := []byte(`{"agent_id":"","note":"ota tämä"}`)
	add(w.consoleCases("POST "+cr+"/conversations/{id}/assign", conv+"/assign", assign, []opt{jsonCT}, false)...)
	add(jsonCases("POST "+cr+"/conversations/{id}/assign", conv+"/assign", []opt{w.agent.auth()}, string(assign), "note")...)
	add(
		notFoundA("POST "+cr+"/conversations/{id}/assign", "another tenant's conversation", conv+"/assign", nil, w.ownerB.auth()),
		badCase{route: "POST " + cr + "/conversations/{id}/assign", name: "to an agent of another tenant", path: conv + "/assign",
			body: mustJSON(map[string]string{"agent_id": w.agentBUser.ID}), opts: []opt{w.owner.auth(), jsonCT}, status: 400, code: "invalid", field: "agent_id", leak: []string{"B Agent"}},
		badCase{route: "POST " + cr + "/conversations/{id}/assign", name: "agent assigning to a colleague", path: conv + "/assign",
			body: mustJSON(map[string]string{"agent_id": env.Agents[1].ID}), opts: []opt{w.agent.auth(), jsonCT}, status: 403, code: "forbidden"},
		badCase{route: "POST " + cr + "/conversations/{id}/assign", name: "note too long", path: conv + "/assign",
			body: []byte(`{"note":"` + strings.Repeat("n", 1001) + `"}`), opts: []opt{w.agent.auth(), jsonCT}, status: 413, code: "too_large", field: "note"},
	)

	add(w.consoleCases("POST "+cr+"/conversations/{id}/release", conv+"/release", nil, nil, false)...)
	add(
		notFoundA("POST "+cr+"/conversations/{id}/release", "another tenant's conversation", conv+"/release", nil, w.ownerB.auth()),
		badCase{route: "POST " + cr + "/conversations/{id}/release", name: "not assigned", path: conv + "/release", opts: []opt{w.agent.auth()}, status: 409, code: "conflict"},
	)

	add(w.consoleCases("POST "+cr+"/conversations/{id}/close", conv+"/close", nil, nil, false)...)
	add(notFoundA("POST "+cr+"/conversations/{id}/close", "another tenant's conversation", conv+"/close", nil, w.ownerB.auth()))

	agentFiles := conv + "/files"
	add(w.consoleCases("POST "+cr+"/conversations/{id}/files", agentFiles, okUpload, []opt{okCT}, false)...)
	add(w.uploadCases(t, "POST "+cr+"/conversations/{id}/files", agentFiles, []opt{w.owner.auth()})...)
	add(
		notFoundA("POST "+cr+"/conversations/{id}/files", "into another tenant's conversation", agentFiles, okUpload, w.ownerB.auth(), okCT),
		badCase{route: "POST " + cr + "/conversations/{id}/files", name: "into a conversation not assigned to the agent", path: agentFiles,
			body: okUpload, opts: []opt{w.agent.auth(), okCT}, status: 409, code: "conflict"},
	)

	vis := cr + "/visitors/" + w.visA.ID
	add(w.consoleCases("GET "+cr+"/visitors/{id}", vis, nil, nil, false)...)
	add(
		notFoundA("GET "+cr+"/visitors/{id}", "another tenant's visitor", vis, nil, w.ownerB.auth()),
		notFoundA("GET "+cr+"/visitors/{id}", "unknown visitor", cr+"/visitors/nope", nil, w.owner.auth()),
	)
	add(w.consoleCases("GET "+cr+"/visitors/{id}/conversations", vis+"/conversations", nil, nil, false)...)
	add(notFoundA("GET "+cr+"/visitors/{id}/conversations", "another tenant's visitor", vis+"/conversations", nil, w.ownerB.auth()))

	add(w.consoleCases("GET "+cr+"/sites", cr+"/sites", nil, nil, false)...)

	newSite := `{"name":"Uusi kauppa","allowed_origins":["https://uusi.example"]}`
	add(w.consoleCases("POST "+cr+"/sites", cr+"/sites", []byte(newSite), []opt{jsonCT}, true)...)
	add(jsonCases("POST "+cr+"/sites", cr+"/sites", []opt{w.admin.auth()}, newSite, "name")...)
	for _, s := range []struct{ name, body, field string }{
		{"no name", `{"allowed_origins":["https://uusi.example"]}`, "name"},
		{"blank name", `{"name":"   "}`, "name"},
		{"script origin", `{"name":"X","allowed_origins":["javascript:alert(1)"]}`, "allowed_origins"},
		{"origin with a path", `{"name":"X","allowed_origins":["https://uusi.example/kauppa"]}`, "allowed_origins"},
		{"origin with credentials", `{"name":"X","allowed_origins":["https://a:b@uusi.example"]}`, "allowed_origins"},
		{"unknown language", `{"name":"X","language":"de"}`, "language"},
		{"unknown time zone", `{"name":"X","timezone":"Mars/Olympus"}`, "timezone"},
		{"server's local time zone", `{"name":"X","timezone":"Local"}`, "timezone"},
		{"too many origins", string(mustJSON(map[string]any{"name": "X", "allowed_origins": manyOrigins(51)})), "allowed_origins"},
	} {
		add(badCase{route: "POST " + cr + "/sites", name: s.name, path: cr + "/sites", body: []byte(s.body), opts: []opt{w.admin.auth(), jsonCT},
			status: 400, code: "invalid", field: s.field})
	}

	siteA := cr + "/sites/" + env.Site.ID
	add(w.consoleCases("PATCH "+cr+"/sites/{id}", siteA, []byte(`{"name":"Uusi"}`), []opt{jsonCT}, true)...)
	add(jsonCases("PATCH "+cr+"/sites/{id}", siteA, []opt{w.admin.auth()}, `{"name":"Uusi"}`, "name")...)
	for _, s := range []struct{ name, body, field string }{
		{"bad colour, with a valid name", `{"name":"Ei tallennu","settings":{"color":"red","position":"right"}}`, "settings.color"},
		{"bad position", `{"settings":{"color":"#112233","position":"middle"}}`, "settings.position"},
		{"greeting in an unknown language", `{"settings":{"color":"#112233","position":"left","greeting":{"de":"Hallo"}}}`, "settings.greeting"},
		{"bad origin, with a valid name", `{"name":"Ei tallennu","allowed_origins":["https://ok.example","ftp://files.example"]}`, "allowed_origins"},
		{"empty name", `{"name":""}`, "name"},
	} {
		add(badCase{route: "PATCH " + cr + "/sites/{id}", name: s.name, path: siteA, body: []byte(s.body), opts: []opt{w.admin.auth(), jsonCT},
			status: 400, code: "invalid", field: s.field})
	}
	add(
		notFoundA("PATCH "+cr+"/sites/{id}", "another tenant's site", cr+"/sites/"+w.siteB.ID, []byte(`{"name":"Kaapattu"}`), w.owner.auth(), jsonCT),
		notFoundA("PATCH "+cr+"/sites/{id}", "unknown site", cr+"/sites/nope", []byte(`{"name":"X"}`), w.owner.auth(), jsonCT),
	)

	add(w.consoleCases("GET "+cr+"/users", cr+"/users", nil, nil, false)...)

	newUser := string(mustJSON(map[string]any{"email": "uusi@kauppa.example", "name": "Uusi", "password": testsrv.Password}))
	add(w.consoleCases("POST "+cr+"/users", cr+"/users", []byte(newUser), []opt{jsonCT}, true)...)
	add(jsonCases("POST "+cr+"/users", cr+"/users", []opt{w.admin.auth()}, newUser, "email")...)
	for _, u := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"admin creating an owner", map[string]any{"email": "o2@kauppa.example", "role": "owner", "password": testsrv.Password}, 403, "forbidden", ""},
		{"unknown role", map[string]any{"email": "x@kauppa.example", "role": "root", "password": testsrv.Password}, 400, "invalid", "role"},
		{"bad email", map[string]any{"email": "x@", "password": testsrv.Password}, 400, "invalid", "email"},
		{"email taken in the tenant", map[string]any{"email": env.Agents[1].Email, "password": testsrv.Password}, 400, "invalid", "email"},
		{"email taken in another tenant", map[string]any{"email": "OWNER@b.example", "password": testsrv.Password}, 400, "invalid", "email"},
		{"short password", map[string]any{"email": "x@kauppa.example", "password": "lyhyt"}, 400, "invalid", "password"},
		{"no password", map[string]any{"email": "x@kauppa.example"}, 400, "invalid", "password"},
		{"password too long", map[string]any{"email": "x@kauppa.example", "password": strings.Repeat("p", 129)}, 400, "invalid", "password"},
		{"capacity too high", map[string]any{"email": "x@kauppa.example", "password": testsrv.Password, "max_chats": 51}, 400, "invalid", "max_chats"},
		{"negative capacity", map[string]any{"email": "x@kauppa.example", "password": testsrv.Password, "max_chats": -1}, 400, "invalid", "max_chats"},
	} {
		add(badCase{route: "POST " + cr + "/users", name: u.name, path: cr + "/users", body: mustJSON(u.body), opts: []opt{w.admin.auth(), jsonCT},
			status: u.status, code: u.code, field: u.field, leak: []string{"B Owner"}})
	}

	agentPath := cr + "/users/" + w.agentUser.ID
	add(w.consoleCases("PATCH "+cr+"/users/{id}", agentPath, []byte(`{"name":"Uusi"}`), []opt{jsonCT}, true)...)
	add(jsonCases("PATCH "+cr+"/users/{id}", agentPath, []opt{w.admin.auth()}, `{"name":"Uusi"}`, "name")...)
	for _, u := range []struct {
		name, path, body string
		who              *session
		status           int
		code, field      string
	}{
		{"last owner disables themself", cr + "/users/" + env.Owner.ID, `{"disabled":true}`, w.owner, 409, "conflict", ""},
		{"last owner demotes themself", cr + "/users/" + env.Owner.ID, `{"role":"admin"}`, w.owner, 409, "conflict", ""},
		{"admin disables the owner", cr + "/users/" + env.Owner.ID, `{"disabled":true}`, w.admin, 403, "forbidden", ""},
		{"admin promotes an agent to owner", agentPath, `{"role":"owner"}`, w.admin, 403, "forbidden", ""},
		{"unknown role", agentPath, `{"role":"root"}`, w.owner, 400, "invalid", "role"},
		{"capacity zero", agentPath, `{"max_chats":0}`, w.owner, 400, "invalid", "max_chats"},
		{"department of another tenant, with a valid name", agentPath, `{"name":"Ei tallennu","departments":["` + w.deptB.ID + `"]}`, w.owner, 400, "invalid", "departments"},
		{"empty name", agentPath, `{"name":" "}`, w.owner, 400, "invalid", "name"},
		{"another tenant's user", cr + "/users/" + w.agentBUser.ID, `{"disabled":true}`, w.owner, 404, "not_found", ""},
		{"unknown user", cr + "/users/nope", `{"disabled":true}`, w.owner, 404, "not_found", ""},
	} {
		add(badCase{route: "PATCH " + cr + "/users/{id}", name: u.name, path: u.path, body: []byte(u.body), opts: []opt{u.who.auth(), jsonCT},
			status: u.status, code: u.code, field: u.field, leak: []string{"B Agent", "Myynti"}})
	}

	add(w.consoleCases("GET "+cr+"/departments", cr+"/departments", nil, nil, false)...)
	add(w.consoleCases("POST "+cr+"/departments", cr+"/departments", []byte(`{"name":"Laskutus"}`), []opt{jsonCT}, true)...)
	add(jsonCases("POST "+cr+"/departments", cr+"/departments", []opt{w.admin.auth()}, `{"name":"Laskutus"}`, "name")...)
	add(
		badCase{route: "POST " + cr + "/departments", name: "no name", path: cr + "/departments", body: []byte(`{"name":""}`), opts: []opt{w.admin.auth(), jsonCT}, status: 400, code: "invalid", field: "name"},
		badCase{route: "POST " + cr + "/departments", name: "name taken", path: cr + "/departments", body: []byte(`{"name":"Tuki"}`), opts: []opt{w.admin.auth(), jsonCT}, status: 400, code: "invalid", field: "name"},
	)

	add(w.consoleCases("GET "+cr+"/rt", cr+"/rt", nil, nil, false)...)
	add(badCase{route: "GET " + cr + "/rt", name: "socket from a foreign origin", path: cr + "/rt", opts: []opt{w.agent.auth(), origin(evilOrigin)}, status: 403, code: "forbidden"})

	consoleHello := []byte(`{"t":"hello","v":1}`)
	add(w.consoleCases("POST "+cr+"/rt/sse", cr+"/rt/sse", consoleHello, []opt{jsonCT}, false)...)
	csse := func(name string, body []byte, status int, code, field string) badCase {
		return badCase{route: "POST " + cr + "/rt/sse", name: name, path: cr + "/rt/sse", body: body, opts: []opt{w.agent.auth(), jsonCT}, status: status, code: code, field: field}
	}
	add(
		csse("not a hello", []byte(`{"t":"send","id":"x","body":"hi"}`), 400, "invalid", "t"),
		csse("invalid UTF-8", []byte("{\"t\":\"hello\",\"v\":1,\"rid\":\"\xc3\"}"), 400, "invalid", ""),
		csse("future version", []byte(`{"t":"hello","v":7}`), 415, "unsupported", ""),
		csse("too many subscriptions", helloWithSubs(101), 400, "invalid", "subs"),
		csse("frame too large", []byte(`{"t":"hello","v":1,"rid":"`+strings.Repeat("r", 70<<10)+`"}`), 413, "too_large", ""),
	)

	add(w.consoleCases("POST "+cr+"/rt/frames", cr+"/rt/frames", []byte(`{"t":"ping"}`), nil, false)...)
	cfr := func(name string, body []byte, status int, code, field string) badCase {
		return badCase{route: "POST " + cr + "/rt/frames", name: name, path: cr + "/rt/frames", body: body, opts: []opt{w.agent.auth()}, status: status, code: code, field: field}
	}
	add(w.frameCases(cfr)...)
	return cs
}

// frameCases refuse malformed bodies of the frames endpoints. A body that
// cannot be split into frames is refused as a whole; a bad frame may be
// refused as a whole or answered with an error frame of its own.
func (w *world) frameCases(c func(name string, body []byte, status int, code, field string) badCase) []badCase {
	var fifty []string
	for range 51 {
		fifty = append(fifty, `{"t":"ping"}`)
	}
	frame := func(name, body, field string) badCase {
		bc := c(name, []byte(body), 0, "", "")
		bc.check = func(t *testing.T, r reply) { checkFrameRefused(t, r, field) }
		return bc
	}
	conv := w.convA
	return []badCase{
		frame("empty body", "", ""),
		c("empty array", []byte(`[]`), 400, "invalid", ""),
		c("too many frames", []byte("["+strings.Join(fifty, ",")+"]"), 400, "invalid", ""),
		c("broken array", []byte(`[{"t":"ping"},`), 400, "invalid", ""),
		c("array with trailing data", []byte(`[{"t":"ping"}] x`), 400, "invalid", ""),
		c("body too large", []byte(`[{"t":"send","id":"x","body":"`+strings.Repeat("x", 300<<10)+`"}]`), 413, "too_large", ""),
		frame("not JSON", `t=ping`, ""),
		frame("array of numbers", `[1,2]`, ""),
		frame("invalid UTF-8", "{\"t\":\"send\",\"id\":\"x1\",\"body\":\"\xed\xa0\x80\"}", ""),
		frame("invalid UTF-8 in an array", "[{\"t\":\"ping\"},{\"t\":\"send\",\"id\":\"x1\",\"body\":\"\xff\"}]", ""),
		frame("unknown frame type", `{"t":"delete_all"}`, "t"),
		frame("no frame type", `{"rid":"1"}`, "t"),
		frame("unknown field", `{"t":"ping","sudo":true}`, ""),
		frame("trailing data", `{"t":"ping"}{"t":"ping"}`, ""),
		frame("send without id", `{"t":"send","body":"hei"}`, "id"),
		frame("fetch without after", `{"t":"fetch","conv":"`+conv+`"}`, "after"),
		frame("fetch with negative after", `{"t":"fetch","conv":"`+conv+`","after":-5}`, "after"),
		frame("fetch with limit too big", `{"t":"fetch","conv":"`+conv+`","after":0,"limit":501}`, "limit"),
		frame("read with seq 0", `{"t":"read","conv":"`+conv+`","seq":0}`, "seq"),
		frame("typing without on", `{"t":"typing","conv":"`+conv+`"}`, "on"),
		frame("rid too long", `{"t":"ping","rid":"`+strings.Repeat("r", 65)+`"}`, ""),
		frame("hello after the stream opened", `{"t":"hello","v":1}`, ""),
	}
}

// checkFrameRefused accepts a 400 invalid answer, or a 200 answer whose
// replies include an invalid error frame (naming field, if given).
func checkFrameRefused(t *testing.T, r reply, field string) {
	t.Helper()
	if r.status != 200 {
		e := checkError(t, r, 400, "invalid")
		if field != "" && e.Field != field {
			t.Fatalf("error field %q, want %q", e.Field, field)
		}
		return
	}
	var replies []struct {
		T     string `json:"t"`
		Code  string `json:"code"`
		Field string `json:"field"`
	}
	if err := json.Unmarshal(r.body, &replies); err != nil {
		t.Fatalf("replies: %v: %s", err, r.body)
	}
	for _, f := range replies {
		if f.T == "error" && f.Code == "invalid" && (field == "" || f.Field == field) {
			return
		}
	}
	t.Fatalf("the bad frame was not refused: %s", r.body)
}

func manyOrigins(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://s%d.example", i)
	}
	return out
}

func helloWithSubs(n int) []byte {
	subs := make([]map[string]any, n)
	for i := range subs {
		subs[i] = map[string]any{"conv": fmt.Sprint("c", i), "after": 0}
	}
	return mustJSON(map[string]any{"t": "hello", "v": 1, "subs": subs})
}

// TestFramesStayInTheirConversation: frames naming a conversation of
// another visitor or tenant are refused one by one with not_found, and
// show nothing of it.
func TestFramesStayInTheirConversation(t *testing.T) {
	w := newWorld(t)
	before := snapshot(t, w.env)
	type errFrame struct {
		T, RID, Code, Conv string
	}
	frames := func(conv string) []byte {
		return mustJSON([]map[string]any{
			{"t": "fetch", "rid": "f", "conv": conv, "after": 0},
			{"t": "read", "rid": "r", "conv": conv, "seq": 1},
			{"t": "send", "rid": "s", "id": "steal-1", "conv": conv, "body": "minä tässä"},
			{"t": "typing", "rid": "y", "conv": conv, "on": true, "text": "kirjoitan"},
		})
	}
	for _, tc := range []struct {
		name string
		path string
		conv string
		opts []opt
	}{
		{"another visitor of the site", w.wA + "/rt/frames", w.convA, []opt{origin(testsrv.ShopOrigin), bearer(w.visA2.Token)}},
		{"a visitor of another tenant", w.wB + "/rt/frames", w.convA, []opt{origin(originB), bearer(w.visB.Token)}},
		{"an agent of another tenant", cr + "/rt/frames", w.convA, []opt{w.ownerB.auth()}},
		{"a visitor naming another tenant's conversation", w.wA + "/rt/frames", w.convB, []opt{origin(testsrv.ShopOrigin), bearer(w.visA.Token)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, w.env.URL, "POST", tc.path, frames(tc.conv), tc.opts...)
			replies := decode[[]errFrame](t, r, 200)
			if len(replies) != 4 {
				t.Fatalf("%d replies, want 4: %s", len(replies), r.body)
			}
			for i, f := range replies {
				if f.T != "error" || f.Code != "not_found" || f.RID != []string{"f", "r", "s", "y"}[i] {
					t.Errorf("reply %d: %+v, want a not_found error", i, f)
				}
			}
			for _, s := range []string{secretA, nameA, secretB, nameB} {
				if bytes.Contains(r.body, []byte(s)) {
					t.Fatalf("replies leak %q: %s", s, r.body)
				}
			}
		})
	}
	sameSnapshot(t, before, snapshot(t, w.env))
}

// TestSocketRefusesBadFrames: the realtime socket answers a bad hello with
// an error frame and closes; a bad frame later gets an error frame and the
// connection carries on.
func TestSocketRefusesBadFrames(t *testing.T) {
	w := newWorld(t)
	wsURL := "ws" + strings.TrimPrefix(w.env.URL, "http") + w.wA + "/rt"
	dial := func(t *testing.T) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.Dial(ctxT(t), wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {testsrv.ShopOrigin}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	type frame struct {
		T, Code, Field, RID string
	}
	read := func(t *testing.T, c *websocket.Conn) frame {
		t.Helper()
		typ, data, err := c.Read(ctxT(t))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var f frame
		if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil {
			t.Fatalf("server sent %v %q", typ, data)
		}
		return f
	}
	hello := string(mustJSON(map[string]any{"t": "hello", "v": 1, "token": w.visA.Token}))
	for _, tc := range []struct {
		name   string
		typ    websocket.MessageType
		data   string
		code   string
		status websocket.StatusCode
	}{
		{"not JSON", websocket.MessageText, "hello", "invalid", 4002},
		{"invalid UTF-8", websocket.MessageText, strings.Replace(hello, `"hello"`, "\"hel\xfflo\"", 1), "invalid", 4002},
		{"binary hello", websocket.MessageBinary, hello, "invalid", 4002},
		{"ping before hello", websocket.MessageText, `{"t":"ping"}`, "invalid", 4002},
		{"unknown field", websocket.MessageText, `{"t":"hello","v":1,"token":"x","role":"agent"}`, "invalid", 4002},
		{"future version", websocket.MessageText, `{"t":"hello","v":9,"token":"x"}`, "unsupported", 4002},
		{"wrong token", websocket.MessageText, `{"t":"hello","v":1,"token":"v_nope"}`, "unauthorized", 4001},
		{"token of another tenant", websocket.MessageText, string(mustJSON(map[string]any{"t": "hello", "v": 1, "token": w.visB.Token})), "unauthorized", 4001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t)
			if err := c.Write(ctxT(t), tc.typ, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			if f := read(t, c); f.T != "error" || f.Code != tc.code {
				t.Fatalf("first frame %+v, want error %s", f, tc.code)
			}
			_, _, err := c.Read(ctxT(t))
			if got := websocket.CloseStatus(err); got != tc.status {
				t.Fatalf("connection ended with %v (status %d), want close status %d", err, got, tc.status)
			}
		})
	}

	t.Run("bad frames after hello", func(t *testing.T) {
		c := dial(t)
		if err := c.Write(ctxT(t), websocket.MessageText, []byte(hello)); err != nil {
			t.Fatal(err)
		}
		if f := read(t, c); f.T != "welcome" {
			t.Fatalf("first frame %+v, want welcome", f)
		}
		bad := []struct{ data, code, field string }{
			{"{\"t\":\"send\",\"id\":\"x\",\"body\":\"\xc0\xaf\"}", "invalid", ""},
			{`{"t":"send","body":"no id"}`, "invalid", "id"},
			{`{"t":"hello","v":1}`, "invalid", ""},
			{`{"t":"sub","conv":"` + w.convB + `","rid":"other"}`, "not_found", ""},
			{`{"t":"send","id":"x2","kind":"note","body":"sisäinen"}`, "invalid", "kind"},
			{`{"t":"send","id":"x3","kind":"file","body":"ohi lomakkeen"}`, "invalid", "kind"},
		}
		for _, b := range bad {
			if err := c.Write(ctxT(t), websocket.MessageText, []byte(b.data)); err != nil {
				t.Fatal(err)
			}
			// The visitor follows their active conversation: skip its history.
			f := read(t, c)
			for f.T != "error" {
				f = read(t, c)
			}
			if f.Code != b.code || (b.field != "" && f.Field != b.field) {
				t.Fatalf("frame %q: got %+v, want %s %s", b.data, f, b.code, b.field)
			}
		}
		if err := c.Write(ctxT(t), websocket.MessageText, []byte(`{"t":"ping","rid":"still-there"}`)); err != nil {
			t.Fatal(err)
		}
		for f := read(t, c); f.RID != "still-there"; f = read(t, c) {
		}
	})
}

// TestVisitorTokenExpires: an unused visitor token ends after its time to
// live with token_expired; each use (at most hourly) extends it.
func TestVisitorTokenExpires(t *testing.T) {
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ttl := env.Config.VisitorTokenTTL
	v, err := client.New(env.URL, testsrv.ShopOrigin).NewVisitor(ctxT(t), env.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	me := func() reply {
		return send(t, env.URL, "GET", "/api/widget/v1/sites/"+env.Site.WidgetKey+"/me", nil, origin(testsrv.ShopOrigin), bearer(v.Token))
	}
	fc.Advance(ttl - time.Hour)
	if r := me(); r.status != 200 {
		t.Fatalf("token refused before its expiry: %d %s", r.status, r.body)
	}
	fc.Advance(ttl - time.Hour) // long after the first expiry, within the extended one
	if r := me(); r.status != 200 {
		t.Fatalf("use did not extend the token: %d %s", r.status, r.body)
	}
	fc.Advance(ttl + time.Second)
	checkError(t, me(), 401, "token_expired")
}

// TestVisitorCreationIsRateLimited: one address may create only so many
// visitors; the refusal says when to retry and creates nothing.
func TestVisitorCreationIsRateLimited(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{Limits: &httpapi.Limits{NewVisitorsPerSec: 0.001, NewVisitorsBurst: 2,
		UploadsPerSec: 1000, UploadsBurst: 1000, LoginsPerSec: 1000, LoginsBurst: 1000}})
	path := "/api/widget/v1/sites/" + env.Site.WidgetKey + "/visitors"
	for range 2 {
		if r := send(t, env.URL, "POST", path, nil, origin(testsrv.ShopOrigin)); r.status != 201 {
			t.Fatalf("visitor within the burst refused: %d %s", r.status, r.body)
		}
	}
	r := send(t, env.URL, "POST", path, nil, origin(testsrv.ShopOrigin))
	e := checkError(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") != "10" || e.RetryAfter != 10 {
		t.Fatalf("Retry-After %q, retry_after %d", r.header.Get("Retry-After"), e.RetryAfter)
	}
	if n := count(t, env, `SELECT COUNT(*) FROM visitors`); n != 2 {
		t.Fatalf("%d visitors stored, want 2", n)
	}
}

// TestRejectedSiteUpdateKeepsTheSite: an update with one bad field changes
// none of the others.
func TestRejectedSiteUpdateKeepsTheSite(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	owner := login(t, env, env.Owner.Email, testsrv.Password)
	sites := func() string {
		return string(send(t, env.URL, "GET", consoleAPI+"/sites", nil, owner.auth()).body)
	}
	before := sites()
	path := consoleAPI + "/sites/" + env.Site.ID
	for _, body := range []string{
		`{"name":"Uusi nimi","settings":{"color":"#12345","position":"left"}}`,
		`{"name":"Uusi nimi","allowed_origins":["https://uusi.example","https://shop.example/path"]}`,
		`{"name":"Uusi nimi","timezone":"Europe/Nowhere"}`,
		`{"name":"Uusi nimi","allowed_origins":["https://uusi.example"],"language":"xx"}`,
	} {
		checkError(t, send(t, env.URL, "PATCH", path, []byte(body), owner.auth(), jsonCT), 400, "invalid")
		if after := sites(); after != before {
			t.Fatalf("a rejected update changed the site:\nbefore %s\nafter  %s", before, after)
		}
	}
	r := send(t, env.URL, "PATCH", path, []byte(`{"name":"Uusi nimi","allowed_origins":["https://uusi.example"]}`), owner.auth(), jsonCT)
	st := decode[struct {
		Name    string   `json:"name"`
		Origins []string `json:"allowed_origins"`
	}](t, r, 200)
	if st.Name != "Uusi nimi" || !slices.Equal(st.Origins, []string{"https://uusi.example"}) || sites() == before {
		t.Fatalf("a valid update was not stored: %s", r.body)
	}
}

// TestRejectedUploadLeavesNothing: an upload refused before or after its
// file reached the disk leaves no file and no attachment row.
func TestRejectedUploadLeavesNothing(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	c := client.New(env.URL, testsrv.ShopOrigin)
	v1, _ := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	v2, _ := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	conv1 := sendText(t, v1, "", "m1", "hei").Conv
	png := pngBytes(t)
	check := func(t *testing.T, files, rows int) {
		t.Helper()
		if got := storedFiles(t, env); len(got) != files {
			t.Fatalf("files on disk %q, want %d", got, files)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM attachments`); n != rows {
			t.Fatalf("%d attachment rows, want %d", n, rows)
		}
	}
	for _, tc := range []struct {
		name   string
		v      *client.Visitor
		conv   string
		cmid   string
		data   []byte
		status int
	}{
		{"saved, then the conversation is another visitor's", v2, conv1, "x1", png, 404},
		{"saved, then the conversation does not exist", v1, "01a20000-0000-7000-8000-000000000000", "x2", png, 404},
		{"saved, then the id was used for a text", v1, conv1, "m1", png, 400},
		{"refused by content", v1, conv1, "x3", []byte("<html><script>alert(1)</script></html>"), 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Upload(ctx, tc.conv, tc.cmid, "kuva.png", tc.data)
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != tc.status {
				t.Fatalf("upload: %v, want status %d", err, tc.status)
			}
			check(t, 0, 0)
		})
	}
	if _, err := v1.Upload(ctx, conv1, "ok-1", "kuva.png", png); err != nil {
		t.Fatal(err)
	}
	check(t, 1, 1)
}

// TestListingsStayInTheTenant: every console listing shows the caller's
// tenant only.
func TestListingsStayInTheTenant(t *testing.T) {
	w := newWorld(t)
	env := w.env
	for _, tc := range []struct {
		who        *session
		own, other []string
	}{
		{w.owner, []string{env.Site.WidgetKey, w.siteA2.WidgetKey, env.Agents[0].Email, "Tuki", w.convA, w.convA2},
			[]string{w.siteB.WidgetKey, "owner@b.example", "agent@b.example", "Myynti", w.convB, w.deptB.ID}},
		{w.ownerB, []string{w.siteB.WidgetKey, "owner@b.example", "agent@b.example", "Myynti", w.convB},
			[]string{env.Site.WidgetKey, w.siteA2.WidgetKey, env.Owner.Email, env.Agents[0].Email, "Tuki", w.convA, w.convA2, w.deptA.ID}},
	} {
		var all []byte
		for _, path := range []string{"/sites", "/users", "/departments", "/conversations", "/conversations?status=queued,open,assigned,closed&limit=500"} {
			r := send(t, env.URL, "GET", consoleAPI+path, nil, tc.who.auth())
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			all = append(all, r.body...)
		}
		for _, s := range tc.own {
			if !bytes.Contains(all, []byte(s)) {
				t.Errorf("listings miss the tenant's own %q", s)
			}
		}
		for _, s := range tc.other {
			if bytes.Contains(all, []byte(s)) {
				t.Errorf("listings show the other tenant's %q", s)
			}
		}
	}
	// A site's identity secret is never listed.
	r := send(t, env.URL, "GET", consoleAPI+"/sites", nil, w.owner.auth())
	if bytes.Contains(r.body, []byte(env.Site.IdentitySecret)) || bytes.Contains(r.body, []byte("password")) {
		t.Fatalf("site listing shows secrets: %s", r.body)
	}
	r = send(t, env.URL, "GET", consoleAPI+"/users", nil, w.owner.auth())
	if bytes.Contains(r.body, []byte("argon2")) || bytes.Contains(r.body, []byte("password")) {
		t.Fatalf("user listing shows password hashes: %s", r.body)
	}
}

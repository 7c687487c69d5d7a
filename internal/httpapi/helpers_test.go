package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tiski/internal/db"
	"tiski/internal/testsrv"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// reply is a raw HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// opt shapes a request.
type opt func(*http.Request)

func hdr(k, v string) opt       { return func(r *http.Request) { r.Header.Set(k, v) } }
func ctype(v string) opt        { return hdr("Content-Type", v) }
func origin(o string) opt       { return hdr("Origin", o) }
func bearer(token string) opt   { return hdr("Authorization", "Bearer "+token) }
func cookie(c *http.Cookie) opt { return func(r *http.Request) { r.AddCookie(c) } }

var jsonCT = ctype("application/json")

// send makes one request to the node and reads the whole answer.
func send(t testing.TB, base, method, path string, body []byte, opts ...opt) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := testsrv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// apiError is the one error shape of the API.
type apiError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field"`
	RetryAfter int    `json:"retry_after"`
}

// checkError asserts that r is an error answer with status and code, in
// exactly the shape {"error":{"code":…,"message":…}}, and returns it.
func checkError(t testing.TB, r reply, status int, code string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want JSON; body %s", ct, r.body)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, r.body)
	}
	if len(top) != 1 || top["error"] == nil {
		t.Fatalf("error body must hold exactly one key \"error\": %s", r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(top["error"]))
	dec.DisallowUnknownFields()
	var e apiError
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error detail has unexpected shape: %v: %s", err, r.body)
	}
	if e.Code != code {
		t.Fatalf("error code %q, want %q; body %s", e.Code, code, r.body)
	}
	if strings.TrimSpace(e.Message) == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
	return e
}

// decode parses a successful JSON answer.
func decode[T any](t testing.TB, r reply, status int) T {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
	return v
}

// session is a signed-in console user.
type session struct {
	userID string
	cookie *http.Cookie
	csrf   string
}

// auth carries the session cookie and its CSRF token.
func (s *session) auth() opt {
	return func(r *http.Request) {
		r.AddCookie(s.cookie)
		r.Header.Set("X-CSRF-Token", s.csrf)
	}
}

const consoleAPI = "/api/console/v1"

// login signs in over HTTP and keeps the cookie and CSRF token.
func login(t testing.TB, env *testsrv.Env, email, password string) *session {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	r := send(t, env.URL, "POST", consoleAPI+"/login", body, jsonCT)
	out := decode[struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		CSRFToken string `json:"csrf_token"`
	}](t, r, 200)
	s := &session{userID: out.User.ID, csrf: out.CSRFToken}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tiski_session" || c.Name == "__Host-tiski_session" {
			s.cookie = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if s.cookie == nil || s.csrf == "" {
		t.Fatalf("login gave no session cookie or CSRF token: %v %s", r.header, r.body)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// count runs a COUNT query on the node's database.
func count(t testing.TB, env *testsrv.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := env.DB.Read().QueryRowContext(ctxT(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// storedFiles lists every file under the data directory's files/ (the
// upload temp dir included), relative to it.
func storedFiles(t testing.TB, env *testsrv.Env) []string {
	t.Helper()
	root := filepath.Join(env.Config.DataDir, "files")
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot captures everything a request could write: every row of every
// table except the failed-sign-in counters (which a rejected login must
// write) and the search index, and the stored files.
func snapshot(t testing.TB, env *testsrv.Env) []string {
	t.Helper()
	ctx := ctxT(t)
	listTables := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if env.DB.Dialect == db.Postgres {
		listTables = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := env.DB.Read().QueryContext(ctx, listTables)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		// The full-text index and its queue are derived from messages and
		// change in the background (the search indexer); messages are
		// compared themselves.
		if n != "auth_throttle" && !strings.HasPrefix(n, "messages_search") {
			tables = append(tables, n)
		}
	}
	rows.Close()
	var out []string
	for _, tbl := range tables {
		rs, err := env.DB.Read().QueryContext(ctx, `SELECT * FROM `+tbl)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(tbl)
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			out = append(out, b.String())
		}
		rs.Close()
	}
	for _, f := range storedFiles(t, env) {
		out = append(out, "file "+f)
	}
	slices.Sort(out)
	return out
}

// sameSnapshot fails with the difference between two snapshots.
func sameSnapshot(t testing.TB, before, after []string) {
	t.Helper()
	if slices.Equal(before, after) {
		return
	}
	var gone, added []string
	for _, l := range before {
		if !slices.Contains(after, l) {
			gone = append(gone, l)
		}
	}
	for _, l := range after {
		if !slices.Contains(before, l) {
			added = append(added, l)
		}
	}
	t.Fatalf("a rejected request changed the stored state:\nremoved:\n  %s\nadded:\n  %s",
		strings.Join(gone, "\n  "), strings.Join(added, "\n  "))
}

// pngBytes encodes a small real PNG image.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for x := range 8 {
		for y := range 6 {
			img.Set(x, y, color.NRGBA{R: uint8(30 * x), G: uint8(40 * y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pdfBytes is a minimal PDF document.
var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
	"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// formPart is one part of a multipart upload.
type formPart struct {
	name, filename string
	data           []byte
}

// multipartBody builds an upload form; it returns the body and its
// Content-Type.
func multipartBody(t testing.TB, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// stateWatch checks cheaply that nothing was stored since it last looked:
// SQLite's data_version, read on a connection of its own, changes with
// every commit of another connection (on PostgreSQL the WAL position, which
// any commit moves). Only then does it compare full snapshots, so that
// writes a refusal may make (failed sign-ins) pass.
type stateWatch struct {
	env     *testsrv.Env
	conn    *sql.Conn
	version int64
	snap    []string
}

func watchState(t *testing.T, env *testsrv.Env) *stateWatch {
	t.Helper()
	driver, dsn := "sqlite", "file:"+env.Config.DB+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	if env.DB.Dialect == db.Postgres {
		driver, dsn = "pgx", env.Config.DB
	}
	d, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	t.Cleanup(func() { d.Close() })
	w := &stateWatch{env: env}
	if w.conn, err = d.Conn(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.conn.Close() })
	w.version = w.dataVersion(t)
	w.snap = snapshot(t, env)
	return w
}

func (w *stateWatch) dataVersion(t *testing.T) int64 {
	t.Helper()
	q := `PRAGMA data_version`
	if w.env.DB.Dialect == db.Postgres {
		q = `SELECT pg_current_wal_lsn() - '0/0'`
	}
	var v int64
	if err := w.conn.QueryRowContext(ctxT(t), q).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// unchanged fails the test if the stored state differs from the last look.
func (w *stateWatch) unchanged(t *testing.T) {
	t.Helper()
	if v := w.dataVersion(t); v != w.version {
		before := w.snap
		w.version, w.snap = v, snapshot(t, w.env)
		sameSnapshot(t, before, w.snap)
		return
	}
	var files []string
	for _, l := range w.snap {
		if f, ok := strings.CutPrefix(l, "file "); ok {
			files = append(files, f)
		}
	}
	if now := storedFiles(t, w.env); !slices.Equal(files, now) {
		before := w.snap
		w.snap = snapshot(t, w.env)
		sameSnapshot(t, before, w.snap)
	}
}

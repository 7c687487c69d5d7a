package auth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/clock"
	"tiski/internal/db/dbtest"
	"tiski/internal/id"
	"tiski/internal/tenant"
	"tiski/internal/user"
)

var cheap = auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}

func TestCheckPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"123456789", false},
		{"1234567890", true},
		{"ääääääääää", true}, // ten characters, twenty bytes
		{"äääääääää", false}, // nine characters, eighteen bytes
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
		{strings.Repeat("ä", 128), true},
		{"", false},
		{"pitkä mutta \xff rikki", false},
	} {
		err := auth.CheckPasswordPolicy(tc.pw)
		if (err == nil) != tc.ok || err != nil && (apperr.CodeOf(err) != apperr.Invalid || apperr.As(err).Field != "password") {
			t.Errorf("CheckPasswordPolicy(%q) = %v, want ok %v", tc.pw, err, tc.ok)
		}
	}
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashAndVerify(t *testing.T) {
	const pw = "oikea hevonen patteri niitti"
	h1, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := cheap.Hash(pw)
	if m := phc.FindStringSubmatch(h1); m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Fatalf("hash %q is not argon2id in PHC form with its parameters", h1)
	}
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if strings.Contains(h1, pw) {
		t.Fatal("the hash contains the password")
	}
	for _, h := range []string{h1, h2} {
		if ok, rehash := cheap.Verify(pw, h); !ok || rehash {
			t.Fatalf("Verify(right password) = %v, %v", ok, rehash)
		}
	}
	for _, wrong := range []string{"", "oikea hevonen patteri niitti ", "Oikea hevonen patteri niitti", pw[:len(pw)-1]} {
		if ok, _ := cheap.Verify(wrong, h1); ok {
			t.Fatalf("Verify accepted %q", wrong)
		}
	}
	uni := "sälasana ünïcödé 🔑"
	hu, _ := cheap.Hash(uni)
	if ok, _ := cheap.Verify(uni, hu); !ok {
		t.Fatal("non-ASCII password refused")
	}
}

func TestDefaultParams(t *testing.T) {
	if auth.DefaultParams.Memory < 64*1024 || auth.DefaultParams.Time < 2 || auth.DefaultParams.Threads < 1 {
		t.Fatalf("default argon2id parameters %+v are below m=64 MiB, t=2", auth.DefaultParams)
	}
	h, err := auth.Hasher{P: auth.DefaultParams}.Hash("oletus parametrit")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, fmt.Sprintf("$m=%d,t=%d,p=%d$", auth.DefaultParams.Memory, auth.DefaultParams.Time, auth.DefaultParams.Threads)) {
		t.Fatalf("hash %q does not record the default parameters", h)
	}
	// A hash made with cheaper parameters verifies, asking to be upgraded.
	weak, _ := cheap.Hash("oletus parametrit")
	if ok, rehash := (auth.Hasher{P: auth.DefaultParams}).Verify("oletus parametrit", weak); !ok || !rehash {
		t.Fatalf("Verify(weak hash) = %v, %v; want true, true", ok, rehash)
	}
}

func TestRehashWhenWeaker(t *testing.T) {
	const pw = "vaihdettava salasana"
	h, _ := cheap.Hash(pw)
	for _, tc := range []struct {
		name   string
		p      auth.Params
		rehash bool
	}{
		{"same parameters", cheap.P, false},
		{"more memory", auth.Params{Time: 1, Memory: 128, Threads: 1}, true},
		{"more time", auth.Params{Time: 2, Memory: 64, Threads: 1}, true},
		{"less memory", auth.Params{Time: 1, Memory: 32, Threads: 1}, false},
		{"more threads only", auth.Params{Time: 1, Memory: 64, Threads: 4}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash := auth.Hasher{P: tc.p}.Verify(pw, h)
			if !ok || rehash != tc.rehash {
				t.Fatalf("Verify = %v, %v; want true, %v", ok, rehash, tc.rehash)
			}
			if ok, rehash := (auth.Hasher{P: tc.p}).Verify("väärä salasana", h); ok || rehash {
				t.Fatalf("wrong password: Verify = %v, %v", ok, rehash)
			}
		})
	}
}

func TestTamperedHashesAreRefused(t *testing.T) {
	const pw = "peukaloitu tiiviste"
	h, _ := cheap.Hash(pw)
	parts := strings.Split(h, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	short := base64.RawStdEncoding.EncodeToString([]byte{1, 2})
	for name, bad := range map[string]string{
		"key changed":           with(5, flip(parts[5])),
		"salt changed":          with(4, flip(parts[4])),
		"memory changed":        with(3, "m=128,t=1,p=1"),
		"time changed":          with(3, "m=64,t=2,p=1"),
		"other algorithm":       with(1, "argon2i"),
		"other version":         with(2, "v=16"),
		"absurd memory":         with(3, "m=99999999,t=1,p=1"),
		"memory out of range":   with(3, "m=99999999999,t=1,p=1"),
		"negative memory":       with(3, "m=-64,t=1,p=1"),
		"absurd time":           with(3, "m=64,t=1000,p=1"),
		"zero time":             with(3, "m=64,t=0,p=1"),
		"zero threads":          with(3, "m=64,t=1,p=0"),
		"parameters missing":    with(3, "m=64"),
		"salt not base64":       with(4, "!!!!"),
		"key not base64":        with(5, "%%%"),
		"empty key":             with(5, ""),
		"key of another length": with(5, short),
		"missing part":          strings.Join(parts[:5], "$"),
		"extra part":            h + "$x",
		"empty":                 "",
		"plain password stored": pw,
		"bcrypt hash":           "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	} {
		t.Run(name, func(t *testing.T) {
			if ok, _ := cheap.Verify(pw, bad); ok {
				t.Fatalf("Verify accepted the tampered hash %q", bad)
			}
		})
	}
}

func newThrottle(t *testing.T) (*auth.Throttle, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	return auth.NewThrottle(dbtest.Open(t), fc), fc
}

func TestThrottleLocksOutAfterMaxFailures(t *testing.T) {
	th, fc := newThrottle(t)
	ctx := context.Background()
	check := func(key string) error { return th.Check(ctx, key) }
	fail := func(key string) {
		if err := th.Fail(ctx, key, 5); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		fail("email:a")
	}
	if err := check("email:a"); err != nil {
		t.Fatalf("locked after 4 failures: %v", err)
	}
	fail("email:a")
	err := check("email:a")
	if e := apperr.As(err); err == nil || e.Code != apperr.RateLimited || e.RetryAfter != int(th.Lockout/time.Second) {
		t.Fatalf("after 5 failures: %v (retry after %d)", err, apperr.As(err).RetryAfter)
	}
	if err := check("email:b"); err != nil {
		t.Fatalf("another key is locked too: %v", err)
	}
	fc.Advance(th.Lockout - 1500*time.Millisecond)
	if e := apperr.As(check("email:a")); e.Code != apperr.RateLimited || e.RetryAfter != 2 {
		t.Fatalf("near the end of the lockout: %v (retry after %d)", e, e.RetryAfter)
	}
	fc.Advance(1500 * time.Millisecond)
	if err := check("email:a"); err != nil {
		t.Fatalf("still locked after the lockout: %v", err)
	}
	// The count starts over after a lockout.
	for range 4 {
		fail("email:a")
	}
	if err := check("email:a"); err != nil {
		t.Fatalf("locked again after 4 new failures: %v", err)
	}
}

func TestThrottleWindowAndReset(t *testing.T) {
	th, fc := newThrottle(t)
	ctx := context.Background()
	for range 4 {
		th.Fail(ctx, "ip:1", 5)
	}
	fc.Advance(th.Window + time.Second)
	for range 4 {
		th.Fail(ctx, "ip:1", 5)
	}
	if err := th.Check(ctx, "ip:1"); err != nil {
		t.Fatalf("failures from an old window still count: %v", err)
	}
	th.Fail(ctx, "ip:1", 5)
	if apperr.CodeOf(th.Check(ctx, "ip:1")) != apperr.RateLimited {
		t.Fatal("not locked after 5 failures in one window")
	}

	for range 4 {
		th.Fail(ctx, "email:c", 5)
	}
	if err := th.Reset(ctx, "email:c"); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		th.Fail(ctx, "email:c", 5)
	}
	if err := th.Check(ctx, "email:c"); err != nil {
		t.Fatalf("failures before a reset still count: %v", err)
	}
}

func TestSessions(t *testing.T) {
	d := dbtest.Open(t)
	fc := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	tn, err := tenant.NewStore(d, fc).Create(ctx, "Oy")
	if err != nil {
		t.Fatal(err)
	}
	users := user.NewStore(d, fc, cheap)
	u, err := users.Create(ctx, tn.ID, user.New{Email: "a@oy.example", Role: user.Agent, Password: "salasana123"})
	if err != nil {
		t.Fatal(err)
	}
	ss := auth.NewSessions(d, fc, time.Hour, 24*time.Hour)
	token, sess, err := ss.Create(ctx, tn.ID, u.ID, "127.0.0.1", strings.Repeat("UA", 400))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "s_") || len(sess.CSRFToken) < 40 || sess.CSRFToken == token || sess.Key() != id.Hash(token) {
		t.Fatalf("session %+v, token %q", sess, token)
	}
	var stored int
	d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1 AND user_agent = $2`, id.Hash(token), strings.Repeat("UA", 150)).Scan(&stored)
	var plain int
	d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, token).Scan(&plain)
	if stored != 1 || plain != 0 {
		t.Fatalf("the session is not stored by its hash with a bounded user agent (%d, %d)", stored, plain)
	}
	got, err := ss.Lookup(ctx, token)
	if err != nil || got.UserID != u.ID || got.TenantID != tn.ID || got.CSRFToken != sess.CSRFToken {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	for _, bad := range []string{"", "s_nope", strings.Repeat("s", 101), sess.CSRFToken, id.Hash(token)} {
		if _, err := ss.Lookup(ctx, bad); apperr.CodeOf(err) != apperr.Unauthorized {
			t.Errorf("Lookup(%.20q): %v", bad, err)
		}
	}

	// Idle expiry, slid by use.
	fc.Advance(50 * time.Minute)
	if _, err := ss.Lookup(ctx, token); err != nil {
		t.Fatal(err)
	}
	fc.Advance(50 * time.Minute)
	if _, err := ss.Lookup(ctx, token); err != nil {
		t.Fatalf("use did not slide the idle timeout: %v", err)
	}
	fc.Advance(time.Hour + time.Second)
	if _, err := ss.Lookup(ctx, token); apperr.CodeOf(err) != apperr.TokenExpired {
		t.Fatalf("idle session: %v", err)
	}
	if _, err := ss.Lookup(ctx, token); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("expired session was not removed: %v", err)
	}

	// Revoke ends one session; RevokeUser all of a user's.
	t1, _, _ := ss.Create(ctx, tn.ID, u.ID, "", "")
	t2, _, _ := ss.Create(ctx, tn.ID, u.ID, "", "")
	t3, _, _ := ss.Create(ctx, tn.ID, u.ID, "", "")
	if err := ss.Revoke(ctx, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Lookup(ctx, t1); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("revoked session: %v", err)
	}
	if _, err := ss.Lookup(ctx, t2); err != nil {
		t.Fatalf("Revoke ended another session: %v", err)
	}
	if err := ss.RevokeUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{t2, t3} {
		if _, err := ss.Lookup(ctx, tok); apperr.CodeOf(err) != apperr.Unauthorized {
			t.Fatalf("session after RevokeUser: %v", err)
		}
	}

	// A disabled user's session does not work; Sweep forgets old ones.
	t4, _, _ := ss.Create(ctx, tn.ID, u.ID, "", "")
	if _, err := users.Create(ctx, tn.ID, user.New{Email: "o@oy.example", Role: user.Owner, Password: "salasana123"}); err != nil {
		t.Fatal(err)
	}
	off := true
	if _, err := users.Update(ctx, tn.ID, u.ID, user.Update{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Lookup(ctx, t4); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("disabled user's session: %v", err)
	}
	_, _, _ = ss.Create(ctx, tn.ID, u.ID, "", "")
	fc.Advance(2 * time.Hour)
	n, err := ss.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sweep removed %d sessions (%v), want 2", n, err)
	}
}

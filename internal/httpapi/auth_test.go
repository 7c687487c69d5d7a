package httpapi_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/httpapi"
	"tiski/internal/testsrv"
)

func loginBody(email, password string) []byte {
	return mustJSON(map[string]string{"email": email, "password": password})
}

func TestLoginSetsAProtectedCookie(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	r := send(t, env.URL, "POST", consoleAPI+"/login", loginBody(env.Agents[0].Email, testsrv.Password), jsonCT)
	out := decode[struct {
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
		CSRFToken string `json:"csrf_token"`
	}](t, r, 200)
	if out.User.ID != env.Agents[0].ID || out.Tenant.ID != env.Tenant.ID || len(out.CSRFToken) < 32 {
		t.Fatalf("login answer %s", r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies: %v", len(cookies), r.header["Set-Cookie"])
	}
	ck := cookies[0]
	if ck.Name != "tiski_session" || ck.Value == "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" ||
		ck.Secure || ck.MaxAge != int(env.Config.SessionMaxAge/time.Second) {
		t.Fatalf("session cookie %q", r.header.Get("Set-Cookie"))
	}
	if bytes.Contains(r.body, []byte(ck.Value)) || bytes.Contains(r.body, []byte("password")) {
		t.Fatalf("login answer shows the session token or a password: %s", r.body)
	}
	if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
		t.Fatalf("login answer may be cached: %q", r.header.Get("Cache-Control"))
	}
	// The cookie and the CSRF token work together.
	s := &session{cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}, csrf: out.CSRFToken}
	me := decode[struct {
		CSRFToken string `json:"csrf_token"`
	}](t, send(t, env.URL, "GET", consoleAPI+"/me", nil, cookie(s.cookie)), 200)
	if me.CSRFToken != out.CSRFToken {
		t.Fatalf("GET /me gives CSRF token %q, login gave %q", me.CSRFToken, out.CSRFToken)
	}
	if r := send(t, env.URL, "PUT", consoleAPI+"/me/status", []byte(`{"status":"online"}`), s.auth(), jsonCT); r.status != 200 {
		t.Fatalf("set status with session and token: %d %s", r.status, r.body)
	}
}

func TestLoginCookieOverHTTPSIsHostOnlyAndSecure(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{Config: func(c *config.Config) { c.PublicURL = "https://chat.example" }})
	r := send(t, env.URL, "POST", consoleAPI+"/login", loginBody(env.Owner.Email, testsrv.Password), jsonCT)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	ck := (&http.Response{Header: r.header}).Cookies()
	if len(ck) != 1 || ck[0].Name != "__Host-tiski_session" || !ck[0].Secure || !ck[0].HttpOnly || ck[0].Path != "/" || ck[0].Domain != "" {
		t.Fatalf("session cookie %q", r.header.Get("Set-Cookie"))
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	owner := login(t, env, env.Owner.Email, testsrv.Password)
	if r := send(t, env.URL, "PATCH", consoleAPI+"/users/"+env.Agents[1].ID, []byte(`{"disabled":true}`), owner.auth(), jsonCT); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	var messages []string
	for _, body := range [][]byte{
		loginBody(env.Agents[0].Email, "wrong password!"),
		loginBody("nobody@kauppa.example", testsrv.Password),
		loginBody(env.Agents[1].Email, testsrv.Password), // disabled
		loginBody("", ""),
	} {
		r := send(t, env.URL, "POST", consoleAPI+"/login", body, jsonCT)
		e := checkError(t, r, 401, "unauthorized")
		if e.Field != "" || len(r.header["Set-Cookie"]) != 0 {
			t.Fatalf("failed login answer tells more: %v %s", r.header, r.body)
		}
		messages = append(messages, e.Message)
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Fatalf("failed logins can be told apart by their messages: %q", messages)
		}
	}
}

func TestLoginLockoutAfterFiveFailures(t *testing.T) {
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	email := env.Agents[0].Email
	tryLogin := func(email, password string) reply {
		return send(t, env.URL, "POST", consoleAPI+"/login", loginBody(email, password), jsonCT)
	}
	// Failures count per email whatever its case or surrounding space.
	for _, e := range []string{email, strings.ToUpper(email), " " + email, email, email} {
		checkError(t, tryLogin(e, "wrong password!"), 401, "unauthorized")
	}
	r := tryLogin(email, testsrv.Password)
	e := checkError(t, r, 429, "rate_limited")
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 15*60 || e.RetryAfter != ra || len(r.header["Set-Cookie"]) != 0 {
		t.Fatalf("lockout answer: Retry-After %q, retry_after %d, cookies %v", r.header.Get("Retry-After"), e.RetryAfter, r.header["Set-Cookie"])
	}
	// Another account from the same address is not locked out.
	if r := tryLogin(env.Agents[1].Email, testsrv.Password); r.status != 200 {
		t.Fatalf("another account locked out too: %d %s", r.status, r.body)
	}
	fc.Advance(time.Duration(ra-1) * time.Second)
	checkError(t, tryLogin(email, testsrv.Password), 429, "rate_limited")
	fc.Advance(2 * time.Second)
	if r := tryLogin(email, testsrv.Password); r.status != 200 {
		t.Fatalf("login after the lockout: %d %s", r.status, r.body)
	}
	// A success forgets earlier failures.
	for range 4 {
		checkError(t, tryLogin(email, "wrong password!"), 401, "unauthorized")
	}
	if r := tryLogin(email, testsrv.Password); r.status != 200 {
		t.Fatalf("login after four failures: %d %s", r.status, r.body)
	}
	for range 4 {
		checkError(t, tryLogin(email, "wrong password!"), 401, "unauthorized")
	}
	if r := tryLogin(email, testsrv.Password); r.status != 200 {
		t.Fatalf("failures before a success were still counted: %d %s", r.status, r.body)
	}
}

func TestLoginIsRateLimitedPerAddress(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{Limits: &httpapi.Limits{NewVisitorsPerSec: 1000, NewVisitorsBurst: 1000,
		UploadsPerSec: 1000, UploadsBurst: 1000, LoginsPerSec: 0.001, LoginsBurst: 3}})
	for range 3 {
		checkError(t, send(t, env.URL, "POST", consoleAPI+"/login", loginBody("x@kauppa.example", "whatever pw"), jsonCT), 401, "unauthorized")
	}
	r := send(t, env.URL, "POST", consoleAPI+"/login", loginBody(env.Owner.Email, testsrv.Password), jsonCT)
	checkError(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestStateChangesNeedTheCSRFTokenAndSameSite(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	a := login(t, env, env.Agents[0].Email, testsrv.Password)
	b := login(t, env, env.Agents[1].Email, testsrv.Password)
	body := []byte(`{"status":"away"}`)
	put := func(opts ...opt) reply {
		return send(t, env.URL, "PUT", consoleAPI+"/me/status", body, append(opts, jsonCT)...)
	}
	for _, tc := range []struct {
		name string
		opts []opt
	}{
		{"no token", []opt{cookie(a.cookie)}},
		{"empty token", []opt{cookie(a.cookie), hdr("X-CSRF-Token", "")}},
		{"another session's token", []opt{cookie(a.cookie), hdr("X-CSRF-Token", b.csrf)}},
		{"token with a character changed", []opt{cookie(a.cookie), hdr("X-CSRF-Token", a.csrf[:len(a.csrf)-1]+"x")}},
		{"token prefix", []opt{cookie(a.cookie), hdr("X-CSRF-Token", a.csrf[:8])}},
		{"cross-site fetch", []opt{a.auth(), hdr("Sec-Fetch-Site", "cross-site")}},
		{"same-site fetch from a sibling", []opt{a.auth(), hdr("Sec-Fetch-Site", "same-site")}},
		{"foreign origin", []opt{a.auth(), origin(evilOrigin)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, put(tc.opts...), 403, "forbidden")
		})
	}
	me := decode[struct {
		User struct {
			Status string `json:"status"`
		} `json:"user"`
	}](t, send(t, env.URL, "GET", consoleAPI+"/me", nil, cookie(a.cookie)), 200)
	if me.User.Status != "offline" {
		t.Fatalf("a refused request changed the status to %q", me.User.Status)
	}
	for _, ok := range [][]opt{
		{a.auth()},
		{a.auth(), hdr("Sec-Fetch-Site", "same-origin")},
		{a.auth(), origin(env.URL)},
	} {
		if r := put(ok...); r.status != 200 {
			t.Fatalf("same-origin request with the token refused: %d %s", r.status, r.body)
		}
	}
}

// connectAgent signs an agent in through the client and opens their
// realtime stream, waiting until the server holds it.
func connectAgent(t *testing.T, env *testsrv.Env, email string) (*client.Agent, *client.Stream) {
	t.Helper()
	a, err := client.New(env.URL, testsrv.ShopOrigin).Login(ctxT(t), email, testsrv.Password)
	if err != nil {
		t.Fatal(err)
	}
	n := env.Hub.Connections()
	s := a.Connect(client.StreamOptions{BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	t.Cleanup(s.Close)
	waitFor(t, "the agent's stream to connect", func() bool { return s.Connected() && env.Hub.Connections() == n+1 })
	return a, s
}

func TestLogoutEndsTheSessionAndItsSocket(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	a1, s1 := connectAgent(t, env, env.Agents[0].Email)
	a2, s2 := connectAgent(t, env, env.Agents[0].Email) // the same agent on another device
	connects := s1.Connects.Load()
	if err := a1.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to close the logged-out session's socket", func() bool {
		return env.Hub.Connections() == 1 && !s1.Connected()
	})
	var ae *client.Error
	if err := a1.Do(ctx, "GET", "/me", nil, nil); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("the logged-out session still works: %v", err)
	}
	if err := a2.Do(ctx, "GET", "/me", nil, nil); err != nil {
		t.Fatalf("logout ended the agent's other session: %v", err)
	}
	if !s2.Connected() {
		t.Fatal("logout closed the agent's other socket")
	}
	// The stream keeps trying; the server keeps refusing it.
	if err := a1.Logout(ctx); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("second logout: %v", err)
	}
	if s1.Connects.Load() != connects || env.Hub.Connections() != 1 {
		t.Fatalf("the logged-out stream got back in: %d connects, %d connections", s1.Connects.Load(), env.Hub.Connections())
	}
}

func TestSessionExpiry(t *testing.T) {
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc, Config: func(c *config.Config) {
		c.SessionIdle, c.SessionMaxAge = time.Hour, 3*time.Hour
	}})
	me := func(s *session) reply { return send(t, env.URL, "GET", consoleAPI+"/me", nil, cookie(s.cookie)) }

	t.Run("idle", func(t *testing.T) {
		s := login(t, env, env.Agents[0].Email, testsrv.Password)
		fc.Advance(59 * time.Minute)
		if r := me(s); r.status != 200 {
			t.Fatalf("session ended before its idle time: %d %s", r.status, r.body)
		}
		fc.Advance(59 * time.Minute) // use slid the idle timeout
		if r := me(s); r.status != 200 {
			t.Fatalf("use did not extend the session: %d %s", r.status, r.body)
		}
		fc.Advance(time.Hour + time.Second)
		checkError(t, me(s), 401, "token_expired")
		checkError(t, me(s), 401, "unauthorized") // and it is gone
		checkError(t, send(t, env.URL, "PUT", consoleAPI+"/me/status", []byte(`{"status":"online"}`), s.auth(), jsonCT), 401, "unauthorized")
	})
	t.Run("max age", func(t *testing.T) {
		s := login(t, env, env.Agents[0].Email, testsrv.Password)
		for range 5 {
			fc.Advance(50 * time.Minute)
			if me(s).status != 200 {
				break
			}
		}
		checkError(t, me(s), 401, "unauthorized")
		s = login(t, env, env.Agents[0].Email, testsrv.Password)
		for range 3 {
			fc.Advance(55 * time.Minute)
			if r := me(s); r.status != 200 {
				t.Fatalf("session in use ended early: %d %s", r.status, r.body)
			}
		}
		fc.Advance(20 * time.Minute) // 3 h 5 min after sign-in, 20 min after last use
		checkError(t, me(s), 401, "token_expired")
	})
}

func TestDisablingAUserEndsTheirSessionsAndSockets(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	owner := login(t, env, env.Owner.Email, testsrv.Password)
	victim := env.Agents[0]
	a1, s1 := connectAgent(t, env, victim.Email)
	_, s2 := connectAgent(t, env, victim.Email)
	_, other := connectAgent(t, env, env.Agents[1].Email)

	r := send(t, env.URL, "PATCH", consoleAPI+"/users/"+victim.ID, []byte(`{"disabled":true}`), owner.auth(), jsonCT)
	if u := decode[struct{ Disabled bool }](t, r, 200); !u.Disabled {
		t.Fatalf("PATCH answer %s", r.body)
	}
	waitFor(t, "the disabled user's sockets to close", func() bool {
		return !s1.Connected() && !s2.Connected() && env.Hub.Connections() == 1
	})
	if !other.Connected() {
		t.Fatal("another agent's socket was closed")
	}
	var ae *client.Error
	if err := a1.Do(ctx, "GET", "/me", nil, nil); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("the disabled user's session still works: %v", err)
	}
	if n := count(t, env, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, victim.ID); n != 0 {
		t.Fatalf("%d sessions of the disabled user remain", n)
	}
	checkError(t, send(t, env.URL, "POST", consoleAPI+"/login", loginBody(victim.Email, testsrv.Password), jsonCT), 401, "unauthorized")

	r = send(t, env.URL, "PATCH", consoleAPI+"/users/"+victim.ID, []byte(`{"disabled":false}`), owner.auth(), jsonCT)
	if r.status != 200 {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	login(t, env, victim.Email, testsrv.Password)
}

func TestRoles(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	owner := login(t, env, env.Owner.Email, testsrv.Password)
	agent := login(t, env, env.Agents[0].Email, testsrv.Password)
	post := func(s *session, path string, body any) reply {
		return send(t, env.URL, "POST", consoleAPI+path, mustJSON(body), s.auth(), jsonCT)
	}
	patch := func(s *session, path string, body any) reply {
		return send(t, env.URL, "PATCH", consoleAPI+path, mustJSON(body), s.auth(), jsonCT)
	}
	newUser := func(email, role string) map[string]any {
		return map[string]any{"email": email, "name": role, "role": role, "password": testsrv.Password}
	}

	// An agent administers nothing.
	checkError(t, post(agent, "/users", newUser("a1@kauppa.example", "agent")), 403, "forbidden")
	checkError(t, post(agent, "/sites", map[string]any{"name": "Oma"}), 403, "forbidden")
	checkError(t, patch(agent, "/sites/"+env.Site.ID, map[string]any{"name": "Oma"}), 403, "forbidden")
	checkError(t, post(agent, "/departments", map[string]any{"name": "Oma"}), 403, "forbidden")
	checkError(t, patch(agent, "/users/"+env.Agents[0].ID, map[string]any{"max_chats": 50}), 403, "forbidden")
	if n := count(t, env, `SELECT COUNT(*) FROM users`); n != 3 {
		t.Fatalf("%d users after refused creations", n)
	}

	// An admin grants up to admin, never owner, and leaves owners alone.
	if r := post(owner, "/users", newUser("admin@kauppa.example", "admin")); r.status != 201 {
		t.Fatalf("owner creating an admin: %d %s", r.status, r.body)
	}
	admin := login(t, env, "admin@kauppa.example", testsrv.Password)
	checkError(t, post(admin, "/users", newUser("o2@kauppa.example", "owner")), 403, "forbidden")
	for _, role := range []string{"agent", "supervisor", "admin"} {
		if r := post(admin, "/users", newUser(role+"2@kauppa.example", role)); r.status != 201 {
			t.Fatalf("admin creating a %s: %d %s", role, r.status, r.body)
		}
	}
	checkError(t, patch(admin, "/users/"+env.Agents[0].ID, map[string]any{"role": "owner"}), 403, "forbidden")
	checkError(t, patch(admin, "/users/"+env.Owner.ID, map[string]any{"disabled": true}), 403, "forbidden")
	checkError(t, patch(admin, "/users/"+env.Owner.ID, map[string]any{"name": "Entinen"}), 403, "forbidden")
	if r := patch(admin, "/users/"+env.Agents[0].ID, map[string]any{"role": "supervisor", "max_chats": 7}); r.status != 200 {
		t.Fatalf("admin promoting an agent: %d %s", r.status, r.body)
	}
	if n := count(t, env, `SELECT COUNT(*) FROM users WHERE role = 'owner' AND disabled = FALSE`); n != 1 {
		t.Fatalf("%d enabled owners", n)
	}

	// The last owner stays.
	checkError(t, patch(owner, "/users/"+env.Owner.ID, map[string]any{"disabled": true}), 409, "conflict")
	checkError(t, patch(owner, "/users/"+env.Owner.ID, map[string]any{"role": "admin"}), 409, "conflict")
	if r := send(t, env.URL, "GET", consoleAPI+"/me", nil, cookie(owner.cookie)); r.status != 200 {
		t.Fatalf("the refused change ended the owner's session: %d", r.status)
	}
	r := post(owner, "/users", newUser("o2@kauppa.example", "owner"))
	second := decode[struct{ ID string }](t, r, 201)
	if r := patch(owner, "/users/"+env.Owner.ID, map[string]any{"disabled": true}); r.status != 200 {
		t.Fatalf("disabling one of two owners: %d %s", r.status, r.body)
	}
	o2 := login(t, env, "o2@kauppa.example", testsrv.Password)
	checkError(t, patch(o2, "/users/"+second.ID, map[string]any{"disabled": true}), 409, "conflict")
}

func TestFirstRunSetUp(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{NoSeed: true})
	needed := func() bool {
		return decode[map[string]bool](t, send(t, env.URL, "GET", "/api/setup", nil), 200)["needed"]
	}
	empty := func(t *testing.T) {
		t.Helper()
		for _, tbl := range []string{"tenants", "sites", "site_origins", "users"} {
			if n := count(t, env, `SELECT COUNT(*) FROM `+tbl); n != 0 {
				t.Fatalf("a refused set-up left %d rows in %s", n, tbl)
			}
		}
		if !needed() {
			t.Fatal("set-up no longer needed after a refused attempt")
		}
	}
	if !needed() {
		t.Fatal("a fresh node does not ask for set-up")
	}
	// The first-run page carries the printed token into its form, escaped.
	home := send(t, env.URL, "GET", "/?token="+env.SetupToken, nil)
	if home.status != 200 || !bytes.Contains(home.body, []byte(`value="`+env.SetupToken+`"`)) {
		t.Fatalf("first-run page: %d %s", home.status, home.body)
	}
	home = send(t, env.URL, "GET", `/?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`, nil)
	if bytes.Contains(home.body, []byte("<script>alert(1)")) {
		t.Fatalf("first-run page reflects markup: %s", home.body)
	}

	in := map[string]any{"token": env.SetupToken, "organisation": "Uusi Oy", "site_name": "Uusi kauppa",
		"site_origins": []string{"https://uusi.example:443"}, "language": "fi", "email": "Omistaja@Uusi.Example",
		"name": "Olli Omistaja", "password": "hyvä pitkä salasana"}
	with := func(k string, v any) []byte {
		m := map[string]any{}
		for k, v := range in {
			m[k] = v
		}
		m[k] = v
		return mustJSON(m)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
		opts   []opt
	}{
		{"wrong token", with("token", otherFirst(env.SetupToken)), 403, "forbidden", nil},
		{"empty token", with("token", ""), 403, "forbidden", nil},
		{"cross-site", mustJSON(in), 403, "forbidden", []opt{hdr("Sec-Fetch-Site", "cross-site")}},
		{"bad email", with("email", "omistaja"), 400, "invalid", nil},
		{"short password", with("password", "lyhyt"), 400, "invalid", nil},
		{"bad origin", with("site_origins", []string{"uusi.example"}), 400, "invalid", nil},
		{"no organisation", with("organisation", ""), 400, "invalid", nil},
		{"no site name", with("site_name", " "), 400, "invalid", nil},
		{"unknown field", with("admin", true), 400, "invalid", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, send(t, env.URL, "POST", "/api/setup", tc.body, append(tc.opts, jsonCT)...), tc.status, tc.code)
			empty(t)
		})
	}

	// Several browsers submit at once: exactly one set-up happens.
	const n = 5
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = send(t, env.URL, "POST", "/api/setup", with("email", "Owner"+strconv.Itoa(i)+"@Uusi.Example"), jsonCT).status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("concurrent set-up answered %d", s)
		}
	}
	if created != 1 || count(t, env, `SELECT COUNT(*) FROM tenants`) != 1 || count(t, env, `SELECT COUNT(*) FROM users`) != 1 {
		t.Fatalf("concurrent set-ups: statuses %v", statuses)
	}
	if needed() {
		t.Fatal("set-up still needed after it was done")
	}
	checkError(t, send(t, env.URL, "POST", "/api/setup", with("email", "late@uusi.example"), jsonCT), 409, "conflict")
	if bytes.Contains(send(t, env.URL, "GET", "/?token="+env.SetupToken, nil).body, []byte(env.SetupToken)) {
		t.Fatal("the home page shows the set-up token after set-up")
	}

	// The owner signs in; the site takes its shop's chat.
	var ownerEmail string
	if err := env.DB.Read().QueryRowContext(ctxT(t), `SELECT email FROM users`).Scan(&ownerEmail); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ownerEmail, "owner") || !strings.HasSuffix(ownerEmail, "@uusi.example") {
		t.Fatalf("owner email %q", ownerEmail)
	}
	s := login(t, env, ownerEmail, "hyvä pitkä salasana")
	sites := decode[struct {
		Sites []struct {
			WidgetKey string   `json:"widget_key"`
			Origins   []string `json:"allowed_origins"`
			Language  string   `json:"language"`
		} `json:"sites"`
	}](t, send(t, env.URL, "GET", consoleAPI+"/sites", nil, cookie(s.cookie)), 200)
	if len(sites.Sites) != 1 || len(sites.Sites[0].Origins) != 1 || sites.Sites[0].Origins[0] != "https://uusi.example" || sites.Sites[0].Language != "fi" {
		t.Fatalf("sites after set-up: %+v", sites)
	}
	if _, err := client.New(env.URL, "https://uusi.example").NewVisitor(ctxT(t), sites.Sites[0].WidgetKey, "fi"); err != nil {
		t.Fatalf("the new site's widget: %v", err)
	}
}

// otherFirst changes a token's first character (to another one whatever it was).
func otherFirst(tok string) string {
	if tok[0] == 'x' {
		return "y" + tok[1:]
	}
	return "x" + tok[1:]
}

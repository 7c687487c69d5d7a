package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tiski/internal/site"
	"tiski/internal/testsrv"
	"tiski/internal/visitor"
	"tiski/web"
)

// Bad input for the widget's context, identity, offline, transcript and
// frame routes (widget_context.go, widget_frame.go).
func init() {
	moreBadCases = append(moreBadCases, func(w *world, t *testing.T) []badCase {
		var cs []badCase
		add := func(more ...badCase) { cs = append(cs, more...) }
		visA := []opt{origin(testsrv.ShopOrigin), bearer(w.visA.Token)}
		withJSON := func(o []opt) []opt { return append(slices.Clone(o), jsonCT) }
		field := func(route, name, path, body, field string, status int, code string) badCase {
			return badCase{route: route, name: name, path: path, body: []byte(body), opts: withJSON(visA), status: status, code: code, field: field}
		}

		// Page views and device.
		pr := "POST " + wr + "/me/pages"
		pages := w.wA + "/me/pages"
		okPages := `{"pages":[{"url":"https://kauppa.example/a","title":"A","referrer":""}],"device":"desktop"}`
		add(w.widgetCases(pr, pages, []byte(okPages), []opt{jsonCT}, true)...)
		add(jsonCases(pr, pages, visA, `{"device":"desktop","timezone":"Europe/Helsinki"}`, "device")...)
		add(field(pr, "no pages", pages, `{"pages":[]}`, "pages", 400, "invalid"),
			field(pr, "javascript url", pages, `{"pages":[{"url":"javascript:alert(1)"}]}`, "pages.url", 400, "invalid"),
			field(pr, "relative url", pages, `{"pages":[{"url":"/a"}]}`, "pages.url", 400, "invalid"),
			field(pr, "data referrer", pages, `{"pages":[{"url":"https://kauppa.example/","referrer":"data:text/html,x"}]}`, "pages.referrer", 400, "invalid"),
			field(pr, "overlong url", pages, `{"pages":[{"url":"https://kauppa.example/`+strings.Repeat("a", 2100)+`"}]}`, "pages.url", 413, "too_large"),
			field(pr, "control character in title", pages, `{"pages":[{"url":"https://kauppa.example/","title":"a\u0007b"}]}`, "pages.title", 400, "invalid"),
			field(pr, "unknown device", pages, `{"pages":[{"url":"https://kauppa.example/"}],"device":"fridge"}`, "device", 400, "invalid"),
			field(pr, "unknown time zone", pages, `{"pages":[{"url":"https://kauppa.example/"}],"timezone":"Mars/Olympus"}`, "timezone", 400, "invalid"),
			field(pr, "offset out of range", pages, `{"pages":[{"url":"https://kauppa.example/"}],"utc_offset":5000}`, "utc_offset", 400, "invalid"),
			field(pr, "unknown language", pages, `{"pages":[{"url":"https://kauppa.example/"}],"language":"de"}`, "language", 400, "invalid"),
			field(pr, "too many pages", pages, `{"pages":[`+strings.Repeat(`{"url":"https://kauppa.example/"},`, 20)+`{"url":"https://kauppa.example/"}]}`, "pages", 400, "invalid"))

		// Tracked events.
		er := "POST " + wr + "/me/events"
		events := w.wA + "/me/events"
		okEvent := `{"type":"purchase","data":{"orderId":"A-1","value":10,"currency":"EUR"}}`
		add(w.widgetCases(er, events, []byte(okEvent), []opt{jsonCT}, true)...)
		add(jsonCases(er, events, visA, `{"type":"signup"}`, "type")...)
		add(field(er, "no type", events, `{"data":{}}`, "type", 400, "invalid"),
			field(er, "bad type", events, `{"type":"<script>"}`, "type", 400, "invalid"),
			field(er, "data not an object", events, `{"type":"x","data":[1]}`, "data", 400, "invalid"),
			field(er, "purchase without order", events, `{"type":"purchase","data":{"value":1,"currency":"EUR"}}`, "data.orderId", 400, "invalid"),
			field(er, "purchase with a negative value", events, `{"type":"purchase","data":{"orderId":"A","value":-1,"currency":"EUR"}}`, "data.value", 400, "invalid"),
			field(er, "purchase value as text", events, `{"type":"purchase","data":{"orderId":"A","value":"1","currency":"EUR"}}`, "data.value", 400, "invalid"),
			field(er, "purchase with a bad currency", events, `{"type":"purchase","data":{"orderId":"A","value":1,"currency":"euro"}}`, "data.currency", 400, "invalid"),
			field(er, "data too large", events, `{"type":"x","data":{"a":"`+strings.Repeat("x", 5000)+`"}}`, "", 413, "too_large"))

		// Identify: every refusal writes nothing.
		ir := "POST " + wr + "/identify"
		ident := w.wA + "/identify"
		exp := worldStart.Add(time.Hour).Unix()
		sig := visitor.SignIdentity(w.env.Site.IdentitySecret, "c-1", exp)
		okIdent := fmt.Sprintf(`{"id":"c-1","name":"Asiakas","expires":%d,"signature":%q}`, exp, sig)
		add(w.widgetCases(ir, ident, []byte(okIdent), []opt{jsonCT}, true)...)
		add(jsonCases(ir, ident, visA, okIdent, "name")...)
		past := worldStart.Add(-time.Minute).Unix()
		far := worldStart.Add(30 * 24 * time.Hour).Unix()
		add(field(ir, "no id", ident, fmt.Sprintf(`{"expires":%d,"signature":%q}`, exp, sig), "id", 400, "invalid"),
			field(ir, "short signature", ident, fmt.Sprintf(`{"id":"c-1","expires":%d,"signature":"abc"}`, exp), "signature", 400, "invalid"),
			field(ir, "no expiry", ident, fmt.Sprintf(`{"id":"c-1","signature":%q}`, sig), "expires", 400, "invalid"),
			field(ir, "signature of another id", ident, fmt.Sprintf(`{"id":"c-2","expires":%d,"signature":%q}`, exp, sig), "", 403, "forbidden"),
			field(ir, "signature with another expiry", ident, fmt.Sprintf(`{"id":"c-1","expires":%d,"signature":%q}`, exp+1, sig), "", 403, "forbidden"),
			field(ir, "signature of another site's secret", ident, fmt.Sprintf(`{"id":"c-1","expires":%d,"signature":%q}`, exp,
				visitor.SignIdentity(w.siteB.IdentitySecret, "c-1", exp)), "", 403, "forbidden"),
			field(ir, "expired signature", ident, fmt.Sprintf(`{"id":"c-1","expires":%d,"signature":%q}`, past,
				visitor.SignIdentity(w.env.Site.IdentitySecret, "c-1", past)), "", 401, "token_expired"),
			field(ir, "expiry too far ahead", ident, fmt.Sprintf(`{"id":"c-1","expires":%d,"signature":%q}`, far,
				visitor.SignIdentity(w.env.Site.IdentitySecret, "c-1", far)), "expires", 400, "invalid"),
			field(ir, "bad email", ident, fmt.Sprintf(`{"id":"c-1","email":"nope","expires":%d,"signature":%q}`, exp, sig), "email", 400, "invalid"))

		// Offline form.
		or := "POST " + wr + "/offline"
		off := w.wA + "/offline"
		okOff := `{"name":"Olli","email":"olli@example.com","message":"Soittakaa"}`
		add(w.widgetCases(or, off, []byte(okOff), []opt{jsonCT}, true)...)
		add(jsonCases(or, off, visA, okOff, "message")...)
		add(field(or, "no name", off, `{"email":"olli@example.com","message":"x"}`, "name", 400, "invalid"),
			field(or, "no email", off, `{"name":"Olli","message":"x"}`, "email", 400, "invalid"),
			field(or, "bad email", off, `{"name":"Olli","email":"olli@","message":"x"}`, "email", 400, "invalid"),
			field(or, "header injection in email", off, `{"name":"Olli","email":"a@b.fi\r\nBcc: x@y.fi","message":"x"}`, "email", 400, "invalid"),
			field(or, "no message", off, `{"name":"Olli","email":"olli@example.com","message":"  "}`, "message", 400, "invalid"),
			field(or, "message too long", off, `{"name":"Olli","email":"olli@example.com","message":"`+strings.Repeat("x", 5001)+`"}`, "message", 413, "too_large"),
			field(or, "javascript page", off, `{"name":"Olli","email":"olli@example.com","message":"x","page":"javascript:x"}`, "page", 400, "invalid"))

		// Transcript.
		tr := "POST " + wr + "/conversations/{id}/transcript"
		trA := w.wA + "/conversations/" + w.convA + "/transcript"
		okTr := `{"email":"aapo@example.com"}`
		add(w.widgetCases(tr, trA, []byte(okTr), []opt{jsonCT}, true)...)
		add(jsonCases(tr, trA, visA, okTr, "email")...)
		add(field(tr, "no email", trA, `{}`, "email", 400, "invalid"),
			field(tr, "bad email", trA, `{"email":"x"}`, "email", 400, "invalid"),
			field(tr, "unknown language", trA, `{"email":"aapo@example.com","language":"de"}`, "language", 400, "invalid"),
			badCase{route: tr, name: "another visitor's conversation", path: w.wA + "/conversations/" + w.convA2 + "/transcript", body: []byte(okTr),
				opts: withJSON(visA), status: 404, code: "not_found", leak: []string{secretA}},
			badCase{route: tr, name: "another tenant's conversation", path: w.wA + "/conversations/" + w.convB + "/transcript", body: []byte(okTr),
				opts: withJSON(visA), status: 404, code: "not_found", leak: []string{secretB}})

		// The frame page.
		fr := "GET /widget/{key}/frame"
		host := "?host=" + url.QueryEscape(testsrv.ShopOrigin)
		add(badCase{route: fr, name: "unknown site", path: "/widget/w_nosuch/frame" + host, status: 404, code: "not_found"},
			badCase{route: fr, name: "no host", path: "/widget/" + w.env.Site.WidgetKey + "/frame", status: 400, code: "invalid", field: "host"},
			badCase{route: fr, name: "host with a path", path: "/widget/" + w.env.Site.WidgetKey + "/frame?host=" + url.QueryEscape(testsrv.ShopOrigin+"/x"), status: 400, code: "invalid", field: "host"},
			badCase{route: fr, name: "host not allowed", path: "/widget/" + w.env.Site.WidgetKey + "/frame?host=" + url.QueryEscape(evilOrigin), status: 403, code: "forbidden"},
			badCase{route: fr, name: "host of another tenant's site", path: "/widget/" + w.env.Site.WidgetKey + "/frame?host=" + url.QueryEscape(originB), status: 403, code: "forbidden"},
			badCase{route: fr, name: "markup in host", path: "/widget/" + w.env.Site.WidgetKey + "/frame?host=" + url.QueryEscape(`https://x"><script>`), status: 403, code: "forbidden",
				leak: []string{"<script>"}})
		return cs
	})
}

// TestWidgetFrame: the frame page carries a strict policy that lets only
// the site's origins embed it, and names the host it will talk to.
func TestWidgetFrame(t *testing.T) {
	if web.Manifest()["widget-app.js"] == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("the widget is not built; make build runs before the tests")
		}
		t.Skip("*** SKIPPING: the widget is not built (make web) ***")
	}
	env := testsrv.Start(t, testsrv.Options{})
	r := send(t, env.URL, "GET", "/widget/"+env.Site.WidgetKey+"/frame?host="+url.QueryEscape(testsrv.ShopOrigin), nil)
	if r.status != 200 {
		t.Fatalf("frame: %d %s", r.status, r.body)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors " + env.URL + " " + testsrv.ShopOrigin, "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe code: %q", csp)
	}
	body := string(r.body)
	if !strings.Contains(body, `data-host="`+testsrv.ShopOrigin+`"`) || !strings.Contains(body, `data-site="`+env.Site.WidgetKey+`"`) {
		t.Errorf("frame page does not name its host and site: %s", body)
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("frame page has an inline script: %s", body)
	}
}

// TestWidgetContextForAgents: pages, device, local time, tracked purchases
// and the shop-verified identity reach the agent's view of the visitor.
func TestWidgetContextForAgents(t *testing.T) {
	w := newWorld(t)
	// The shopper's browser is named from its User-Agent header.
	visA := []opt{origin(testsrv.ShopOrigin), bearer(w.visA.Token), jsonCT,
		hdr("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")}
	post := func(path, body string, status int) reply {
		t.Helper()
		r := send(t, w.env.URL, "POST", w.wA+path, []byte(body), visA...)
		if r.status != status {
			t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
		return r
	}
	post("/me/pages", `{"pages":[{"url":"https://kauppa.example/","title":"Etusivu","referrer":"https://haku.example/?q=sukat"},
		{"url":"https://kauppa.example/p/sukat","title":"Villasukat"}],"device":"mobile","timezone":"Europe/Stockholm","utc_offset":60,"language":"sv"}`, 204)
	purchase := `{"type":"purchase","data":{"orderId":"MM-1","value":59.8,"currency":"EUR"}}`
	post("/me/events", purchase, 204)
	post("/me/events", purchase, 204) // a retry is stored once

	exp := worldStart.Add(time.Hour).Unix()
	sig := visitor.SignIdentity(w.env.Site.IdentitySecret, "cust-42", exp)
	ident := fmt.Sprintf(`{"id":"cust-42","name":"Aapo Asiakas","email":"aapo@example.com","expires":%d,"signature":%q}`, exp, sig)
	post("/identify", ident, 200)
	post("/identify", ident, 200) // the same visitor again: fine
	// Another visitor replaying the signature is refused.
	r := send(t, w.env.URL, "POST", w.wA+"/identify", []byte(ident), origin(testsrv.ShopOrigin), bearer(w.visA3.Token), jsonCT)
	checkError(t, r, 409, "conflict")

	got := decode[visitor.Visitor](t, send(t, w.env.URL, "GET", consoleAPI+"/visitors/"+w.visA.ID, nil, w.agent.auth()), 200)
	if got.CustomerID != "cust-42" || got.Email != "aapo@example.com" {
		t.Errorf("identity not stored: %+v", got)
	}
	if got.Device != "mobile" || got.Browser != "Chrome" || got.OS != "Android" || got.Timezone != "Europe/Stockholm" || got.UTCOffset != 60 || got.Language != "sv" {
		t.Errorf("device not stored: %+v", got)
	}
	loc, _ := time.LoadLocation("Europe/Stockholm")
	if want := worldStart.In(loc).Format("15:04"); got.LocalTime != want {
		t.Errorf("local time %q, want %q", got.LocalTime, want)
	}
	if len(got.Pages) != 2 || got.Pages[0].Referrer != "https://haku.example/?q=sukat" && got.Pages[1].Referrer != "https://haku.example/?q=sukat" {
		t.Errorf("pages: %+v", got.Pages)
	}
	if len(got.Events) != 1 || got.Events[0].Type != "purchase" {
		t.Fatalf("events: %+v", got.Events)
	}
	var data map[string]any
	_ = json.Unmarshal(got.Events[0].Data, &data)
	if data["orderId"] != "MM-1" || data["value"] != 59.8 || data["currency"] != "EUR" {
		t.Errorf("purchase data: %s", got.Events[0].Data)
	}
	// The other visitor was not identified.
	other := decode[visitor.Visitor](t, send(t, w.env.URL, "GET", consoleAPI+"/visitors/"+w.visA3.ID, nil, w.agent.auth()), 200)
	if other.CustomerID != "" {
		t.Errorf("replayed identity stuck to another visitor: %+v", other)
	}
	// An agent of another tenant sees none of it.
	checkError(t, send(t, w.env.URL, "GET", consoleAPI+"/visitors/"+w.visA.ID, nil, w.ownerB.auth()), 404, "not_found")
}

// TestOfflineAndTranscriptMail: an offline message is stored and mailed
// to the team in one go; a transcript goes to the shopper, at most three
// times per conversation.
func TestOfflineAndTranscriptMail(t *testing.T) {
	w := newWorld(t)
	visA3 := []opt{origin(testsrv.ShopOrigin), bearer(w.visA3.Token), jsonCT}
	msg := `{"name":"Olli Offline","email":"olli@example.com","message":"Onko koko 44 tulossa?","page":"https://kauppa.example/p/1"}`
	for i := 0; i < visitor.MaxOfflinePerHour; i++ {
		r := send(t, w.env.URL, "POST", w.wA+"/offline", []byte(msg), visA3...)
		if r.status != 201 {
			t.Fatalf("offline %d: %d %s", i, r.status, r.body)
		}
	}
	checkError(t, send(t, w.env.URL, "POST", w.wA+"/offline", []byte(msg), visA3...), 429, "rate_limited")
	if n := count(t, w.env, `SELECT COUNT(*) FROM offline_messages WHERE visitor_id = $1`, w.visA3.ID); n != visitor.MaxOfflinePerHour {
		t.Errorf("%d offline messages stored", n)
	}
	// Owner and admin of tenant A, not agents, not tenant B.
	mails := count(t, w.env, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'offline_message' AND reply_to = 'olli@example.com'
		AND text_body LIKE '%Onko koko 44 tulossa?%' AND to_addr IN ($1, 'admin@kauppa.example')`, w.env.Owner.Email)
	if mails != 2*visitor.MaxOfflinePerHour {
		t.Errorf("%d offline mails queued, want %d", mails, 2*visitor.MaxOfflinePerHour)
	}
	if n := count(t, w.env, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'offline_message'`); n != mails {
		t.Errorf("offline mail went elsewhere too: %d", n)
	}
	v := decode[visitor.Visitor](t, send(t, w.env.URL, "GET", consoleAPI+"/visitors/"+w.visA3.ID, nil, w.agent.auth()), 200)
	if v.Name != "Olli Offline" || v.Email != "olli@example.com" {
		t.Errorf("the visitor's contact was not kept: %+v", v)
	}

	// The shopper's browser is named from its User-Agent header.
	visA := []opt{origin(testsrv.ShopOrigin), bearer(w.visA.Token), jsonCT,
		hdr("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")}
	tr := w.wA + "/conversations/" + w.convA + "/transcript"
	for i := 0; i < 3; i++ {
		if r := send(t, w.env.URL, "POST", tr, []byte(`{"email":"aapo@example.com","language":"fi"}`), visA...); r.status != 202 {
			t.Fatalf("transcript: %d %s", r.status, r.body)
		}
	}
	checkError(t, send(t, w.env.URL, "POST", tr, []byte(`{"email":"aapo@example.com"}`), visA...), 429, "rate_limited")
	if n := count(t, w.env, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'transcript' AND to_addr = 'aapo@example.com'
		AND text_body LIKE $1 AND subject LIKE 'Keskustelusi%'`, "%Sinä:\n"+secretA+"%"); n != 3 {
		t.Errorf("%d transcripts with the conversation queued, want 3", n)
	}
}

// TestSiteConfigForTheWidget: the widget learns whether anyone can answer,
// the first names of agents online (for the greeting) and, with a pre-chat
// form, the topics to choose from.
func TestSiteConfigForTheWidget(t *testing.T) {
	w := newWorld(t)
	ctx := ctxT(t)
	type cfg struct {
		Available bool     `json:"available"`
		Agents    []string `json:"agents"`
		Topics    []struct {
			ID, Name string
		} `json:"topics"`
		Settings struct {
			LockLanguage bool              `json:"lock_language"`
			Label        map[string]string `json:"label"`
		} `json:"settings"`
	}
	get := func() cfg {
		t.Helper()
		return decode[cfg](t, send(t, w.env.URL, "GET", w.wA, nil, origin(testsrv.ShopOrigin)), 200)
	}
	if c := get(); c.Available || len(c.Agents) != 0 || len(c.Topics) != 0 {
		t.Fatalf("nobody online yet: %+v", c)
	}
	if err := w.env.Users.SetStatus(ctx, w.env.Tenant.ID, w.agentUser.ID, "online"); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(w.agentUser.Name, " ")
	if c := get(); !c.Available || len(c.Agents) != 1 || c.Agents[0] != first {
		t.Fatalf("agent online: %+v, want %q", c, first)
	}
	st := w.env.Site.Settings
	st.Prechat.Enabled = true
	st.LockLanguage = true
	st.Label = map[string]string{"fi": "Kysy meiltä"}
	if _, err := w.env.Sites.Update(ctx, w.env.Tenant.ID, w.env.Site.ID, site.Update{Settings: &st}); err != nil {
		t.Fatal(err)
	}
	c := get()
	if len(c.Topics) != 1 || c.Topics[0].ID != w.deptA.ID || c.Topics[0].Name != "Tuki" {
		t.Errorf("topics: %+v", c.Topics)
	}
	if !c.Settings.LockLanguage || c.Settings.Label["fi"] != "Kysy meiltä" {
		t.Errorf("settings: %+v", c.Settings)
	}
	// Labels are checked like greetings.
	bad := st
	bad.Label = map[string]string{"de": "Hallo"}
	if _, err := w.env.Sites.Update(ctx, w.env.Tenant.ID, w.env.Site.ID, site.Update{Settings: &bad}); err == nil {
		t.Error("a label in an unknown language was accepted")
	}
	bad.Label = map[string]string{"fi": strings.Repeat("x", 41)}
	if _, err := w.env.Sites.Update(ctx, w.env.Tenant.ID, w.env.Site.ID, site.Update{Settings: &bad}); err == nil {
		t.Error("an overlong label was accepted")
	}
}

package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"tiski/internal/canned"
	"tiski/internal/user"
)

// Bad input for teamRoutes: every route refuses sessions, CSRF and roles
// as the console does, malformed bodies and queries, and other tenants'
// ids, writing nothing.
func init() {
	moreBadCases = append(moreBadCases, teamBadCases)
}

// inviteToken reads the link token of the newest invitation mailed to addr.
func inviteToken(t *testing.T, w *world, addr string) string {
	t.Helper()
	var text string
	if err := w.env.DB.Read().QueryRowContext(ctxT(t), `SELECT text_body FROM mail_outbox WHERE to_addr = $1 AND kind = 'invite'
		ORDER BY created_at DESC, id DESC LIMIT 1`, addr).Scan(&text); err != nil {
		t.Fatalf("no invitation mailed to %s: %v", addr, err)
	}
	m := regexp.MustCompile(`#/invite/(inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("invitation without a link: %q", text)
	}
	return m[1]
}

func teamBadCases(w *world, t *testing.T) []badCase {
	env := w.env
	ctx := ctxT(t)
	tenantB := w.siteB.TenantID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tagA, err := env.Tags.Create(ctx, env.Tenant.ID, "Palautus", "")
	must(err)
	tagB, err := env.Tags.Create(ctx, tenantB, "Retur", "")
	must(err)
	str := func(s string) *string { return &s }
	cannedA, err := env.Canned.Create(ctx, env.Tenant.ID, canned.Input{Shortcut: str("hei"), Title: str("Tervehdys"), Body: str("Hei {{visitor.name}}!")})
	must(err)
	cannedB, err := env.Canned.Create(ctx, tenantB, canned.Input{Shortcut: str("hej"), Title: str("Hälsning"), Body: str("Hej!")})
	must(err)
	deptA2, err := env.Tenants.CreateDepartment(ctx, env.Tenant.ID, "Myynti")
	must(err)
	_, _, err = env.Users.Invite(ctx, env.Tenant.ID, user.Invite{Email: "uusi@kauppa.example", Name: "Uusi", LinkBase: "http://x/console#/invite/"})
	must(err)
	token := inviteToken(t, w, "uusi@kauppa.example")

	var cs []badCase
	add := func(more ...badCase) { cs = append(cs, more...) }
	leaks := []string{secretA, nameA, secretB, nameB}
	bad := func(route, name, path, body string, o []opt, status int, code, field string) badCase {
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		return badCase{route: route, name: name, path: path, body: b, opts: o, status: status, code: code, field: field, leak: leaks}
	}
	agentJSON := []opt{w.agent.auth(), jsonCT}
	ownerJSON := []opt{w.owner.auth(), jsonCT}
	adminJSON := []opt{w.admin.auth(), jsonCT}
	bJSON := []opt{w.ownerB.auth(), jsonCT}

	r := "POST " + cr + "/me/activity"
	add(w.consoleCases(r, cr+"/me/activity", nil, nil, false)...)

	for _, p := range []string{"/inbox/mine", "/inbox/queue"} {
		add(w.consoleCases("GET "+cr+p, cr+p, nil, nil, false)...)
	}
	add(w.consoleCases("GET "+cr+"/inbox/open", cr+"/inbox/open", nil, nil, true)...)

	r, p := "GET "+cr+"/history", cr+"/history"
	add(w.consoleCases(r, p, nil, nil, false)...)
	ag := []opt{w.agent.auth()}
	add(
		bad(r, "from not a date", p+"?from=eilen", "", ag, 400, "invalid", "from"),
		bad(r, "to not a date", p+"?to=2026-13-01", "", ag, 400, "invalid", "to"),
		bad(r, "to before from", p+"?from=2026-03-02&to=2026-03-01", "", ag, 400, "invalid", "to"),
		bad(r, "one-letter text", p+"?q=a", "", ag, 400, "invalid", "q"),
		bad(r, "overlong text", p+"?q="+strings.Repeat("x", 201), "", ag, 400, "invalid", "q"),
		bad(r, "tag not an id", p+"?tag=x'or'1", "", ag, 400, "invalid", "tag"),
		bad(r, "agent not an id", p+"?agent=%25", "", ag, 400, "invalid", "agent"),
		bad(r, "forged cursor", p+"?cursor=bm9wZQ", "", ag, 400, "invalid", "cursor"),
		bad(r, "limit 0", p+"?limit=0", "", ag, 400, "invalid", "limit"),
		bad(r, "limit over 200", p+"?limit=201", "", ag, 400, "invalid", "limit"),
	)

	conv := cr + "/conversations/" + w.convA
	r = "GET " + cr + "/conversations/{id}/panel"
	add(w.consoleCases(r, conv+"/panel", nil, nil, false)...)
	add(bad(r, "another tenant's conversation", conv+"/panel", "", []opt{w.ownerB.auth()}, 404, "not_found", ""),
		bad(r, "unknown conversation", cr+"/conversations/nope/panel", "", ag, 404, "not_found", ""))

	r = "POST " + cr + "/conversations/{id}/transfer"
	tr := `{"department_id":"` + deptA2.ID + `","note":"myyntiin"}`
	add(w.consoleCases(r, conv+"/transfer", []byte(tr), []opt{jsonCT}, false)...)
	add(jsonCases(r, conv+"/transfer", agentJSON, tr, "note")...)
	add(
		bad(r, "both agent and department", conv+"/transfer", `{"agent_id":"`+env.Agents[1].ID+`","department_id":"`+deptA2.ID+`"}`, ownerJSON, 400, "invalid", "agent_id"),
		bad(r, "neither agent nor department", conv+"/transfer", `{"note":"x"}`, ownerJSON, 400, "invalid", "agent_id"),
		bad(r, "another tenant's department", conv+"/transfer", `{"department_id":"`+w.deptB.ID+`"}`, ownerJSON, 400, "invalid", "department_id"),
		bad(r, "another tenant's agent", conv+"/transfer", `{"agent_id":"`+w.agentBUser.ID+`"}`, ownerJSON, 400, "invalid", "agent_id"),
		bad(r, "department not an id", conv+"/transfer", `{"department_id":"../x"}`, ownerJSON, 400, "invalid", "department_id"),
		bad(r, "note too long", conv+"/transfer", `{"department_id":"`+deptA2.ID+`","note":"`+strings.Repeat("n", 1001)+`"}`, ownerJSON, 413, "too_large", "note"),
		bad(r, "another tenant's conversation", conv+"/transfer", `{"department_id":"`+w.deptB.ID+`"}`, bJSON, 404, "not_found", ""),
	)

	r = "POST " + cr + "/conversations/{id}/notes"
	note := `{"id":"n-1","body":"sisäinen huomio"}`
	add(w.consoleCases(r, conv+"/notes", []byte(note), []opt{jsonCT}, false)...)
	add(jsonCases(r, conv+"/notes", agentJSON, note, "body")...)
	add(
		bad(r, "empty body", conv+"/notes", `{"id":"n-2","body":"  "}`, agentJSON, 400, "invalid", "body"),
		bad(r, "no id", conv+"/notes", `{"body":"x"}`, agentJSON, 400, "invalid", "id"),
		bad(r, "bad id", conv+"/notes", `{"id":"a b","body":"x"}`, agentJSON, 400, "invalid", "id"),
		bad(r, "body too long", conv+"/notes", `{"id":"n-3","body":"`+strings.Repeat("x", 5001)+`"}`, agentJSON, 413, "too_large", "body"),
		bad(r, "agent whispering", conv+"/notes", `{"id":"n-4","body":"psst","whisper":true}`, agentJSON, 403, "forbidden", ""),
		bad(r, "another tenant's conversation", conv+"/notes", note, bJSON, 404, "not_found", ""),
	)

	tagPath := conv + "/tags/" + tagA.ID
	for _, m := range []string{"PUT", "DELETE"} {
		r = m + " " + cr + "/conversations/{id}/tags/{tag}"
		add(w.consoleCases(r, tagPath, nil, nil, false)...)
		add(
			bad(r, "another tenant's tag", conv+"/tags/"+tagB.ID, "", []opt{w.owner.auth()}, 404, "not_found", ""),
			bad(r, "unknown tag", conv+"/tags/nope", "", []opt{w.owner.auth()}, 404, "not_found", ""),
			bad(r, "another tenant's conversation", tagPath, "", []opt{w.ownerB.auth()}, 404, "not_found", ""),
		)
	}

	r = "POST " + cr + "/conversations/{id}/transcript"
	add(w.consoleCases(r, conv+"/transcript", []byte(`{"email":"a@b.example"}`), []opt{jsonCT}, false)...)
	add(jsonCases(r, conv+"/transcript", ownerJSON, `{"email":"a@b.example"}`, "email")...)
	add(
		bad(r, "visitor gave no email", conv+"/transcript", `{}`, ownerJSON, 400, "invalid", "email"),
		bad(r, "not an email", conv+"/transcript", `{"email":"ei sähköposti"}`, ownerJSON, 400, "invalid", "email"),
		bad(r, "header injection", conv+"/transcript", `{"email":"a@b.example\r\nBcc: c@d.example"}`, ownerJSON, 400, "invalid", "email"),
		bad(r, "agent not handling it", conv+"/transcript", `{"email":"a@b.example"}`, agentJSON, 403, "forbidden", ""),
		bad(r, "another tenant's conversation", conv+"/transcript", `{"email":"a@b.example"}`, bJSON, 404, "not_found", ""),
	)

	r = "POST " + cr + "/conversations/{id}/join"
	add(w.consoleCases(r, conv+"/join", []byte(`{"mode":"join"}`), []opt{jsonCT}, true)...)
	add(jsonCases(r, conv+"/join", ownerJSON, `{"mode":"join"}`, "mode")...)
	add(
		bad(r, "unknown mode", conv+"/join", `{"mode":"spy"}`, ownerJSON, 400, "invalid", "mode"),
		bad(r, "another tenant's conversation", conv+"/join", `{"mode":"join"}`, bJSON, 404, "not_found", ""),
	)

	r = "GET " + cr + "/conversations/{id}/canned"
	add(w.consoleCases(r, conv+"/canned", nil, nil, false)...)
	add(bad(r, "another tenant's conversation", conv+"/canned", "", []opt{w.ownerB.auth()}, 404, "not_found", ""))

	r = "GET " + cr + "/canned"
	add(w.consoleCases(r, cr+"/canned", nil, nil, false)...)
	add(bad(r, "department not an id", cr+"/canned?department=x", "", ag, 400, "invalid", "department"))

	r = "POST " + cr + "/canned"
	nc := `{"shortcut":"kiitos","title":"Kiitos","body":"Kiitos, {{visitor.name}}!"}`
	add(w.consoleCases(r, cr+"/canned", []byte(nc), []opt{jsonCT}, true)...)
	add(jsonCases(r, cr+"/canned", adminJSON, nc, "title")...)
	add(
		bad(r, "no shortcut", cr+"/canned", `{"title":"x","body":"y"}`, adminJSON, 400, "invalid", "shortcut"),
		bad(r, "shortcut with spaces", cr+"/canned", `{"shortcut":"a b","title":"x","body":"y"}`, adminJSON, 400, "invalid", "shortcut"),
		bad(r, "unknown placeholder", cr+"/canned", `{"shortcut":"x","title":"x","body":"{{visitor.password}}"}`, adminJSON, 400, "invalid", "body"),
		bad(r, "empty body", cr+"/canned", `{"shortcut":"x","title":"x","body":""}`, adminJSON, 400, "invalid", "body"),
		bad(r, "taken shortcut", cr+"/canned", `{"shortcut":"HEI","title":"x","body":"y"}`, adminJSON, 409, "conflict", ""),
		bad(r, "another tenant's department", cr+"/canned", `{"shortcut":"x","title":"x","body":"y","department_id":"`+w.deptB.ID+`"}`, adminJSON, 400, "invalid", "department_id"),
	)

	r = "PATCH " + cr + "/canned/{id}"
	cp := cr + "/canned/" + cannedA.ID
	add(w.consoleCases(r, cp, []byte(`{"title":"Uusi"}`), []opt{jsonCT}, true)...)
	add(jsonCases(r, cp, adminJSON, `{"title":"Uusi"}`, "title")...)
	add(
		bad(r, "another tenant's response", cr+"/canned/"+cannedB.ID, `{"title":"x"}`, adminJSON, 404, "not_found", ""),
		bad(r, "unknown placeholder", cp, `{"body":"{{ agent.email }}"}`, adminJSON, 400, "invalid", "body"),
		bad(r, "empty title", cp, `{"title":""}`, adminJSON, 400, "invalid", "title"),
	)

	r = "DELETE " + cr + "/canned/{id}"
	add(w.consoleCases(r, cp, nil, nil, true)...)
	add(bad(r, "another tenant's response", cr+"/canned/"+cannedB.ID, "", []opt{w.admin.auth()}, 404, "not_found", ""),
		bad(r, "unknown response", cr+"/canned/nope", "", []opt{w.admin.auth()}, 404, "not_found", ""))

	r = "GET " + cr + "/tags"
	add(w.consoleCases(r, cr+"/tags", nil, nil, false)...)

	r = "POST " + cr + "/tags"
	add(w.consoleCases(r, cr+"/tags", []byte(`{"name":"VIP"}`), []opt{jsonCT}, false)...)
	add(jsonCases(r, cr+"/tags", agentJSON, `{"name":"VIP"}`, "name")...)
	add(
		bad(r, "no name", cr+"/tags", `{"color":"#123456"}`, agentJSON, 400, "invalid", "name"),
		bad(r, "bad colour", cr+"/tags", `{"name":"x","color":"red"}`, agentJSON, 400, "invalid", "color"),
		bad(r, "taken name in other case", cr+"/tags", `{"name":"PALAUTUS"}`, agentJSON, 409, "conflict", ""),
		bad(r, "name too long", cr+"/tags", `{"name":"`+strings.Repeat("t", 41)+`"}`, agentJSON, 413, "too_large", "name"),
	)

	r = "PATCH " + cr + "/tags/{id}"
	tp := cr + "/tags/" + tagA.ID
	add(w.consoleCases(r, tp, []byte(`{"name":"Hyvitys"}`), []opt{jsonCT}, true)...)
	add(jsonCases(r, tp, adminJSON, `{"name":"Hyvitys"}`, "name")...)
	add(bad(r, "another tenant's tag", cr+"/tags/"+tagB.ID, `{"name":"x"}`, adminJSON, 404, "not_found", ""),
		bad(r, "bad colour", tp, `{"color":"#12345g"}`, adminJSON, 400, "invalid", "color"))

	r = "DELETE " + cr + "/tags/{id}"
	add(w.consoleCases(r, tp, nil, nil, true)...)
	add(bad(r, "another tenant's tag", cr+"/tags/"+tagB.ID, "", []opt{w.admin.auth()}, 404, "not_found", ""))

	r = "GET " + cr + "/board"
	add(w.consoleCases(r, cr+"/board", nil, nil, true)...)

	r = "POST " + cr + "/users/invite"
	inv := `{"email":"toinen@kauppa.example","name":"Toinen"}`
	add(w.consoleCases(r, cr+"/users/invite", []byte(inv), []opt{jsonCT}, true)...)
	add(jsonCases(r, cr+"/users/invite", adminJSON, inv, "name")...)
	add(
		bad(r, "not an email", cr+"/users/invite", `{"email":"toinen"}`, adminJSON, 400, "invalid", "email"),
		bad(r, "existing account", cr+"/users/invite", `{"email":"`+env.Agents[0].Email+`"}`, adminJSON, 400, "invalid", "email"),
		bad(r, "role above the inviter's", cr+"/users/invite", `{"email":"x@kauppa.example","role":"owner"}`, adminJSON, 403, "forbidden", ""),
		bad(r, "unknown role", cr+"/users/invite", `{"email":"x@kauppa.example","role":"boss"}`, adminJSON, 400, "invalid", "role"),
		bad(r, "cap out of range", cr+"/users/invite", `{"email":"x@kauppa.example","max_chats":99}`, adminJSON, 400, "invalid", "max_chats"),
		// The account is inserted first; the bad department must undo it.
		bad(r, "another tenant's department", cr+"/users/invite", `{"email":"x@kauppa.example","departments":["`+w.deptB.ID+`"]}`, adminJSON, 400, "invalid", "departments"),
	)

	r = "GET " + cr + "/invites/{token}"
	add(
		bad(r, "unknown token", cr+"/invites/inv_nope", "", nil, 404, "not_found", ""),
		bad(r, "overlong token", cr+"/invites/inv_"+strings.Repeat("x", 300), "", nil, 404, "not_found", ""),
	)
	r = "POST " + cr + "/invites/{token}/accept"
	acc := cr + "/invites/" + token + "/accept"
	add(jsonCases(r, acc, nil, `{"password":"`+"pitkä ja hyvä salasana"+`"}`, "password")...)
	add(
		bad(r, "unknown token", cr+"/invites/inv_nope/accept", `{"password":"pitkä ja hyvä salasana"}`, []opt{jsonCT}, 404, "not_found", ""),
		bad(r, "weak password", acc, `{"password":"123"}`, []opt{jsonCT}, 400, "invalid", "password"),
		bad(r, "cross-site", acc, `{"password":"pitkä ja hyvä salasana"}`, []opt{jsonCT, hdr("Sec-Fetch-Site", "cross-site")}, 403, "forbidden", ""),
	)

	r = "PATCH " + cr + "/departments/{id}"
	dp := cr + "/departments/" + w.deptA.ID
	add(w.consoleCases(r, dp, []byte(`{"name":"Asiakastuki"}`), []opt{jsonCT}, true)...)
	add(jsonCases(r, dp, adminJSON, `{"name":"Asiakastuki"}`, "name")...)
	add(bad(r, "another tenant's department", cr+"/departments/"+w.deptB.ID, `{"name":"x"}`, adminJSON, 404, "not_found", ""),
		bad(r, "empty name", dp, `{"name":""}`, adminJSON, 400, "invalid", "name"),
		bad(r, "taken name", dp, `{"name":"Myynti"}`, adminJSON, 400, "invalid", "name"))

	r = "DELETE " + cr + "/departments/{id}"
	add(w.consoleCases(r, dp, nil, nil, true)...)
	add(bad(r, "another tenant's department", cr+"/departments/"+w.deptB.ID, "", []opt{w.admin.auth()}, 404, "not_found", ""),
		bad(r, "unknown department", cr+"/departments/nope", "", []opt{w.admin.auth()}, 404, "not_found", ""))
	_ = http.MethodGet
	return cs
}

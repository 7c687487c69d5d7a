package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/testsrv"
)

type offlineItem struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Message       string     `json:"message"`
	SiteID        string     `json:"site_id"`
	SiteName      string     `json:"site_name"`
	VisitorID     string     `json:"visitor_id"`
	HandledAt     *time.Time `json:"handled_at"`
	HandledBy     string     `json:"handled_by"`
	HandledByName string     `json:"handled_by_name"`
	Reply         string     `json:"reply"`
	RepliedAt     *time.Time `json:"replied_at"`
}

type offlineList struct {
	Messages []offlineItem `json:"messages"`
	Open     int           `json:"open"`
	Next     *struct {
		Before   string `json:"before"`
		BeforeID string `json:"before_id"`
	} `json:"next"`
}

// leaveOffline posts the widget's offline form as the visitor with token
// tok on widget base wbase and returns the stored message's id.
func leaveOffline(t *testing.T, w *world, wbase, org, tok, body string) string {
	t.Helper()
	r := send(t, w.env.URL, "POST", wbase+"/offline", []byte(body), origin(org), bearer(tok), jsonCT)
	return decode[offlineItem](t, r, 201).ID
}

func init() {
	moreBadCases = append(moreBadCases, offlineBadCases)
}

func offlineBadCases(w *world, t *testing.T) []badCase {
	idA := leaveOffline(t, w, w.wA2, originA2, w.visOth.Token, `{"name":"Outi","email":"outi@example.com","message":"Onko varastossa?"}`)
	idB := leaveOffline(t, w, w.wB, originB, w.visB.Token, `{"name":"Berit","email":"berit@example.se","message":"Finns den i lager?"}`)
	var cs []badCase
	add := func(more ...badCase) { cs = append(cs, more...) }
	agent := []opt{w.agent.auth()}
	agentJSON := []opt{w.agent.auth(), jsonCT}
	bJSON := []opt{w.ownerB.auth(), jsonCT}
	q := func(route, name, query, field string) badCase {
		return badCase{route: route, name: name, path: cr + "/offline?" + query, opts: agent, status: 400, code: "invalid", field: field}
	}

	lr := "GET " + cr + "/offline"
	add(w.consoleCases(lr, cr+"/offline", nil, nil, false)...)
	add(q(lr, "unknown state", "state=new", "state"),
		q(lr, "another tenant's site", "site="+url.QueryEscape(w.siteB.ID), "site"),
		q(lr, "unknown site", "site=s_nosuch", "site"),
		q(lr, "bad before", "before=yesterday&before_id=x", "before"),
		q(lr, "before without before_id", "before=2026-03-02T09:30:00Z", "before_id"),
		q(lr, "limit zero", "limit=0", "limit"),
		q(lr, "limit too large", "limit=9999", "limit"),
		badCase{route: lr, name: "another tenant's messages are not listed", path: cr + "/offline", opts: agent,
			check: func(t *testing.T, r reply) {
				l := decode[offlineList](t, r, 200)
				if strings.Contains(string(r.body), "Berit") || len(l.Messages) != 1 || l.Messages[0].ID != idA {
					t.Errorf("list: %s", r.body)
				}
			}})

	hr := "PUT " + cr + "/offline/{id}/handled"
	hA := cr + "/offline/" + idA + "/handled"
	add(w.consoleCases(hr, hA, []byte(`{"handled":true}`), []opt{jsonCT}, false)...)
	add(jsonCases(hr, hA, agent, `{"handled":true}`, "handled")...)
	add(badCase{route: hr, name: "no handled", path: hA, body: []byte(`{}`), opts: agentJSON, status: 400, code: "invalid", field: "handled"},
		badCase{route: hr, name: "handled as text", path: hA, body: []byte(`{"handled":"yes"}`), opts: agentJSON, status: 400, code: "invalid"},
		badCase{route: hr, name: "another tenant's message", path: cr + "/offline/" + idB + "/handled", body: []byte(`{"handled":true}`),
			opts: agentJSON, status: 404, code: "not_found", leak: []string{"Berit"}},
		badCase{route: hr, name: "message of the other tenant, seen from it", path: hA, body: []byte(`{"handled":true}`),
			opts: bJSON, status: 404, code: "not_found", leak: []string{"Outi"}},
		badCase{route: hr, name: "unknown id", path: cr + "/offline/o_nosuch/handled", body: []byte(`{"handled":true}`),
			opts: agentJSON, status: 404, code: "not_found"})

	rr := "POST " + cr + "/offline/{id}/reply"
	rA := cr + "/offline/" + idA + "/reply"
	okReply := `{"text":"Kyllä on."}`
	add(w.consoleCases(rr, rA, []byte(okReply), []opt{jsonCT}, false)...)
	add(jsonCases(rr, rA, agent, okReply, "text")...)
	add(badCase{route: rr, name: "no text", path: rA, body: []byte(`{"text":"  \n "}`), opts: agentJSON, status: 400, code: "invalid", field: "text"},
		badCase{route: rr, name: "text too long", path: rA, body: []byte(`{"text":"` + strings.Repeat("x", 10001) + `"}`), opts: agentJSON,
			status: 413, code: "too_large", field: "text"},
		badCase{route: rr, name: "control characters", path: rA, body: []byte(`{"text":"a\u0000b"}`), opts: agentJSON, status: 400, code: "invalid", field: "text"},
		badCase{route: rr, name: "another tenant's message", path: cr + "/offline/" + idB + "/reply", body: []byte(okReply),
			opts: agentJSON, status: 404, code: "not_found", leak: []string{"Berit", "berit@"}},
		badCase{route: rr, name: "message of the other tenant, seen from it", path: rA, body: []byte(okReply),
			opts: bJSON, status: 404, code: "not_found", leak: []string{"Outi", "outi@"}})
	return cs
}

// TestOfflineInbox: agents list, handle and answer their tenant's offline
// messages; the reply is mailed to the shopper in the same transaction
// that records it, and the open count follows.
func TestOfflineInbox(t *testing.T) {
	w := newWorld(t)
	first := leaveOffline(t, w, w.wA, testsrv.ShopOrigin, w.visA3.Token,
		`{"name":"<img src=x onerror=alert(1)>","email":"olli@example.com","message":"Koko 44?\nKiitos","page":"https://kauppa.example/p/1"}`)
	w.clock.Advance(time.Minute)
	second := leaveOffline(t, w, w.wA2, originA2, w.visOth.Token, `{"name":"Outi","email":"outi@example.com","message":"Toimitus?"}`)
	idB := leaveOffline(t, w, w.wB, originB, w.visB.Token, `{"name":"Berit","email":"berit@example.se","message":"Lager?"}`)

	list := func(s *session, query string) offlineList {
		t.Helper()
		return decode[offlineList](t, send(t, w.env.URL, "GET", cr+"/offline?"+query, nil, s.auth()), 200)
	}
	me := func(s *session) int {
		t.Helper()
		return decode[struct {
			OfflineOpen int `json:"offline_open"`
		}](t, send(t, w.env.URL, "GET", cr+"/me", nil, s.auth()), 200).OfflineOpen
	}

	// Newest first, tenant's own only, site filter and paging.
	l := list(w.agent, "")
	if len(l.Messages) != 2 || l.Messages[0].ID != second || l.Messages[1].ID != first || l.Open != 2 {
		t.Fatalf("agent's list: %+v", l)
	}
	if m := l.Messages[1]; m.Name != "<img src=x onerror=alert(1)>" || m.SiteName != w.env.Site.Name || m.VisitorID != w.visA3.ID ||
		m.Message != "Koko 44?\nKiitos" || m.HandledAt != nil {
		t.Errorf("stored message: %+v", m)
	}
	if l := list(w.agent, "site="+w.siteA2.ID); len(l.Messages) != 1 || l.Messages[0].ID != second {
		t.Errorf("site filter: %+v", l)
	}
	p1 := list(w.agent, "limit=1")
	if len(p1.Messages) != 1 || p1.Next == nil {
		t.Fatalf("first page: %+v", p1)
	}
	p2 := list(w.agent, "limit=1&before="+url.QueryEscape(p1.Next.Before)+"&before_id="+p1.Next.BeforeID)
	if len(p2.Messages) != 1 || p2.Messages[0].ID != first {
		t.Errorf("second page: %+v", p2)
	}
	if l := list(w.ownerB, ""); len(l.Messages) != 1 || l.Messages[0].ID != idB || l.Open != 1 {
		t.Errorf("tenant B sees %+v", l)
	}
	if n := me(w.agent); n != 2 {
		t.Errorf("/me offline_open %d, want 2", n)
	}

	// Mark handled (who and when), then open again.
	w.clock.Advance(time.Minute)
	h := decode[offlineItem](t, send(t, w.env.URL, "PUT", cr+"/offline/"+second+"/handled", []byte(`{"handled":true}`), w.agent.auth(), jsonCT), 200)
	if h.HandledAt == nil || !h.HandledAt.Equal(w.clock.Now()) || h.HandledBy != w.agent.userID || h.HandledByName != w.agentUser.Name {
		t.Errorf("handled: %+v", h)
	}
	if l := list(w.agent, "state=open"); len(l.Messages) != 1 || l.Messages[0].ID != first || l.Open != 1 {
		t.Errorf("open list: %+v", l)
	}
	if l := list(w.agent, "state=handled"); len(l.Messages) != 1 || l.Messages[0].ID != second {
		t.Errorf("handled list: %+v", l)
	}
	u := decode[offlineItem](t, send(t, w.env.URL, "PUT", cr+"/offline/"+second+"/handled", []byte(`{"handled":false}`), w.owner.auth(), jsonCT), 200)
	if u.HandledAt != nil || u.HandledBy != "" {
		t.Errorf("reopened: %+v", u)
	}

	// Reply by email: mail queued to the shopper, reply stored, handled.
	mails := count(t, w.env, `SELECT COUNT(*) FROM mail_outbox`)
	w.clock.Advance(time.Minute)
	rep := decode[offlineItem](t, send(t, w.env.URL, "POST", cr+"/offline/"+first+"/reply",
		[]byte(`{"text":"Hei! Koko 44 tulee ensi viikolla."}`), w.agent.auth(), jsonCT), 200)
	if rep.Reply != "Hei! Koko 44 tulee ensi viikolla." || rep.RepliedAt == nil || rep.HandledAt == nil || rep.HandledBy != w.agent.userID {
		t.Errorf("reply: %+v", rep)
	}
	var to, replyTo, subject, body, kind, tenantID string
	if err := w.env.DB.Read().QueryRowContext(ctxT(t), `SELECT to_addr, reply_to, subject, text_body, kind, tenant_id FROM mail_outbox
		WHERE kind = 'offline_reply'`).Scan(&to, &replyTo, &subject, &body, &kind, &tenantID); err != nil {
		t.Fatal(err)
	}
	if to != "olli@example.com" || replyTo != w.agentUser.Email || tenantID != w.env.Tenant.ID ||
		!strings.Contains(subject, w.env.Site.Name) || !strings.Contains(body, "Koko 44 tulee") || !strings.Contains(body, "> Koko 44?\n> Kiitos") {
		t.Errorf("reply mail to %q reply-to %q subject %q body %q", to, replyTo, subject, body)
	}
	if n := count(t, w.env, `SELECT COUNT(*) FROM mail_outbox`); n != mails+1 {
		t.Errorf("%d mails queued by one reply", n-mails)
	}
	if n := me(w.agent); n != 1 {
		t.Errorf("/me offline_open %d after reply, want 1", n)
	}

	// A second reply is refused and writes nothing.
	before := snapshot(t, w.env)
	checkError(t, send(t, w.env.URL, "POST", cr+"/offline/"+first+"/reply", []byte(`{"text":"Toinen"}`), w.owner.auth(), jsonCT), 409, "conflict")
	sameSnapshot(t, before, snapshot(t, w.env))

	// The other tenant's view is untouched.
	if l := list(w.ownerB, "state=open"); len(l.Messages) != 1 || l.Messages[0].HandledAt != nil {
		t.Errorf("tenant B after A's work: %+v", l)
	}
	var raw json.RawMessage = send(t, w.env.URL, "GET", cr+"/offline", nil, w.ownerB.auth()).body
	if strings.Contains(string(raw), "olli@") || strings.Contains(string(raw), "Outi") {
		t.Errorf("tenant B sees tenant A: %s", raw)
	}
}

// TestOfflineAnnounced: a new offline message updates the open count on
// the consoles of its tenant, and only there.
func TestOfflineAnnounced(t *testing.T) {
	w := newWorld(t)
	listen := func(email string) *frameLog {
		a := agentLogin(t, w.env, email)
		fl := &frameLog{}
		s := a.Connect(client.StreamOptions{OnFrame: fl.add, BackoffBase: 10 * time.Millisecond})
		t.Cleanup(s.Close)
		if err := s.WaitFor(ctxT(t), s.Connected); err != nil {
			t.Fatal(err)
		}
		return fl
	}
	fa, fb := listen(w.agentUser.Email), listen("owner@b.example")
	heard := func(fl *frameLog, open int) bool {
		_, ok := fl.find(func(f client.Frame) bool {
			var o struct{ Open int }
			return f.T == "offline" && json.Unmarshal(f.Offline, &o) == nil && o.Open == open
		})
		return ok
	}
	leaveOffline(t, w, w.wA, testsrv.ShopOrigin, w.visA3.Token, `{"name":"Olli","email":"olli@example.com","message":"Hei"}`)
	waitFor(t, "tenant A's console hearing 1 open", func() bool { return heard(fa, 1) })
	leaveOffline(t, w, w.wA2, originA2, w.visOth.Token, `{"name":"Outi","email":"outi@example.com","message":"Hei"}`)
	waitFor(t, "tenant A's console hearing 2 open", func() bool { return heard(fa, 2) })
	leaveOffline(t, w, w.wB, originB, w.visB.Token, `{"name":"Berit","email":"berit@example.se","message":"Hej"}`)
	waitFor(t, "tenant B's console hearing 1 open", func() bool { return heard(fb, 1) })
	var got []string
	fb.each(func(f client.Frame) {
		if f.T == "offline" {
			got = append(got, string(f.Offline))
		}
	})
	if len(got) != 1 {
		t.Errorf("tenant B heard offline counts %q, want only its own", got)
	}
}

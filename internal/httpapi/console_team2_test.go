package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/testsrv"
	"tiski/internal/user"
)

type historyPage struct {
	Conversations []struct {
		ID           string `json:"id"`
		VisitorName  string `json:"visitor_name"`
		AssigneeName string `json:"assignee_name"`
		Tags         []struct {
			Name string `json:"name"`
		} `json:"tags"`
	} `json:"conversations"`
	NextCursor string `json:"next_cursor"`
}

func (p historyPage) ids() []string {
	var out []string
	for _, c := range p.Conversations {
		out = append(out, c.ID)
	}
	return out
}

// History finds closed conversations by text (any case, any letter),
// visitor, email, tag, department, agent and date, page by page, and
// never another tenant's.
func TestHistorySearch(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ctx := ctxT(t)
	dep, err := env.Tenants.CreateDepartment(ctx, env.Tenant.ID, "Palautukset")
	if err != nil {
		t.Fatal(err)
	}
	aino, eero := agentLogin(t, env, env.Agents[0].Email), agentLogin(t, env, env.Agents[1].Email)
	var vip struct {
		ID string `json:"id"`
	}
	do(t, aino, "POST", "/tags", map[string]any{"name": "VIP", "color": "#B91C1C"}, &vip)

	closeChat := func(a *client.Agent, name, email, body, note string, tag bool, toDep bool) string {
		t.Helper()
		_, conv := newVisitorChat(t, env, name, email, body)
		if toDep {
			do(t, a, "POST", "/conversations/"+conv+"/transfer", map[string]any{"department_id": dep.ID}, nil)
		}
		if _, err := a.Take(ctx, conv); err != nil {
			t.Fatal(err)
		}
		if note != "" {
			do(t, a, "POST", "/conversations/"+conv+"/notes", map[string]any{"id": "n", "body": note}, nil)
		}
		if tag {
			do(t, a, "PUT", "/conversations/"+conv+"/tags/"+vip.ID, nil, nil)
		}
		if _, err := a.Close(ctx, conv); err != nil {
			t.Fatal(err)
		}
		fc.Advance(5 * time.Hour)
		return conv
	}
	c1 := closeChat(aino, "Äiti Östman", "aiti@example.fi", "ÄITIENPÄIVÄN lahjakortti ei toimi", "", true, false)         // 09:00
	c2 := closeChat(eero, "Bror Berg", "bror@example.se", "Var är mitt paket?", "asiakas halusi hyvityksen", false, true) // 14:00
	c3 := closeChat(aino, "Cecilia", "cecilia@example.fi", "Koko 100% väärä_koko", "", false, false)                      // 19:00
	_, open := newVisitorChat(t, env, "Avoin", "", "lahjakortti auki")                                                    // not closed
	_ = open

	// Tenant B has a closed chat with the same words.
	tB, err := env.Tenants.Create(ctx, "Toinen Oy")
	if err != nil {
		t.Fatal(err)
	}
	sB, err := env.Sites.Create(ctx, tB.ID, site.New{Name: "B", Origins: []string{originB}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Users.Create(ctx, tB.ID, user.New{Email: "b@b.example", Name: "B", Role: user.Owner, Password: testsrv.Password}); err != nil {
		t.Fatal(err)
	}
	vB, err := client.New(env.URL, originB).NewVisitor(ctx, sB.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	convB := sendText(t, vB, "", "b1", "äitienpäivän lahjakortti").Conv
	bOwner := agentLogin(t, env, "b@b.example")
	if _, err := bOwner.Close(ctx, convB); err != nil {
		t.Fatal(err)
	}

	search := func(a *client.Agent, q url.Values) historyPage {
		t.Helper()
		var p historyPage
		do(t, a, "GET", "/history?"+q.Encode(), nil, &p)
		return p
	}
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	same("everything, newest closed first", search(eero, url.Values{}).ids(), c3, c2, c1)
	same("text in another case, with ä", search(eero, url.Values{"q": {"äitienpäivän LAHJA"}}).ids(), c1)
	same("text in a note", search(eero, url.Values{"q": {"HALUSI HYVITYKS"}}).ids(), c2)
	same("LIKE wildcards match literally", search(eero, url.Values{"q": {"100%"}}).ids(), c3)
	same("underscore literally", search(eero, url.Values{"q": {"ä_k"}}).ids(), c3)
	same("no such text", search(eero, url.Values{"q": {"%%"}}).ids())
	same("visitor name", search(eero, url.Values{"visitor": {"bror"}}).ids(), c2)
	same("email", search(eero, url.Values{"email": {"EXAMPLE.FI"}}).ids(), c3, c1)
	same("tag", search(eero, url.Values{"tag": {vip.ID}}).ids(), c1)
	same("department", search(eero, url.Values{"department": {dep.ID}}).ids(), c2)
	same("agent", search(eero, url.Values{"agent": {env.Agents[0].ID}}).ids(), c3, c1)
	same("date range", search(eero, url.Values{"from": {"2026-11-20T12:00:00Z"}, "to": {"2026-11-20T15:00:00Z"}}).ids(), c2)
	same("whole days", search(eero, url.Values{"from": {"2026-11-20"}, "to": {"2026-11-21"}}).ids(), c3, c2, c1)
	same("a day without chats", search(eero, url.Values{"from": {"2026-11-21"}}).ids())
	same("combined", search(eero, url.Values{"agent": {env.Agents[0].ID}, "q": {"koko"}}).ids(), c3)
	same("other tenant sees only its own", search(bOwner, url.Values{"q": {"lahjakortti"}}).ids(), convB)
	p := search(eero, url.Values{"tag": {vip.ID}})
	if len(p.Conversations) != 1 || len(p.Conversations[0].Tags) != 1 || p.Conversations[0].Tags[0].Name != "VIP" ||
		p.Conversations[0].AssigneeName != "Aino" || p.Conversations[0].VisitorName != "Äiti Östman" {
		t.Errorf("history item %+v", p.Conversations)
	}

	// Paging: one at a time, every conversation exactly once, in order.
	var paged []string
	cursor := ""
	for range 10 {
		q := url.Values{"limit": {"1"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		p := search(eero, q)
		paged = append(paged, p.ids()...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	same("paged", paged, c3, c2, c1)
}

// An agent goes away when no console of theirs is open for the grace
// period, or when idle; supervisors hear of it live; load is counted.
func TestPresenceAwayAndLoad(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ctx := ctxT(t)
	boss := agentLogin(t, env, env.Owner.Email)
	bf := &frameLog{}
	bs := boss.Connect(client.StreamOptions{OnFrame: bf.add, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(bs.Close)
	if err := bs.WaitFor(ctx, bs.Connected); err != nil {
		t.Fatal(err)
	}
	aino := agentLogin(t, env, env.Agents[0].Email)
	id := env.Agents[0].ID
	type state struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Load      int    `json:"load"`
		MaxChats  int    `json:"max_chats"`
		Connected bool   `json:"connected"`
	}
	heard := func(want func(state) bool) state {
		t.Helper()
		var got state
		waitFor(t, "an agent frame", func() bool {
			_, ok := bf.find(func(f client.Frame) bool {
				if f.T != "agent" {
					return false
				}
				var s state
				_ = json.Unmarshal(f.A, &s)
				if s.ID == id && want(s) {
					got = s
					return true
				}
				return false
			})
			return ok
		})
		return got
	}
	if err := aino.SetStatus(ctx, "online"); err != nil {
		t.Fatal(err)
	}
	heard(func(s state) bool { return s.Status == "online" })

	// No console open: away after the grace period, not before.
	fc.Advance(59 * time.Second)
	if n, err := env.Presence.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("swept %d before the grace period ended: %v", n, err)
	}
	fc.Advance(2 * time.Second)
	if n, err := env.Presence.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("swept %d after the grace period: %v", n, err)
	}
	heard(func(s state) bool { return s.Status == "away" })

	// With a console open, heartbeats keep the agent online…
	as := aino.Connect(client.StreamOptions{BackoffBase: 10 * time.Millisecond})
	t.Cleanup(as.Close)
	if err := as.WaitFor(ctx, as.Connected); err != nil {
		t.Fatal(err)
	}
	if err := aino.SetStatus(ctx, "online"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		fc.Advance(50 * time.Second)
		if err := env.Presence.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := env.Presence.Sweep(ctx); n != 0 {
			t.Fatal("an agent with a console open went away")
		}
		do(t, aino, "POST", "/me/activity", nil, nil)
	}
	// …until they idle past the idle timeout.
	for range 20 {
		fc.Advance(50 * time.Second)
		if err := env.Presence.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Presence.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var me struct {
		User struct {
			Status string `json:"status"`
		} `json:"user"`
		Load struct {
			Active int `json:"active"`
			Max    int `json:"max"`
		} `json:"load"`
	}
	do(t, aino, "GET", "/me", nil, &me)
	if me.User.Status != "away" {
		t.Fatalf("after 16 idle minutes the agent is %q", me.User.Status)
	}

	// Load: taking a chat moves it, and the board and /me agree.
	if err := aino.SetStatus(ctx, "online"); err != nil {
		t.Fatal(err)
	}
	_, conv := newVisitorChat(t, env, "", "", "Hei")
	if _, err := aino.Take(ctx, conv); err != nil {
		t.Fatal(err)
	}
	heard(func(s state) bool { return s.Load == 1 && s.Status == "online" && s.Connected })
	do(t, aino, "GET", "/me", nil, &me)
	if me.Load.Active != 1 || me.Load.Max != 50 {
		t.Fatalf("me load %+v", me.Load)
	}
	var board struct {
		Agents []state `json:"agents"`
		Queue  []struct {
			ID string `json:"id"`
		} `json:"queue"`
	}
	do(t, boss, "GET", "/board", nil, &board)
	found := false
	for _, a := range board.Agents {
		if a.ID == id {
			found = a.Load == 1 && a.Status == "online" && a.MaxChats == 50 && a.Connected
		}
	}
	if !found || len(board.Queue) != 0 {
		t.Fatalf("board %+v", board)
	}
	// Closing the last console: away after the grace period.
	as.Close()
	fc.Advance(61 * time.Second)
	if n, _ := env.Presence.Sweep(ctx); n != 1 {
		t.Fatalf("closing every console did not make the agent away")
	}
}

// The per-site typing-preview switch applies at once, to connections
// already open, and the draft never reaches other visitors.
func TestTypingPreviewSwitchIsLive(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	v, conv := newVisitorChat(t, env, "", "", "Hei")
	aino := agentLogin(t, env, env.Agents[0].Email)
	af := &frameLog{}
	as := aino.Connect(client.StreamOptions{OnFrame: af.add, Follow: []string{conv}, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(as.Close)
	if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) > 0 }); err != nil {
		t.Fatal(err)
	}
	typing := func(text string) {
		t.Helper()
		var replies []client.Frame
		if err := v.Do(ctx, "POST", "/rt/frames", map[string]any{"t": "typing", "conv": conv, "on": true, "text": text}, &replies); err != nil {
			t.Fatal(err)
		}
	}
	typing("luonnos yksi")
	waitFor(t, "the draft", func() bool {
		_, ok := af.find(func(f client.Frame) bool { return f.T == "typing" && f.Text == "luonnos yksi" })
		return ok
	})
	admin := agentLogin(t, env, env.Owner.Email)
	settings := site.DefaultSettings()
	settings.TypingPreview = false
	do(t, admin, "PATCH", "/sites/"+env.Site.ID, map[string]any{"settings": settings}, nil)
	typing("luonnos kaksi")
	waitFor(t, "typing without the draft", func() bool {
		n := 0
		af.each(func(f client.Frame) {
			if f.T == "typing" && f.On {
				n++
			}
		})
		return n == 2
	})
	if _, leaked := af.find(func(f client.Frame) bool { return strings.Contains(f.Text, "kaksi") }); leaked {
		t.Fatal("the draft was relayed after the site turned the preview off")
	}
}

// Canned responses: per tenant and department, placeholders filled for the
// chat at hand; tags show on the conversation and reach its followers.
func TestCannedResponsesAndTags(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	admin := agentLogin(t, env, env.Owner.Email)
	aino := agentLogin(t, env, env.Agents[0].Email)
	var dep tenant.Department
	do(t, admin, "POST", "/departments", map[string]any{"name": "Myynti"}, &dep)
	do(t, admin, "POST", "/canned", map[string]any{"shortcut": "/Hei", "title": "Tervehdys", "body": "Hei {{visitor.name}}, olen {{ agent.name }} ({{site.name}})."}, nil)
	do(t, admin, "POST", "/canned", map[string]any{"shortcut": "tarjous", "title": "Tarjous", "body": "Myynnin tarjous", "department_id": dep.ID}, nil)
	// The same shortcut may exist once per department.
	do(t, admin, "POST", "/canned", map[string]any{"shortcut": "hei", "title": "Myynnin tervehdys", "body": "Hei myynnistä", "department_id": dep.ID}, nil)

	_, conv := newVisitorChat(t, env, "Maija <b>M</b>", "", "Hei")
	type cannedList struct {
		Canned []struct {
			Shortcut string `json:"shortcut"`
			Text     string `json:"text"`
		} `json:"canned"`
	}
	var got cannedList
	do(t, aino, "GET", "/conversations/"+conv+"/canned", nil, &got)
	if len(got.Canned) != 1 || got.Canned[0].Shortcut != "hei" || got.Canned[0].Text != "Hei Maija <b>M</b>, olen Aino (Kauppa)." {
		t.Fatalf("canned for an agent outside the department: %+v", got)
	}
	_, anon := newVisitorChat(t, env, "", "", "Hei")
	do(t, aino, "GET", "/conversations/"+anon+"/canned", nil, &got)
	if got.Canned[0].Text != "Hei, olen Aino (Kauppa)." {
		t.Fatalf("an unknown name leaves %q", got.Canned[0].Text)
	}
	dep2 := []string{dep.ID}
	if _, err := env.Users.Update(ctx, env.Tenant.ID, env.Agents[0].ID, user.Update{Departments: &dep2}); err != nil {
		t.Fatal(err)
	}
	aino = agentLogin(t, env, env.Agents[0].Email)
	do(t, aino, "GET", "/conversations/"+conv+"/canned", nil, &got)
	if len(got.Canned) != 3 {
		t.Fatalf("a sales agent sees %d responses, want 3: %+v", len(got.Canned), got)
	}
	// Agents may not edit them; another tenant does not see them.
	err := aino.Do(ctx, "POST", "/canned", map[string]any{"shortcut": "x", "title": "x", "body": "x"}, nil)
	apiErr(t, err, 403)

	// Tags.
	if _, err := aino.Take(ctx, conv); err != nil {
		t.Fatal(err)
	}
	af := &frameLog{}
	as := aino.Connect(client.StreamOptions{OnFrame: af.add, Follow: []string{conv}, BackoffBase: 10 * time.Millisecond})
	t.Cleanup(as.Close)
	if err := as.WaitFor(ctx, func() bool { return len(as.Messages(conv)) > 0 }); err != nil {
		t.Fatal(err)
	}
	var tg struct {
		ID string `json:"id"`
	}
	do(t, aino, "POST", "/tags", map[string]any{"name": "Toimitus"}, &tg)
	do(t, aino, "PUT", "/conversations/"+conv+"/tags/"+tg.ID, nil, nil)
	do(t, aino, "PUT", "/conversations/"+conv+"/tags/"+tg.ID, nil, nil) // twice is fine
	waitFor(t, "a tags frame", func() bool {
		_, ok := af.find(func(f client.Frame) bool {
			return f.T == "tags" && f.Conv == conv && strings.Contains(string(f.Tags), "Toimitus")
		})
		return ok
	})
	var one struct {
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	}
	do(t, aino, "GET", "/conversations/"+conv, nil, &one)
	if len(one.Tags) != 1 || one.Tags[0].Name != "Toimitus" {
		t.Fatalf("conversation tags %+v", one.Tags)
	}
	// Another agent may not tag a chat that is not theirs.
	eero := agentLogin(t, env, env.Agents[1].Email)
	apiErr(t, eero.Do(ctx, "DELETE", "/conversations/"+conv+"/tags/"+tg.ID, nil, nil), 403)
	do(t, aino, "DELETE", "/conversations/"+conv+"/tags/"+tg.ID, nil, &one)
	if len(one.Tags) != 0 {
		t.Fatalf("tags after removal %+v", one.Tags)
	}
}

// An invitation mails a one-time link; the link sets the password and
// signs in, once.
func TestInvitation(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	admin := agentLogin(t, env, env.Owner.Email)
	var dep tenant.Department
	do(t, admin, "POST", "/departments", map[string]any{"name": "Tuki"}, &dep)
	var inv struct {
		User struct {
			ID          string   `json:"id"`
			Role        string   `json:"role"`
			MaxChats    int      `json:"max_chats"`
			Departments []string `json:"departments"`
		} `json:"user"`
	}
	do(t, admin, "POST", "/users/invite", map[string]any{"email": "Uusi@Kauppa.example", "name": "Uuno", "role": "supervisor",
		"max_chats": 4, "departments": []string{dep.ID}}, &inv)
	if inv.User.Role != "supervisor" || inv.User.MaxChats != 4 || len(inv.User.Departments) != 1 {
		t.Fatalf("invited %+v", inv.User)
	}
	// No password works before the link is used.
	if _, err := client.New(env.URL, testsrv.ShopOrigin).Login(ctx, "uusi@kauppa.example", "invited"); err == nil {
		t.Fatal("an invited account signed in without a password")
	}
	w := &world{env: env}
	token := inviteToken(t, w, "uusi@kauppa.example")
	var info struct {
		Email  string `json:"email"`
		Tenant string `json:"tenant"`
	}
	r := send(t, env.URL, "GET", consoleAPI+"/invites/"+token, nil)
	info = decode[struct {
		Email  string `json:"email"`
		Tenant string `json:"tenant"`
	}](t, r, 200)
	if info.Email != "uusi@kauppa.example" || info.Tenant != "Kauppa Oy" {
		t.Fatalf("invite info %+v", info)
	}
	body := []byte(`{"password":"uusi pitkä salasana"}`)
	r = send(t, env.URL, "POST", consoleAPI+"/invites/"+token+"/accept", body, jsonCT)
	me := decode[struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		CSRFToken string `json:"csrf_token"`
	}](t, r, 200)
	if me.User.ID != inv.User.ID || me.CSRFToken == "" || r.header.Get("Set-Cookie") == "" {
		t.Fatalf("accept gave %s", r.body)
	}
	checkError(t, send(t, env.URL, "POST", consoleAPI+"/invites/"+token+"/accept", body, jsonCT), 404, "not_found")
	if _, err := client.New(env.URL, testsrv.ShopOrigin).Login(ctx, "uusi@kauppa.example", "uusi pitkä salasana"); err != nil {
		t.Fatalf("sign in with the chosen password: %v", err)
	}
}

// A supervisor joins beside the agent, or takes over; the visitor sees it.
func TestJoinAndTakeOver(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := ctxT(t)
	v, conv := newVisitorChat(t, env, "", "", "Hei")
	aino, boss := agentLogin(t, env, env.Agents[0].Email), agentLogin(t, env, env.Owner.Email)
	if _, err := aino.Take(ctx, conv); err != nil {
		t.Fatal(err)
	}
	apiErr(t, aino.Do(ctx, "POST", "/conversations/"+conv+"/join", map[string]any{"mode": "join"}, nil), 403)
	var c client.Conversation
	do(t, boss, "POST", "/conversations/"+conv+"/join", map[string]any{"mode": "join"}, &c)
	do(t, boss, "POST", "/conversations/"+conv+"/join", map[string]any{"mode": "join"}, &c) // once is enough
	if c.AssigneeID != env.Agents[0].ID {
		t.Fatalf("joining changed the assignee: %+v", c)
	}
	var one struct {
		Participants []struct {
			ID string `json:"id"`
		} `json:"participants"`
	}
	do(t, aino, "GET", "/conversations/"+conv, nil, &one)
	if len(one.Participants) != 1 || one.Participants[0].ID != env.Owner.ID {
		t.Fatalf("participants %+v", one.Participants)
	}
	do(t, boss, "POST", "/conversations/"+conv+"/join", map[string]any{"mode": "takeover"}, &c)
	if c.AssigneeID != env.Owner.ID {
		t.Fatalf("take-over left the assignee %q", c.AssigneeID)
	}
	vms, err := v.Messages(ctx, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	events := []string{}
	for _, m := range vms {
		if m.Kind == "event" {
			events = append(events, m.Event)
		}
	}
	if strings.Join(events, ",") != "joined,joined,transferred" {
		t.Fatalf("visitor saw events %v", events)
	}
}

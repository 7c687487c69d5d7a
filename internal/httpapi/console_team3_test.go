package httpapi_test

import (
	"strings"
	"testing"

	"tiski/internal/canned"
	"tiski/internal/site"
	"tiski/internal/testsrv"
)

// The console's own lists show only the caller's tenant.
func TestTeamListsStayInTheTenant(t *testing.T) {
	w := newWorld(t)
	ctx := ctxT(t)
	env := w.env
	if _, err := env.Tags.Create(ctx, env.Tenant.ID, "A-tagi-salainen", ""); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	if _, err := env.Canned.Create(ctx, env.Tenant.ID, canned.Input{Shortcut: s("a"), Title: s("A-vastaus-salainen"), Body: s("x")}); err != nil {
		t.Fatal(err)
	}
	// Tenant A has a queued chat (convA, with secretA) and a visitor name.
	for _, p := range []string{"/tags", "/canned", "/board", "/inbox/queue", "/inbox/open", "/inbox/mine", "/history?q=paketti",
		"/history", "/departments"} {
		r := send(t, env.URL, "GET", consoleAPI+p, nil, w.ownerB.auth())
		if r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		for _, leak := range []string{"A-tagi-salainen", "A-vastaus-salainen", secretA, nameA, w.convA, env.Agents[0].Name, "Tuki"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("tenant B's %s shows %q: %s", p, leak, r.body)
			}
		}
	}
	// …while tenant A sees its own.
	r := send(t, env.URL, "GET", consoleAPI+"/inbox/queue", nil, w.owner.auth())
	if !strings.Contains(string(r.body), w.convA) || !strings.Contains(string(r.body), nameA) {
		t.Fatalf("tenant A's queue misses its chat: %s", r.body)
	}
}

// The visitor panel: who the shopper is, their site's local time and their
// earlier conversations.
func TestVisitorPanel(t *testing.T) {
	env := startEnv(t)
	ctx := ctxT(t)
	v, first := newVisitorChat(t, env, "Pekka Panel", "pekka@example.fi", "Ensimmäinen")
	if err := v.Close(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := sendText(t, v, "", "second", "Toinen kerta").Conv
	if second == first {
		t.Fatal("no new conversation")
	}
	aino := agentLogin(t, env, env.Agents[0].Email)
	var p struct {
		Visitor struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"visitor"`
		Site struct {
			Name string `json:"name"`
		} `json:"site"`
		Pages     []any  `json:"pages"`
		Timezone  string `json:"timezone"`
		LocalTime string `json:"local_time"`
		Earlier   []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Preview string `json:"preview"`
		} `json:"earlier"`
	}
	do(t, aino, "GET", "/conversations/"+second+"/panel", nil, &p)
	if p.Visitor.Name != "Pekka Panel" || p.Visitor.Email != "pekka@example.fi" || p.Site.Name != "Kauppa" || p.Pages == nil ||
		p.Timezone != "Europe/Helsinki" || !strings.HasSuffix(p.LocalTime, ":00") {
		t.Fatalf("panel %+v", p)
	}
	if len(p.Earlier) != 1 || p.Earlier[0].ID != first || p.Earlier[0].Status != "closed" || p.Earlier[0].Preview != "Ensimmäinen" {
		t.Fatalf("earlier conversations %+v", p.Earlier)
	}
}

// Site settings apply at once and sites carry their embed snippet; a
// department can be renamed and removed, its chats keep going.
func TestSiteAdminAndDepartments(t *testing.T) {
	env := startEnv(t)
	ctx := ctxT(t)
	admin := agentLogin(t, env, env.Owner.Email)
	settings := site.DefaultSettings()
	settings.Greeting["fi"] = "Moikka!"
	settings.Prechat = site.Prechat{Enabled: true, Fields: []site.PrechatField{{Name: "email", Required: true}, {Name: "message"}}}
	var st struct {
		WidgetKey    string        `json:"widget_key"`
		Settings     site.Settings `json:"settings"`
		EmbedSnippet string        `json:"embed_snippet"`
	}
	do(t, admin, "PATCH", "/sites/"+env.Site.ID, map[string]any{"settings": settings}, &st)
	if !st.Settings.Prechat.Enabled || len(st.Settings.Prechat.Fields) != 2 || st.Settings.Greeting["fi"] != "Moikka!" {
		t.Fatalf("settings %+v", st.Settings)
	}
	if want := `<script src="` + env.URL + `/widget.js" data-site="` + env.Site.WidgetKey + `" async></script>`; st.EmbedSnippet != want {
		t.Fatalf("snippet %q, want %q", st.EmbedSnippet, want)
	}
	got, err := env.Sites.Get(ctx, env.Tenant.ID, env.Site.ID)
	if err != nil || got.Settings.Greeting["fi"] != "Moikka!" || !got.Settings.Prechat.Enabled {
		t.Fatalf("stored settings %+v %v", got.Settings, err)
	}
	bad := settings
	bad.Prechat = site.Prechat{Enabled: true, Fields: []site.PrechatField{}}
	apiErr(t, admin.Do(ctx, "PATCH", "/sites/"+env.Site.ID, map[string]any{"settings": bad}, nil), 400)

	var dep struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	do(t, admin, "POST", "/departments", map[string]any{"name": "Tuki"}, &dep)
	do(t, admin, "PATCH", "/departments/"+dep.ID, map[string]any{"name": "Asiakastuki"}, &dep)
	if dep.Name != "Asiakastuki" {
		t.Fatalf("renamed to %q", dep.Name)
	}
	_, conv := newVisitorChat(t, env, "", "", "Hei")
	do(t, admin, "POST", "/conversations/"+conv+"/transfer", map[string]any{"department_id": dep.ID}, nil)
	do(t, admin, "DELETE", "/departments/"+dep.ID, nil, nil)
	if n := count(t, env, `SELECT COUNT(*) FROM conversations WHERE id = $1 AND department_id IS NULL AND status = 'queued'`, conv); n != 1 {
		t.Fatal("the department's chat did not stay in the queue without a department")
	}
}

func startEnv(t *testing.T) *testsrv.Env { return testsrv.Start(t, testsrv.Options{}) }

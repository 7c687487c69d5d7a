package httpapi_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/testsrv"
	"tiski/internal/user"
)

// Origins of the test world besides testsrv.ShopOrigin.
const (
	originB    = "https://kauppa-b.example"
	originA2   = "https://outlet.example"
	evilOrigin = "https://evil.example"
)

// Texts that must never cross a tenant or visitor boundary.
const (
	secretA = "Paketti 4711 ei ole tullut perille"
	nameA   = "Aapo Asiakas"
	secretB = "B-kaupan luottamuksellinen viesti"
	nameB   = "Bertta Bengtsson"
)

// uploadLimit is the world's largest accepted file, small so that
// oversize uploads are cheap to make.
const uploadLimit = 4096

// world is a node with two tenants. Tenant A is testsrv's seed with a
// second site and an admin; tenant B has its own site, users, department,
// visitor and conversation. Time stands still (a fake clock), so nothing
// changes in the database unless a request changes it.
type world struct {
	env   *testsrv.Env
	clock *clock.Fake
	// Widget API bases: site A, site A2 (tenant A), site B.
	wA, wA2, wB string

	owner, agent, admin *session // tenant A
	agentUser           user.User
	ownerB              *session
	agentBUser          user.User

	visA   *client.Visitor // has convA with secretA
	visA2  *client.Visitor // same site; has convA2, started and empty
	visA3  *client.Visitor // same site; no conversation
	visOth *client.Visitor // on site A2
	visB   *client.Visitor // tenant B; has convB with secretB and a file

	convA, convA2, convB string
	siteA2, siteB        site.Site
	deptA, deptB         tenant.Department
	fileB                string // signed URL path of the PNG in convB
}

var worldStart = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc, Config: func(c *config.Config) { c.MaxUploadBytes = uploadLimit }})
	ctx := ctxT(t)
	w := &world{env: env, clock: fc, wA: "/api/widget/v1/sites/" + env.Site.WidgetKey, agentUser: env.Agents[0]}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error

	// Tenant A: a second site, an admin, a department.
	w.siteA2, err = env.Sites.Create(ctx, env.Tenant.ID, site.New{Name: "Outlet", Origins: []string{originA2}})
	must(err)
	w.wA2 = "/api/widget/v1/sites/" + w.siteA2.WidgetKey
	_, err = env.Users.Create(ctx, env.Tenant.ID, user.New{Email: "admin@kauppa.example", Name: "Ylläpitäjä", Role: user.Admin,
		Password: testsrv.Password})
	must(err)
	w.deptA, err = env.Tenants.CreateDepartment(ctx, env.Tenant.ID, "Tuki")
	must(err)

	// Tenant B.
	tB, err := env.Tenants.Create(ctx, "Toinen Oy")
	must(err)
	w.siteB, err = env.Sites.Create(ctx, tB.ID, site.New{Name: "B-kauppa", Language: "sv", Origins: []string{originB}})
	must(err)
	w.wB = "/api/widget/v1/sites/" + w.siteB.WidgetKey
	_, err = env.Users.Create(ctx, tB.ID, user.New{Email: "owner@b.example", Name: "B Owner", Role: user.Owner, Password: testsrv.Password})
	must(err)
	w.agentBUser, err = env.Users.Create(ctx, tB.ID, user.New{Email: "agent@b.example", Name: "B Agent", Role: user.Agent,
		Password: testsrv.Password})
	must(err)
	w.deptB, err = env.Tenants.CreateDepartment(ctx, tB.ID, "Myynti")
	must(err)

	// Visitors and conversations.
	cA := client.New(env.URL, testsrv.ShopOrigin)
	w.visA, err = cA.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	must(err)
	must(w.visA.Do(ctx, "PATCH", "/me", map[string]any{"name": nameA}, nil))
	w.convA = sendText(t, w.visA, "", "a-1", secretA).Conv
	w.visA2, err = cA.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	must(err)
	var started client.Conversation
	must(w.visA2.Do(ctx, "POST", "/conversations", nil, &started))
	w.convA2 = started.ID
	w.visA3, err = cA.NewVisitor(ctx, env.Site.WidgetKey, "en")
	must(err)
	w.visOth, err = client.New(env.URL, originA2).NewVisitor(ctx, w.siteA2.WidgetKey, "en")
	must(err)
	w.visB, err = client.New(env.URL, originB).NewVisitor(ctx, w.siteB.WidgetKey, "sv")
	must(err)
	must(w.visB.Do(ctx, "PATCH", "/me", map[string]any{"name": nameB}, nil))
	w.convB = sendText(t, w.visB, "", "b-1", secretB).Conv
	ack, err := w.visB.Upload(ctx, w.convB, "b-file", "kvitto.png", pngBytes(t))
	must(err)
	w.fileB = ack.M.File.URL

	w.owner = login(t, env, env.Owner.Email, testsrv.Password)
	w.agent = login(t, env, env.Agents[0].Email, testsrv.Password)
	w.admin = login(t, env, "admin@kauppa.example", testsrv.Password)
	w.ownerB = login(t, env, "owner@b.example", testsrv.Password)
	return w
}

// sendText sends a text message by the HTTP frames endpoint and returns
// its acknowledgement.
func sendText(t testing.TB, v *client.Visitor, conv, cmid, body string) client.Frame {
	t.Helper()
	var replies []client.Frame
	err := v.Do(ctxT(t), "POST", "/rt/frames", map[string]any{"t": "send", "id": cmid, "conv": conv, "body": body}, &replies)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].T != "ack" || replies[0].Conv == "" {
		t.Fatalf("send %q: replies %+v", cmid, replies)
	}
	return replies[0]
}

// registeredRoutes reads the route patterns that the route functions
// (routes, widgetRoutes, consoleRoutes… in any non-test file) register, so
// that a new route without bad-input cases fails the suite.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && (fd.Name.Name == "routes" || strings.HasSuffix(fd.Name.Name, "Routes")) {
					out = append(out, routesOf(t, fd)...)
				}
			}
		}
	}
	if len(out) < 40 {
		t.Fatalf("found only %d routes: %q", len(out), out)
	}
	return out
}

func routesOf(t *testing.T, routes *ast.FuncDecl) []string {
	vars := map[string]string{}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := vars[e.Name]
			return s, ok
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				x, ok1 := eval(e.X)
				y, ok2 := eval(e.Y)
				return x + y, ok1 && ok2
			}
		case *ast.ParenExpr:
			return eval(e.X)
		}
		return "", false
	}
	var out []string
	ast.Inspect(routes.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
				if id, ok := n.Lhs[0].(*ast.Ident); ok {
					if s, ok := eval(n.Rhs[0]); ok {
						vars[id.Name] = s
					}
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(n.Args) != 2 {
				return true
			}
			s, ok := eval(n.Args[0])
			if !ok {
				t.Fatalf("cannot read a route pattern in %s at offset %d", routes.Name.Name, n.Pos())
			}
			out = append(out, s)
		}
		return true
	})
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

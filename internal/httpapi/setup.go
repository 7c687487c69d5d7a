package httpapi

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"html/template"
	"net/http"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/validate"
)

// SetupInput creates the first organisation, its first shop and its owner.
type SetupInput struct {
	Token        string   `json:"token"`
	Organisation string   `json:"organisation"`
	SiteName     string   `json:"site_name"`
	SiteOrigins  []string `json:"site_origins"`
	Language     string   `json:"language"`
	Timezone     string   `json:"timezone"`
	Email        string   `json:"email"`
	Name         string   `json:"name"`
	Password     string   `json:"password"`
}

// SetupResult is what first-run set-up made.
type SetupResult struct {
	Tenant tenant.Tenant `json:"tenant"`
	Site   site.Site     `json:"site"`
	Owner  user.User     `json:"owner"`
}

// Bootstrap creates a tenant, a site and an owner in one transaction, only
// while the installation has no users at all. The CLI and the first-run
// page both use it.
func Bootstrap(ctx context.Context, d *db.DB, c clock.Clock, sites *site.Store, users *user.Store, in SetupInput) (SetupResult, error) {
	var res SetupResult
	t, err := tenantFrom(in.Organisation, c)
	if err != nil {
		return res, err
	}
	st, err := sites.Build(t.ID, site.New{Name: in.SiteName, Language: in.Language, Timezone: in.Timezone, Origins: in.SiteOrigins})
	if err != nil {
		return res, err
	}
	owner, err := users.Build(t.ID, user.New{Email: in.Email, Name: in.Name, Role: user.Owner, Password: in.Password})
	if err != nil {
		return res, err
	}
	err = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "Tiski is set up already; sign in instead")
		}
		if err := tenant.Insert(ctx, tx, t); err != nil {
			return err
		}
		if err := site.Insert(ctx, tx, st); err != nil {
			return err
		}
		return user.Insert(ctx, tx, owner)
	})
	return SetupResult{Tenant: t, Site: st, Owner: owner}, err
}

func tenantFrom(name string, c clock.Clock) (tenant.Tenant, error) {
	name, err := validate.Text("organisation", name, 200, true)
	return tenant.Tenant{ID: id.New(), Name: name, CreatedAt: c.Now()}, err
}

func (s *Server) setupNeeded(ctx context.Context) (bool, error) {
	n, err := s.Users.Count(ctx)
	return n == 0, err
}

func (s *Server) setupStatus(w http.ResponseWriter, r *http.Request) {
	needed, err := s.setupNeeded(r.Context())
	s.respond(w, r, err, 200, map[string]bool{"needed": needed})
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused"))
		return
	}
	var in SetupInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.SetupToken == "" || subtle.ConstantTimeCompare([]byte(in.Token), []byte(s.SetupToken)) != 1 {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "wrong set-up token; use the link Tiski printed when it started"))
		return
	}
	res, err := Bootstrap(r.Context(), s.DB, s.Clock, s.Sites, s.Users, in)
	s.respond(w, r, err, http.StatusCreated, res)
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tiski</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
h1{color:#0f766e}label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.45rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.55rem 1.2rem;font:inherit;background:#0f766e;color:#fff;border:0;border-radius:.3rem}
.go{display:inline-block;padding:.55rem 1.2rem;background:#0f766e;color:#fff;border-radius:.3rem;text-decoration:none}.err{color:#b91c1c}code{background:#f3f4f6;padding:.1rem .3rem}</style></head><body>
<h1>Tiski</h1>
{{if .Needed}}
<p>Welcome. Create your organisation, your first shop and your owner account.</p>
<form id="setup">
<input type="hidden" name="token" value="{{.Token}}">
<label for="organisation">Organisation</label><input id="organisation" name="organisation" required>
<label for="site_name">Shop name</label><input id="site_name" name="site_name" required>
<label for="site_origin">Shop address (origin), e.g. https://shop.example</label><input id="site_origin" name="site_origin" required>
<label for="name">Your name</label><input id="name" name="name" required>
<label for="email">Email</label><input id="email" name="email" type="email" required>
<label for="password">Password (at least 10 characters)</label><input id="password" name="password" type="password" minlength="10" required>
<button type="submit">Create</button>
<p class="err" id="err" role="alert"></p>
</form>
<script nonce="{{.Nonce}}">
document.getElementById('setup').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const body = {token: f.get('token'), organisation: f.get('organisation'), site_name: f.get('site_name'),
    site_origins: [f.get('site_origin')], name: f.get('name'), email: f.get('email'), password: f.get('password')};
  const r = await fetch('/api/setup', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  const j = await r.json();
  if (r.ok) { e.target.outerHTML = '<p>Done. <a href="/console">Sign in to the console</a> as <code></code>.</p>'; document.querySelector('code').textContent = j.owner.email; }
  else { document.getElementById('err').textContent = j.error.message; }
});
</script>
{{else}}
<p>Tiski is running. Agents, supervisors and admins work in the console:</p>
<p><a class="go" href="/console">Open the agent console</a></p>
<p>Shops embed the chat with the snippet shown in the console under Admin → Sites.</p>
<p>Health: <a href="/healthz">/healthz</a> · Readiness: <a href="/readyz">/readyz</a></p>
{{end}}
</body></html>`))

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	needed, err := s.setupNeeded(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	nonce := id.Secret("")[:22]
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+nonce+"'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	token := ""
	if needed {
		token = r.URL.Query().Get("token")
	}
	_ = homePage.Execute(w, map[string]any{"Needed": needed, "Token": token, "Nonce": nonce})
}

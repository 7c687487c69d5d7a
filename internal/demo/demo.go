// Package demo sets up the demo organisation, shop and agents of
// "tiski demo", and serves the demo shop page on its own origin.
package demo

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"tiski/internal/apperr"
	"tiski/internal/httpapi"
	"tiski/internal/server"
	"tiski/internal/site"
	"tiski/internal/user"
)

// Agent is a demo account.
type Agent struct {
	Name, Email, Password string
	Role                  user.Role
}

// Agents are the demo accounts. Their passwords are public: the demo is for
// trying Tiski on one's own machine, never for production.
var Agents = []Agent{
	{Name: "Aino", Email: "aino@demo.tiski.local", Password: "tiski-demo-aino", Role: user.Admin},
	{Name: "Eero", Email: "eero@demo.tiski.local", Password: "tiski-demo-eero", Role: user.Agent},
}

// OwnerEmail is the demo organisation's owner (password as printed).
const (
	OwnerEmail    = "owner@demo.tiski.local"
	OwnerPassword = "tiski-demo-owner"
)

// Seed creates the demo organisation on first run and makes sure the shop's
// current origin is allowed. It returns the demo site.
func Seed(ctx context.Context, srv *server.Server, shopOrigin string) (site.Site, error) {
	owner, err := srv.Users.ByEmail(ctx, OwnerEmail)
	if apperr.Is(err, apperr.NotFound) {
		n, cerr := srv.Users.Count(ctx)
		if cerr != nil {
			return site.Site{}, cerr
		}
		if n > 0 {
			return site.Site{}, errors.New("this data directory holds a real installation; run the demo with its own --data")
		}
		res, berr := httpapi.Bootstrap(ctx, srv.DB, srv.Clock, srv.Sites, srv.Users, httpapi.SetupInput{
			Organisation: "Demokauppa Oy", SiteName: "Demokauppa", SiteOrigins: []string{shopOrigin},
			Language: "fi", Timezone: "Europe/Helsinki", Email: OwnerEmail, Name: "Omistaja", Password: OwnerPassword})
		if berr != nil {
			return site.Site{}, berr
		}
		for _, a := range Agents {
			if _, err := srv.Users.Create(ctx, res.Tenant.ID, user.New{Email: a.Email, Name: a.Name, Role: a.Role,
				Password: a.Password, MaxChats: 3}); err != nil {
				return site.Site{}, err
			}
		}
		return res.Site, nil
	}
	if err != nil {
		return site.Site{}, err
	}
	sites, err := srv.Sites.List(ctx, owner.TenantID)
	if err != nil {
		return site.Site{}, err
	}
	if len(sites) == 0 {
		return site.Site{}, errors.New("the demo organisation has no site")
	}
	st := sites[0]
	for _, o := range st.Origins {
		if o == shopOrigin {
			return st, nil
		}
	}
	origins := append(st.Origins, shopOrigin)
	return srv.Sites.Update(ctx, owner.TenantID, st.ID, site.Update{Origins: &origins})
}

var shopPage = template.Must(template.New("shop").Parse(`<!doctype html>
<html lang="fi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demokauppa</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
header{border-bottom:1px solid #e5e7eb;margin-bottom:1rem}code{background:#f3f4f6;padding:.1rem .3rem}</style>
</head><body>
<header><h1>Demokauppa</h1><p>A demo shop on its own origin, with the Tiski chat snippet installed.</p></header>
<p>Widget key <code>{{.Key}}</code>. The snippet below loads the chat from <code>{{.Tiski}}</code>.</p>
<script src="{{.Tiski}}/widget.js" data-site="{{.Key}}" async></script>
</body></html>`))

// Shop serves the demo shop page, which embeds the widget of siteKey from
// the Tiski server at tiskiURL.
func Shop(tiskiURL, siteKey string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = shopPage.Execute(w, map[string]string{"Key": siteKey, "Tiski": tiskiURL})
	})
	return mux
}

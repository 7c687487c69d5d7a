// Package demo sets up the demo organisation, shop and agents of
// "tiski demo", and serves the demo shop page on its own origin.
package demo

import (
	"context"
	"errors"

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
			Organisation: "Demokauppa Oy", SiteName: "Metsä & Meri", SiteOrigins: []string{shopOrigin},
			Language: "fi", Timezone: "Europe/Helsinki", Email: OwnerEmail, Name: "Omistaja", Password: OwnerPassword})
		if berr != nil {
			return site.Site{}, berr
		}
		// A personal greeting that names whoever is online.
		settings := res.Site.Settings
		settings.Greeting = map[string]string{
			"fi": "Hei, olen {name} — mitä mielessäsi? Autan mielelläni tuotteissa, toimituksissa ja tilauksissa.",
			"sv": "Hej, jag heter {name} — vad funderar du på? Jag hjälper gärna med produkter, leveranser och beställningar.",
			"en": "Hi, I'm {name} — what's on your mind? Happy to help with products, delivery and orders.",
		}
		if res.Site, err = srv.Sites.Update(ctx, res.Tenant.ID, res.Site.ID, site.Update{Settings: &settings}); err != nil {
			return site.Site{}, err
		}
		for _, a := range Agents {
			u, err := srv.Users.Create(ctx, res.Tenant.ID, user.New{Email: a.Email, Name: a.Name, Role: a.Role,
				Password: a.Password, MaxChats: 3})
			if err != nil {
				return site.Site{}, err
			}
			if _, err := srv.Users.SetPhoto(ctx, res.Tenant.ID, u.ID, portrait(a.Name)); err != nil {
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

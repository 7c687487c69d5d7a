package site_test

import (
	"context"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db/dbtest"
	"tiski/internal/site"
	"tiski/internal/tenant"
)

func setup(t *testing.T) (*site.Store, tenant.Tenant, tenant.Tenant) {
	t.Helper()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	ts := tenant.NewStore(d, clk)
	a, _ := ts.Create(context.Background(), "Kauppa Oy")
	b, _ := ts.Create(context.Background(), "Muu Oy")
	return site.NewStore(d, clk), a, b
}

func TestCreateNormalisesOriginsAndKeepsSecrets(t *testing.T) {
	ctx := context.Background()
	s, a, b := setup(t)
	st, err := s.Create(ctx, a.ID, site.New{Name: "Kauppa", Language: "fi",
		Origins: []string{"https://Kauppa.Example:443", "https://kauppa.example", "http://localhost:8081"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Origins) != 2 || !st.AllowsOrigin("https://kauppa.example") || !st.AllowsOrigin("http://localhost:8081") {
		t.Fatalf("origins %v", st.Origins)
	}
	if st.AllowsOrigin("https://evil.example") || st.AllowsOrigin("") {
		t.Fatal("allows a foreign or missing origin")
	}
	if !st.AllowsOrigin("https://tiski.example", "https://tiski.example") {
		t.Fatal("Tiski's own origin (the widget frame) is refused")
	}
	got, err := s.ByWidgetKey(ctx, st.WidgetKey)
	if err != nil || got.ID != st.ID || got.IdentitySecret == "" {
		t.Fatalf("by key: %v %+v", err, got)
	}
	if _, err := s.Get(ctx, b.ID, st.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("site visible from another tenant: %v", err)
	}
	other, _ := s.Create(ctx, a.ID, site.New{Name: "Toinen"})
	if other.WidgetKey == st.WidgetKey || other.IdentitySecret == st.IdentitySecret {
		t.Fatal("keys repeat")
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s, a, _ := setup(t)
	for _, n := range []site.New{
		{Name: ""},
		{Name: "x", Language: "de"},
		{Name: "x", Timezone: "Mars/Olympus"},
		{Name: "x", Origins: []string{"javascript:alert(1)"}},
		{Name: "x", Origins: []string{"https://shop.example/path"}},
	} {
		if _, err := s.Create(ctx, a.ID, n); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%+v accepted: %v", n, err)
		}
	}
	if sites, _ := s.List(ctx, a.ID); len(sites) != 0 {
		t.Fatalf("%d sites stored by refused creates", len(sites))
	}
}

func TestUpdateIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, a, b := setup(t)
	st, _ := s.Create(ctx, a.ID, site.New{Name: "Kauppa", Origins: []string{"https://kauppa.example"}})
	name := "Uusi nimi"
	bad := []string{"https://ok.example", "ftp://nope.example"}
	if _, err := s.Update(ctx, a.ID, st.ID, site.Update{Name: &name, Origins: &bad}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad origin accepted: %v", err)
	}
	got, _ := s.Get(ctx, a.ID, st.ID)
	if got.Name != "Kauppa" || len(got.Origins) != 1 {
		t.Fatalf("a refused update changed the site: %+v", got)
	}
	settings := got.Settings
	settings.Color = "red"
	if _, err := s.Update(ctx, a.ID, st.ID, site.Update{Settings: &settings}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad colour accepted: %v", err)
	}
	settings = got.Settings
	settings.Greeting = map[string]string{"fi": "Täällä Jaakko, mitä mielessä?"}
	good := []string{"https://kauppa.example", "https://www.kauppa.example"}
	up, err := s.Update(ctx, a.ID, st.ID, site.Update{Name: &name, Origins: &good, Settings: &settings})
	if err != nil || up.Name != name || len(up.Origins) != 2 || up.Settings.Greeting["fi"] != "Täällä Jaakko, mitä mielessä?" {
		t.Fatalf("update: %v %+v", err, up)
	}
	if _, err := s.Update(ctx, b.ID, st.ID, site.Update{Name: &name}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("update from another tenant: %v", err)
	}
}

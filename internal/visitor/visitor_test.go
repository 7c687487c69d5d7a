package visitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db/dbtest"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/visitor"
)

func TestTokensAreCredentials(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	tn, _ := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	ss := site.NewStore(d, clk)
	a, _ := ss.Create(ctx, tn.ID, site.New{Name: "A"})
	b, _ := ss.Create(ctx, tn.ID, site.New{Name: "B"})
	s := visitor.NewStore(d, clk, 30*24*time.Hour)

	v, token, err := s.Create(ctx, tn.ID, a.ID, "sv")
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	d.Read().QueryRowContext(ctx, `SELECT token_hash FROM visitors WHERE id = $1`, v.ID).Scan(&stored)
	if stored == token || strings.Contains(stored, token) {
		t.Fatal("the token is stored in the clear")
	}
	if got, err := s.Authenticate(ctx, a.ID, token); err != nil || got.ID != v.ID || got.Language != "sv" {
		t.Fatalf("authenticate: %v %+v", err, got)
	}
	if _, err := s.Authenticate(ctx, b.ID, token); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("token of another site accepted: %v", err)
	}
	if _, err := s.Authenticate(ctx, a.ID, token+"x"); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("wrong token accepted: %v", err)
	}
	// Use slides the expiry; a month unused ends it.
	clk.Advance(20 * 24 * time.Hour)
	if _, err := s.Authenticate(ctx, a.ID, token); err != nil {
		t.Fatalf("token expired early: %v", err)
	}
	clk.Advance(20 * 24 * time.Hour)
	if _, err := s.Authenticate(ctx, a.ID, token); err != nil {
		t.Fatalf("sliding expiry did not slide: %v", err)
	}
	clk.Advance(31 * 24 * time.Hour)
	if _, err := s.Authenticate(ctx, a.ID, token); !apperr.Is(err, apperr.TokenExpired) {
		t.Fatalf("stale token: %v", err)
	}
}

func TestProfileValidationAndMerge(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	tn, _ := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	other, _ := tenant.NewStore(d, clk).Create(ctx, "Muu Oy")
	st, _ := site.NewStore(d, clk).Create(ctx, tn.ID, site.New{Name: "A"})
	s := visitor.NewStore(d, clk, time.Hour)
	v, _, _ := s.Create(ctx, tn.ID, st.ID, "")
	name, email := "Maija", "Maija@Example.COM"
	got, err := s.UpdateProfile(ctx, tn.ID, v.ID, visitor.Profile{Name: &name, Email: &email, Attributes: map[string]string{"cart": "129.90", "plan": "b2b"}})
	if err != nil || got.Email != "maija@example.com" || got.Attributes["cart"] != "129.90" {
		t.Fatalf("update: %v %+v", err, got)
	}
	got, err = s.UpdateProfile(ctx, tn.ID, v.ID, visitor.Profile{Attributes: map[string]string{"plan": ""}})
	if err != nil || len(got.Attributes) != 1 || got.Name != "Maija" {
		t.Fatalf("merge: %v %+v", err, got)
	}
	bad := "not an email"
	for _, p := range []visitor.Profile{
		{Email: &bad},
		{Attributes: map[string]string{"": "x"}},
		{Attributes: map[string]string{"k": strings.Repeat("x", 501)}},
		{Attributes: map[string]string{"k": "a\x00b"}},
	} {
		if _, err := s.UpdateProfile(ctx, tn.ID, v.ID, p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if _, err := s.UpdateProfile(ctx, other.ID, v.ID, visitor.Profile{Name: &name}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("update from another tenant: %v", err)
	}
}

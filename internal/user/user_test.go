package user_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/clock"
	"tiski/internal/db/dbtest"
	"tiski/internal/tenant"
	"tiski/internal/user"
)

var cheap = auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}

func setup(t *testing.T) (*user.Store, tenant.Tenant, *tenant.Store) {
	t.Helper()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	ts := tenant.NewStore(d, clk)
	tn, err := ts.Create(context.Background(), "Kauppa Oy")
	if err != nil {
		t.Fatal(err)
	}
	return user.NewStore(d, clk, cheap), tn, ts
}

func TestCreateAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, tn, _ := setup(t)
	u, err := s.Create(ctx, tn.ID, user.New{Email: " Aino@Kauppa.Example ", Name: "Aino", Role: user.Agent, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "aino@kauppa.example" || u.MaxChats != 3 || u.Status != user.Offline {
		t.Fatalf("created %+v", u)
	}
	if _, err := s.Authenticate(ctx, "AINO@kauppa.example", "correct horse battery"); err != nil {
		t.Fatalf("case-insensitive email sign-in: %v", err)
	}
	_, wrong := s.Authenticate(ctx, "aino@kauppa.example", "wrong password!!")
	_, unknown := s.Authenticate(ctx, "nobody@kauppa.example", "correct horse battery")
	if !apperr.Is(wrong, apperr.Unauthorized) || !apperr.Is(unknown, apperr.Unauthorized) || wrong.Error() != unknown.Error() {
		t.Fatalf("failures differ: %v / %v", wrong, unknown)
	}
	if _, err := s.Create(ctx, tn.ID, user.New{Email: "aino@kauppa.example", Role: user.Agent, Password: "another password"}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("duplicate email: %v", err)
	}
	off := true
	if _, err := s.Update(ctx, tn.ID, u.ID, user.Update{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "aino@kauppa.example", "correct horse battery"); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("disabled account signed in: %v", err)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	s, tn, _ := setup(t)
	cases := []user.New{
		{Email: "not-an-email", Role: user.Agent, Password: "correct horse battery"},
		{Email: "a@kauppa.example", Role: "boss", Password: "correct horse battery"},
		{Email: "a@kauppa.example", Role: user.Agent, Password: "short"},
		{Email: "a@kauppa.example", Role: user.Agent, Password: "correct horse battery", MaxChats: 51},
		{Email: "a@kauppa.example", Name: "bad\x00name", Role: user.Agent, Password: "correct horse battery"},
	}
	for _, n := range cases {
		if _, err := s.Create(ctx, tn.ID, n); !apperr.Is(err, apperr.Invalid) && !apperr.Is(err, apperr.TooLarge) {
			t.Errorf("%+v accepted: %v", n, err)
		}
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Fatalf("%d users stored by refused creates", n)
	}
}

func TestLastOwnerStays(t *testing.T) {
	ctx := context.Background()
	s, tn, _ := setup(t)
	owner, err := s.Create(ctx, tn.ID, user.New{Email: "o@kauppa.example", Role: user.Owner, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	agent := user.Agent
	if _, err := s.Update(ctx, tn.ID, owner.ID, user.Update{Role: &agent}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("demoting the last owner: %v", err)
	}
	second, _ := s.Create(ctx, tn.ID, user.New{Email: "o2@kauppa.example", Role: user.Owner, Password: "correct horse battery"})
	if _, err := s.Update(ctx, tn.ID, owner.ID, user.Update{Role: &agent}); err != nil {
		t.Fatalf("demoting one of two owners: %v", err)
	}
	off := true
	if _, err := s.Update(ctx, tn.ID, second.ID, user.Update{Disabled: &off}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("disabling the last owner: %v", err)
	}
}

func TestDepartmentsAndTenantScope(t *testing.T) {
	ctx := context.Background()
	s, tn, ts := setup(t)
	dep, err := ts.CreateDepartment(ctx, tn.ID, "Myynti")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreateDepartment(ctx, tn.ID, "Myynti"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("duplicate department: %v", err)
	}
	other, _ := ts.Create(ctx, "Muu Oy")
	foreignDep, _ := ts.CreateDepartment(ctx, other.ID, "Tuki")
	u, _ := s.Create(ctx, tn.ID, user.New{Email: "a@kauppa.example", Role: user.Agent, Password: "correct horse battery"})
	deps := []string{dep.ID, dep.ID}
	got, err := s.Update(ctx, tn.ID, u.ID, user.Update{Departments: &deps})
	if err != nil || len(got.Departments) != 1 || got.Departments[0] != dep.ID {
		t.Fatalf("departments %v: %v", got.Departments, err)
	}
	bad := []string{foreignDep.ID}
	if _, err := s.Update(ctx, tn.ID, u.ID, user.Update{Departments: &bad}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("another tenant's department: %v", err)
	}
	if got, _ := s.Get(ctx, tn.ID, u.ID); len(got.Departments) != 1 {
		t.Fatalf("a refused update changed departments: %v", got.Departments)
	}
	if _, err := s.Get(ctx, other.ID, u.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("user visible from another tenant: %v", err)
	}
}

func TestStatusAndAvailability(t *testing.T) {
	ctx := context.Background()
	s, tn, _ := setup(t)
	u, _ := s.Create(ctx, tn.ID, user.New{Email: "a@kauppa.example", Role: user.Agent, Password: "correct horse battery"})
	if n, _ := s.Available(ctx, tn.ID); n != 0 {
		t.Fatalf("available before going online: %d", n)
	}
	if err := s.SetStatus(ctx, tn.ID, u.ID, user.Online); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Available(ctx, tn.ID); n != 1 {
		t.Fatalf("available after going online: %d", n)
	}
	if err := s.SetStatus(ctx, tn.ID, u.ID, "busy"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("unknown status: %v", err)
	}
}

// TestConcurrentSignInsAreBounded: many sign-ins at once all succeed; the
// store hashes at most two at a time (each may take 64 MiB).
func TestConcurrentSignInsAreBounded(t *testing.T) {
	ctx := context.Background()
	s, tn, _ := setup(t)
	if _, err := s.Create(ctx, tn.ID, user.New{Email: "a@kauppa.example", Role: user.Agent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Authenticate(ctx, "a@kauppa.example", "correct horse battery")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

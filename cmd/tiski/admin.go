package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/clock"
	"tiski/internal/config"
	"tiski/internal/db"
	"tiski/internal/httpapi"
	"tiski/internal/id"
	"tiski/internal/site"
	"tiski/internal/tenant"
	"tiski/internal/user"
)

// stores opens the database of --data / --db for an admin command.
type stores struct {
	db      *db.DB
	clock   clock.Clock
	tenants *tenant.Store
	sites   *site.Store
	users   *user.Store
}

// adminFlags parses a subcommand's flags plus --data and --db.
func adminFlags(name string, args []string, def func(*flag.FlagSet)) (*flag.FlagSet, config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("tiski "+name, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database URL; empty uses SQLite in the data directory")
	def(fs)
	if err := fs.Parse(args); err != nil {
		return fs, cfg, err
	}
	if fs.NArg() > 0 {
		return fs, cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := config.ApplyEnv(fs, os.Getenv); err != nil {
		return fs, cfg, err
	}
	return fs, cfg, cfg.Validate()
}

func openStores(ctx context.Context, cfg config.Config) (*stores, error) {
	d, err := db.Open(ctx, cfg.DB, db.Options{})
	if err != nil {
		return nil, err
	}
	c := clock.Real()
	if _, err := d.Migrate(ctx, c.Now()); err != nil {
		d.Close()
		return nil, err
	}
	return &stores{db: d, clock: c, tenants: tenant.NewStore(d, c), sites: site.NewStore(d, c),
		users: user.NewStore(d, c, auth.Hasher{P: auth.DefaultParams})}, nil
}

// readPassword takes a password from stdin (one line) when asked to, or
// makes a strong one and says so.
func readPassword(fromStdin bool, in io.Reader) (string, bool, error) {
	if !fromStdin {
		return id.Secret("")[:20], true, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

// pickTenant resolves --tenant, or the only tenant there is.
func pickTenant(ctx context.Context, s *stores, tenantID string) (tenant.Tenant, error) {
	if tenantID != "" {
		return s.tenants.Get(ctx, tenantID)
	}
	ts, err := s.tenants.List(ctx)
	if err != nil {
		return tenant.Tenant{}, err
	}
	switch len(ts) {
	case 0:
		return tenant.Tenant{}, errors.New("there is no organisation yet: give --org NAME to create one")
	case 1:
		return ts[0], nil
	}
	return tenant.Tenant{}, errors.New("there are several organisations: give --tenant ID (see tiski tenant list)")
}

const userUsage = `Usage:
  tiski user add --email EMAIL [--name NAME] [--role agent|supervisor|admin|owner]
                 [--max-chats N] [--tenant ID | --org NAME] [--password-stdin]
  tiski user list [--tenant ID]
  tiski user passwd --email EMAIL [--password-stdin]
  tiski user disable --email EMAIL
  tiski user enable --email EMAIL
Without --password-stdin a strong password is generated and printed once.
Every command takes --data DIR (or --db URL).`

func userCmd(args []string) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	ctx := context.Background()
	var email, name, role, tenantID, org string
	var maxChats int
	var stdin bool
	_, cfg, err := adminFlags("user "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user's email (their sign-in)")
		switch args[0] {
		case "add":
			fs.StringVar(&name, "name", "", "display name shown to shoppers")
			fs.StringVar(&role, "role", "agent", "agent, supervisor, admin or owner")
			fs.IntVar(&maxChats, "max-chats", 3, "most chats at once")
			fs.StringVar(&tenantID, "tenant", "", "organisation id")
			fs.StringVar(&org, "org", "", "create a new organisation with this name for the user")
			fs.BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
		case "passwd":
			fs.BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
		case "list":
			fs.StringVar(&tenantID, "tenant", "", "organisation id")
		}
	})
	if err != nil {
		return err
	}
	s, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.db.Close()
	switch args[0] {
	case "add":
		return userAdd(ctx, s, email, name, role, tenantID, org, maxChats, stdin)
	case "list":
		t, err := pickTenant(ctx, s, tenantID)
		if err != nil {
			return err
		}
		us, err := s.users.List(ctx, t.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tMAX CHATS\tDISABLED\tID")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%v\t%s\n", u.Email, u.Name, u.Role, u.MaxChats, u.Disabled, u.ID)
		}
		return tw.Flush()
	case "passwd":
		u, err := s.users.ByEmail(ctx, email)
		if err != nil {
			return err
		}
		pw, generated, err := readPassword(stdin, os.Stdin)
		if err != nil {
			return err
		}
		if err := s.users.SetPassword(ctx, u.TenantID, u.ID, pw); err != nil {
			return explain(err)
		}
		if generated {
			fmt.Printf("New password for %s: %s\n", u.Email, pw)
		}
		return auth.NewSessions(s.db, s.clock, 0, 0).RevokeUser(ctx, u.TenantID, u.ID)
	case "disable", "enable":
		u, err := s.users.ByEmail(ctx, email)
		if err != nil {
			return err
		}
		off := args[0] == "disable"
		if _, err := s.users.Update(ctx, u.TenantID, u.ID, user.Update{Disabled: &off}); err != nil {
			return explain(err)
		}
		if off {
			return auth.NewSessions(s.db, s.clock, 0, 0).RevokeUser(ctx, u.TenantID, u.ID)
		}
		return nil
	}
	return errors.New(userUsage)
}

func userAdd(ctx context.Context, s *stores, email, name, role, tenantID, org string, maxChats int, stdin bool) error {
	r, err := user.ParseRole(role)
	if err != nil {
		return explain(err)
	}
	pw, generated, err := readPassword(stdin, os.Stdin)
	if err != nil {
		return err
	}
	var u user.User
	if org != "" {
		// A new organisation with this user as its first account.
		n, err := s.users.Count(ctx)
		if err != nil {
			return err
		}
		if n == 0 && r == user.Owner {
			res, err := httpapi.Bootstrap(ctx, s.db, s.clock, s.sites, s.users, httpapi.SetupInput{
				Organisation: org, SiteName: org, Email: email, Name: name, Password: pw})
			if err != nil {
				return explain(err)
			}
			u = res.Owner
			fmt.Printf("Created organisation %q (%s) with site %q, widget key %s\n", res.Tenant.Name, res.Tenant.ID, res.Site.Name, res.Site.WidgetKey)
		} else {
			t, err := s.tenants.Create(ctx, org)
			if err != nil {
				return explain(err)
			}
			fmt.Printf("Created organisation %q (%s)\n", t.Name, t.ID)
			tenantID = t.ID
		}
	}
	if u.ID == "" {
		t, err := pickTenant(ctx, s, tenantID)
		if err != nil {
			return err
		}
		if u, err = s.users.Create(ctx, t.ID, user.New{Email: email, Name: name, Role: r, Password: pw, MaxChats: maxChats}); err != nil {
			return explain(err)
		}
	}
	fmt.Printf("Added %s %s <%s> (%s)\n", u.Role, u.Name, u.Email, u.ID)
	if generated {
		fmt.Printf("Password: %s\n", pw)
	}
	return nil
}

// explain turns a typed error into a sentence for the terminal.
func explain(err error) error {
	var e *apperr.Error
	if errors.As(err, &e) && e.Code != apperr.Internal {
		return errors.New(e.Message)
	}
	return err
}

func tenantCmd(args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return errors.New("usage: tiski tenant add --name NAME | tiski tenant list")
	}
	ctx := context.Background()
	var name string
	_, cfg, err := adminFlags("tenant "+args[0], args[1:], func(fs *flag.FlagSet) {
		if args[0] == "add" {
			fs.StringVar(&name, "name", "", "organisation name")
		}
	})
	if err != nil {
		return err
	}
	s, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.db.Close()
	if args[0] == "add" {
		t, err := s.tenants.Create(ctx, name)
		if err != nil {
			return explain(err)
		}
		fmt.Printf("Created organisation %q: %s\n", t.Name, t.ID)
		return nil
	}
	ts, err := s.tenants.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func siteCmd(args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return errors.New("usage: tiski site add --name NAME --origin https://shop.example [--origin …] [--language fi|sv|en] [--timezone Europe/Helsinki] [--tenant ID] | tiski site list [--tenant ID]")
	}
	ctx := context.Background()
	var name, language, tz, tenantID string
	var origins listFlag
	_, cfg, err := adminFlags("site "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&tenantID, "tenant", "", "organisation id")
		if args[0] == "add" {
			fs.StringVar(&name, "name", "", "shop name")
			fs.Var(&origins, "origin", "origin of the shop's pages (repeatable)")
			fs.StringVar(&language, "language", "en", "default language: fi, sv or en")
			fs.StringVar(&tz, "timezone", "Europe/Helsinki", "IANA time zone")
		}
	})
	if err != nil {
		return err
	}
	s, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.db.Close()
	t, err := pickTenant(ctx, s, tenantID)
	if err != nil {
		return err
	}
	if args[0] == "add" {
		st, err := s.sites.Create(ctx, t.ID, site.New{Name: name, Language: language, Timezone: tz, Origins: origins})
		if err != nil {
			return explain(err)
		}
		fmt.Printf("Created site %q, widget key %s\n", st.Name, st.WidgetKey)
		return nil
	}
	sites, err := s.sites.List(ctx, t.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WIDGET KEY\tNAME\tLANGUAGE\tORIGINS")
	for _, st := range sites {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.WidgetKey, st.Name, st.Language, strings.Join(st.Origins, " "))
	}
	return tw.Flush()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"tiski/internal/config"
	"tiski/internal/server"
)

// parseConfig reads the server settings of a subcommand: defaults, then
// TISKI_* variables, then flags.
func parseConfig(name string, args []string, cfg config.Config, extra func(*flag.FlagSet)) (config.Config, error) {
	fs := flag.NewFlagSet("tiski "+name, flag.ContinueOnError)
	cfg.Bind(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := config.ApplyEnv(fs, os.Getenv); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func serveCmd(args []string) error {
	cfg, err := parseConfig("serve", args, config.Default(), nil)
	if err != nil {
		return err
	}
	return run(cfg, server.Options{}, func(srv *server.Server, base string) error {
		n, err := srv.Users.Count(context.Background())
		if err != nil {
			return err
		}
		fmt.Printf("Tiski is running at %s\n", base)
		if n == 0 {
			fmt.Printf("First-run set-up: open %s/?token=%s\n", base, srv.SetupToken)
			fmt.Println("  (or create the first owner with: tiski user add --org NAME --email EMAIL --role owner)")
		}
		return nil
	})
}

// run starts a node, calls started with its base URL, and serves until
// SIGINT or SIGTERM, then shuts down gracefully.
func run(cfg config.Config, o server.Options, started func(*server.Server, string) error) error {
	log := newLogger(cfg)
	o.Config, o.Logger = cfg, log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, o)
	if err != nil {
		return err
	}
	ln, err := srv.Listen()
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	base := baseURL(srv.Config.PublicURL, ln.Addr())
	// A machine-readable line first: scripts and tests wait for it.
	fmt.Printf("tiski: listening on http://%s\n", ln.Addr())
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		defer stopDebug()
	}
	if err := started(srv, base); err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	return err
}

func baseURL(public string, addr net.Addr) string {
	if public != "" {
		return public
	}
	a := addr.String()
	if strings.HasPrefix(a, "[::]:") || strings.HasPrefix(a, "0.0.0.0:") {
		_, port, _ := net.SplitHostPort(a)
		a = "localhost:" + port
	}
	return "http://" + a
}

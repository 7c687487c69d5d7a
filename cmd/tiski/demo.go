package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"tiski/internal/config"
	"tiski/internal/demo"
	"tiski/internal/server"
)

func demoCmd(args []string) error {
	def := config.Default()
	def.DataDir = "tiski-demo-data"
	shopAddr := ""
	cfg, err := parseConfig("demo", args, def, func(fs *flag.FlagSet) {
		fs.StringVar(&shopAddr, "shop-addr", "", "address of the demo shop (default: the port after --addr)")
	})
	if err != nil {
		return err
	}
	if shopAddr == "" {
		if shopAddr, err = nextPort(cfg.Addr); err != nil {
			return err
		}
	}
	shopLn, err := net.Listen("tcp", shopAddr)
	if err != nil {
		return fmt.Errorf("demo shop: %w", err)
	}
	var shopSrv *http.Server
	return run(cfg, server.Options{}, func(srv *server.Server, base string) error {
		shopURL := "http://" + shopLn.Addr().String()
		st, err := demo.Seed(context.Background(), srv, shopURL)
		if err != nil {
			shopLn.Close()
			return err
		}
		shopSrv = &http.Server{Handler: demo.Shop(base, st), ReadHeaderTimeout: 10 * time.Second}
		go shopSrv.Serve(shopLn)
		fmt.Printf(`
Tiski demo is running.

  Demo shop (a shopper's view):  %s
  Tiski server and console:      %s

  Agent accounts:
`, shopURL, base)
		for _, a := range demo.Agents {
			fmt.Printf("    %-8s %-26s password %s  (%s)\n", a.Name, a.Email, a.Password, a.Role)
		}
		fmt.Printf("    %-8s %-26s password %s  (owner)\n\n  Data lives in %s; press Ctrl-C to stop.\n\n",
			"Owner", demo.OwnerEmail, demo.OwnerPassword, srv.Config.DataDir)
		return nil
	})
}

// nextPort returns HOST:PORT+1 for HOST:PORT (port 0 stays 0).
func nextPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil {
		return "", fmt.Errorf("--addr %q: bad port", addr)
	}
	if p != 0 {
		p++
	}
	return net.JoinHostPort(host, fmt.Sprint(p)), nil
}

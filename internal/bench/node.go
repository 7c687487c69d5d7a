package bench

import (
	"context"
	"os"

	"tiski/internal/auth"
	"tiski/internal/config"
	"tiski/internal/httpapi"
	"tiski/internal/server"
)

// localNode is a node in the benchmark's own process, for the figures a
// child process cannot show: a fresh data directory, cheap password
// hashing, and one tenant, site and owner set up.
type localNode struct {
	srv *server.Server
	set httpapi.SetupResult
	dir string
}

// startLocalNode starts a node named after its phase; tune may change the
// settings first.
func startLocalNode(ctx context.Context, phase string, tune func(*config.Config)) (*localNode, error) {
	dir, err := os.MkdirTemp("", "tiski-"+phase+"-")
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	cheap := auth.Hasher{P: auth.Params{Time: 1, Memory: 64, Threads: 1}}
	srv, err := server.New(ctx, server.Options{Config: cfg, Hasher: &cheap})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	n := &localNode{srv: srv, dir: dir}
	n.set, err = httpapi.Bootstrap(ctx, srv.DB, srv.Clock, srv.Sites, srv.Users, httpapi.SetupInput{Organisation: phase,
		SiteName: phase, SiteOrigins: []string{Origin}, Email: "owner@bench.tiski.invalid", Name: "Owner", Password: phase + "-password"})
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Close stops the node and removes its data.
func (n *localNode) Close() {
	n.srv.Shutdown(context.Background())
	os.RemoveAll(n.dir)
}

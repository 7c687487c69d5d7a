package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"tiski/internal/bench"
)

// benchCmd measures this build: it runs this executable's server as a child
// process and drives it over loopback (see docs/benchmarks.md).
func benchCmd(args []string) error {
	// Parse twice: the first pass finds --size, whose preset gives the
	// defaults that the other flags override in the second.
	size := "quick"
	var cfg bench.Config
	var cpuProfile string
	for range 2 {
		var err error
		if cfg, err = bench.Preset(size); err != nil {
			return err
		}
		fs := flag.NewFlagSet("tiski bench", flag.ContinueOnError)
		cfg.Bind(fs)
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the load generator and the in-process phases) to this file")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		size = cfg.Size
	}
	cfg.Version = version
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	_, err := bench.Run(ctx, cfg, os.Stdout, os.Stderr)
	return err
}

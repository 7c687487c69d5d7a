// Command tiski is the Tiski live chat server: one binary for the server,
// the demo, account management and benchmarks.
package main

import (
	"fmt"
	"os"
)

const usage = `tiski — live chat customer service for web shops

Usage:
  tiski serve [flags]      run the server
  tiski demo [flags]       run the server with a demo shop to try it
  tiski user <command>     manage agent accounts (add, list, passwd, disable, enable)
  tiski tenant <command>   manage organisations (add, list)
  tiski site <command>     manage shops (add, list)
  tiski backup --to FILE   copy the database while the server runs
  tiski restore --from FILE  put a backup in place (server stopped)
  tiski bench [flags]      measure this build: latency, throughput, memory per connection
  tiski version            print the version

Every flag can also be set with a TISKI_* environment variable, e.g.
--data → TISKI_DATA, --public-url → TISKI_PUBLIC_URL. Run "tiski serve -h"
for the server's flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args)
	case "demo":
		err = demoCmd(args)
	case "user":
		err = userCmd(args)
	case "tenant":
		err = tenantCmd(args)
	case "site":
		err = siteCmd(args)
	case "backup":
		err = backupCmd(args)
	case "restore":
		err = restoreCmd(args)
	case "bench":
		err = benchCmd(args)
	case "version":
		fmt.Println("tiski", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "tiski: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tiski:", err)
		os.Exit(1)
	}
}

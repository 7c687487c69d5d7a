// Package natstest gives tests a NATS to talk to: the shared server of the
// machine (TISKI_TEST_NATS_URL, default nats://127.0.0.1:4222) with a
// subject prefix of the test's own, or an embedded server the test can stop
// and start again.
//
// Outside CI a test that needs the shared server and cannot reach it is
// skipped with a loud message; with CI=true it fails.
package natstest

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"tiski/internal/id"
)

// DefaultURL is where tests find NATS unless told otherwise.
const DefaultURL = "nats://127.0.0.1:4222"

// Selected reports whether the suite runs on NATS (TISKI_TEST_BUS=nats).
func Selected() bool { return strings.EqualFold(os.Getenv("TISKI_TEST_BUS"), "nats") }

// URL returns the shared test NATS, or skips (in CI: fails) the test when
// it is not reachable.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TISKI_TEST_NATS_URL")
	if u == "" {
		u = DefaultURL
	}
	host := strings.TrimPrefix(u, "nats://")
	c, err := net.DialTimeout("tcp", host, 3*time.Second)
	if err != nil {
		msg := "NATS at " + u + " is not reachable: " + err.Error()
		if os.Getenv("CI") == "true" || Selected() {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING: " + msg + " (set up NATS to run this test; CI always does)")
	}
	c.Close()
	return u
}

// Prefix returns a subject prefix no other test uses.
func Prefix() string { return "tt" + id.Key("")[:12] + "." }

// Server is an embedded NATS server on a loopback port that stays the same
// across Stop and Start, as a restarted NATS would.
type Server struct {
	t    testing.TB
	port int
	s    *server.Server
}

// Embedded starts a NATS server for the test; it stops when the test ends.
func Embedded(t testing.TB) *Server {
	t.Helper()
	e := &Server{t: t, port: -1}
	e.Start()
	t.Cleanup(e.Stop)
	return e
}

// URL is the server's address.
func (e *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(e.port) }

// Start runs the server (again).
func (e *Server) Start() {
	e.t.Helper()
	if e.s != nil {
		return
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: e.port, NoLog: true, NoSigs: true})
	if err != nil {
		e.t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		e.t.Fatal("nats server did not start")
	}
	e.s = s
	e.port = s.Addr().(*net.TCPAddr).Port
}

// Stop shuts the server down, cutting every client.
func (e *Server) Stop() {
	if e.s == nil {
		return
	}
	e.s.Shutdown()
	e.s.WaitForShutdown()
	e.s = nil
}

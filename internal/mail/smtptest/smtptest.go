// Package smtptest runs a real SMTP server (Python's aiosmtpd, from
// Debian's python3-aiosmtpd) for tests, delivering into a Maildir the test
// reads back.
package smtptest

import (
	"bufio"
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running SMTP server.
type Server struct {
	Host string
	Port int
	dir  string
}

// Python is the interpreter with aiosmtpd (Debian's, not a virtualenv's).
var Python = "/usr/bin/python3"

// Start runs an SMTP server until the test ends. Without aiosmtpd the test
// is skipped loudly, except in CI (CI=true), where it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	if err := exec.Command(Python, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("aiosmtpd is missing (apt-get install python3-aiosmtpd): %v", err)
		}
		fmt.Fprintln(os.Stderr, "\n*** SKIPPING email test: no aiosmtpd (apt-get install python3-aiosmtpd) ***")
		t.Skip("no aiosmtpd")
	}
	dir := t.TempDir()
	for _, sub := range []string{"tmp", "new", "cur"} { // a Maildir
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		port := freePort(t)
		cmd := exec.Command(Python, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:"+strconv.Itoa(port),
			"-c", "aiosmtpd.handlers.Mailbox", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if waitGreeting(port, done) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-done
			})
			return &Server{Host: "127.0.0.1", Port: port, dir: dir}
		}
		cmd.Process.Kill()
		<-done // the port was taken meanwhile: try another
	}
	t.Fatal("could not start aiosmtpd")
	return nil
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitGreeting waits for the server's 220 greeting.
func waitGreeting(port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Messages returns the delivered messages, oldest first.
func (s *Server) Messages(t testing.TB) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
	sort.Slice(files, func(i, j int) bool {
		a, _ := os.Stat(files[i])
		b, _ := os.Stat(files[j])
		return a.ModTime().Before(b.ModTime())
	})
	var out []*mail.Message
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bufio.NewReader(fh))
		if err != nil {
			fh.Close()
			t.Fatal(err)
		}
		out = append(out, m)
		// The body is read lazily from fh; keep it open until the test ends.
		t.Cleanup(func() { fh.Close() })
	}
	return out
}

// WaitFor waits until at least n messages arrived and returns them.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []*mail.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
		if len(files) >= n {
			return s.Messages(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived", len(files), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

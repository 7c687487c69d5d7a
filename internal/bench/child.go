package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a Tiski server the benchmark started as its own process, with
// its own data directory, so that its memory and CPU can be read apart
// from the load generator's.
type child struct {
	cmd     *exec.Cmd
	dir     string
	URL     string
	Token   string // first-run set-up token
	Pid     int
	exited  chan struct{}
	logTo   io.Writer
	mu      sync.Mutex
	gcs     []gcLine // from GODEBUG=gctrace=1
	stderrT []string // last lines of the server's own log
	noToken bool     // ready once listening (joins a set-up database)
}

// gcLine is one garbage collection as gctrace reports it.
type gcLine struct {
	At       time.Time
	HeapLive int64 // MB marked live at the end of the cycle
	Goal     int64 // MB heap goal
	Stacks   int64 // MB of goroutine stacks scanned
}

var (
	listenRe = regexp.MustCompile(`^tiski: listening on (http://\S+)`)
	tokenRe  = regexp.MustCompile(`\?token=(\S+)`)
	gcRe     = regexp.MustCompile(`^gc \d+ @.*, \d+->\d+->(\d+) MB, (\d+) MB goal, (\d+) MB stacks`)
	msgRe    = regexp.MustCompile(`\bmsg=("(?:[^"\\]|\\.)*"|\S+)`)
)

// startChild runs `bin serve` on a free loopback port with a fresh data
// directory and waits until it prints its address and set-up token.
func startChild(ctx context.Context, bin string, logTo io.Writer, extra ...string) (*child, error) {
	return startNode(ctx, bin, logTo, true, extra...)
}

// startNode starts a server with extra serve flags; noToken is false for
// a node joining a database that is set up already (it prints none).
func startNode(ctx context.Context, bin string, logTo io.Writer, wantToken bool, extra ...string) (*child, error) {
	dir, err := os.MkdirTemp("", "tiski-bench-")
	if err != nil {
		return nil, err
	}
	c := &child{dir: dir, exited: make(chan struct{}), logTo: logTo, noToken: !wantToken}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir,
		"--new-visitors-per-sec", "100000", "--log-level", "warn"}, extra...)
	c.cmd = exec.Command(bin, args...)
	// gctrace prints one line per GC on stderr: live heap and goroutine
	// stacks, without any debug endpoint in the server.
	c.cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	c.cmd.SysProcAttr = childAttr()
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start server %s: %w", bin, err)
	}
	c.Pid = c.cmd.Process.Pid
	var pipes sync.WaitGroup
	pipes.Add(2)
	go c.readStderr(stderr, &pipes)
	ready := make(chan struct{})
	go c.readStdout(stdout, ready, &pipes)
	go func() {
		pipes.Wait()
		c.cmd.Wait()
		close(c.exited)
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case <-ready:
		return c, nil
	case <-c.exited:
		err = fmt.Errorf("server exited before it was ready: %s", c.stderrTail())
	case <-timeout.C:
		err = errors.New("server did not print its address and set-up token within 30 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.Stop()
	return nil, err
}

func (c *child) readStdout(r io.Reader, ready chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if m := listenRe.FindStringSubmatch(line); m != nil {
			c.URL = m[1]
			if c.noToken {
				close(ready)
			}
		} else if m := tokenRe.FindStringSubmatch(line); m != nil && c.URL != "" && c.Token == "" {
			c.Token = m[1]
			close(ready)
		}
	}
	io.Copy(io.Discard, r)
}

func (c *child) readStderr(r io.Reader, wg *sync.WaitGroup) {
	defer wg.Done()
	// A run of log lines with the same message (a node without its bus
	// warns about every event it cannot publish) is shown once, with a
	// count, so that it does not bury the benchmark's progress.
	last, repeats := "", 0
	flush := func() {
		if repeats > 0 {
			fmt.Fprintf(c.logTo, "server: … and %d more lines with msg=%s\n", repeats, last)
		}
		repeats = 0
	}
	defer flush()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if m := gcRe.FindStringSubmatch(line); m != nil {
			g := gcLine{At: time.Now()}
			g.HeapLive, _ = strconv.ParseInt(m[1], 10, 64)
			g.Goal, _ = strconv.ParseInt(m[2], 10, 64)
			g.Stacks, _ = strconv.ParseInt(m[3], 10, 64)
			c.mu.Lock()
			c.gcs = append(c.gcs, g)
			c.mu.Unlock()
			continue
		}
		if strings.HasPrefix(line, "gc ") || strings.HasPrefix(line, "scvg") {
			continue
		}
		c.mu.Lock()
		c.stderrT = append(c.stderrT, line)
		if len(c.stderrT) > 20 {
			c.stderrT = c.stderrT[1:]
		}
		c.mu.Unlock()
		msg := ""
		if m := msgRe.FindStringSubmatch(line); m != nil {
			msg = m[1]
		}
		if msg != "" && msg == last {
			repeats++
			continue
		}
		flush()
		last = msg
		fmt.Fprintln(c.logTo, "server:", line)
	}
	io.Copy(io.Discard, r)
}

func (c *child) stderrTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.stderrT, "\n")
}

// lastGC returns the last collection that finished between from and to.
func (c *child) lastGC(from, to time.Time) (gcLine, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.gcs) - 1; i >= 0; i-- {
		if g := c.gcs[i]; g.At.After(from) && g.At.Before(to) {
			return g, true
		}
	}
	return gcLine{}, false
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and removes its
// data directory. It is safe to call more than once.
func (c *child) Stop() {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	os.RemoveAll(c.dir)
}

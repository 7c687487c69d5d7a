package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// natsServer is a NATS server of the benchmark's own for the cross-node
// phase: the nats-server program run as a child process on a loopback
// port. Being ours, it can be stopped and started again on the same port,
// as a restarted NATS would be: the nodes keep the URL they were given and
// find the server there again. (A child process rather than a server
// linked into this binary keeps NATS out of every Tiski installation.)
type natsServer struct {
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// startNATS starts nats-server (found on PATH or in /usr/sbin) on a free
// loopback port.
func startNATS() (*natsServer, error) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			return nil, errors.New("no nats-server program to run (install it, e.g. the Debian package nats-server, or pass --bus)")
		}
		bin = "/usr/sbin/nats-server"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &natsServer{bin: bin, port: port}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

// URL is where the nodes find the server, the same across restarts.
func (n *natsServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// start runs the server (again) and waits until it takes connections.
func (n *natsServer) start() error {
	if n.cmd != nil {
		return nil
	}
	cmd := exec.Command(n.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", n.URL()[len("nats://"):])
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			return fmt.Errorf("nats-server exited at start (is port %d taken?)", n.port)
		case <-ctx.Done():
			cmd.Process.Kill()
			<-done
			return errors.New("the NATS server did not take connections within 10 s on " + n.URL())
		case <-time.After(20 * time.Millisecond):
		}
	}
	n.cmd, n.done = cmd, done
	return nil
}

// stop kills the server, cutting every client at once, and waits until it
// has gone. It is safe to call more than once.
func (n *natsServer) stop() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

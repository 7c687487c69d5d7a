package bench

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is a NATS server inside the benchmark's process for the
// cross-node phase. Being ours, it can be stopped and started again on the
// same port, as a restarted NATS would be: the nodes keep the URL they were
// given and find the server there again.
type natsServer struct {
	port int // -1 until the first start picks a free one
	s    *server.Server
}

// startNATS starts a server on a free loopback port.
func startNATS() (*natsServer, error) {
	n := &natsServer{port: -1}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

// URL is where the nodes find the server, the same across restarts.
func (n *natsServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// start runs the server (again) and waits until it takes connections.
func (n *natsServer) start() error {
	if n.s != nil {
		return nil
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		// Without a logger a failed listen is silent: the server just
		// never becomes ready (another process took the port?).
		s.Shutdown()
		return errors.New("the NATS server did not take connections within 10 s on " + n.URL())
	}
	n.s = s
	n.port = s.Addr().(*net.TCPAddr).Port
	return nil
}

// stop shuts the server down, cutting every client at once. It is safe to
// call more than once.
func (n *natsServer) stop() {
	if n.s == nil {
		return
	}
	n.s.Shutdown()
	n.s.WaitForShutdown()
	n.s = nil
}

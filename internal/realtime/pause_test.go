package realtime_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tiski/internal/db"
	"tiski/internal/testsrv"
)

// TestUnavailableAcksInFlightSendsFirst: when the node stops serving
// realtime clients (its bus or database is gone), a send already being
// stored is acknowledged before the connection closes, so the client does
// not have to resend what is stored.
func TestUnavailableAcksInFlightSendsFirst(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	if env.Server.DB.Dialect != db.SQLite {
		// Holding the one SQLite writer is what keeps the send in flight;
		// PostgreSQL's several committers would store it at once. The
		// drain itself is the hub's and the same on every engine.
		t.Skip("needs SQLite's single writer to hold a send in flight")
	}
	ctx := ctxT(t, 20*time.Second)
	p := newPair(t, ctx, env)
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/widget/v1/sites/" + env.Site.WidgetKey + "/rt"
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {testsrv.ShopOrigin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := json.Marshal(map[string]any{"t": "hello", "v": 1, "token": p.visitor.Token})
	ws.Write(ctx, websocket.MessageText, hello)
	frames := make(chan string, 64)
	go func() {
		defer close(frames)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				frames <- "closed: " + err.Error()
				return
			}
			frames <- string(data)
		}
	}()
	next := func(what string, match func(string) bool) string {
		t.Helper()
		for f := range frames {
			if match(f) {
				return f
			}
		}
		t.Fatalf("no %s", what)
		return ""
	}
	next("welcome", func(f string) bool { return strings.Contains(f, `"t":"welcome"`) })

	// Hold the writer, so that the send below waits to be stored.
	started, release := make(chan struct{}), make(chan struct{})
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) })
	go env.Server.DB.Write(ctx, func(context.Context, *sql.Tx) error {
		close(started)
		<-release
		return nil
	})
	<-started
	send, _ := json.Marshal(map[string]any{"t": "send", "id": "in-flight", "conv": p.conv, "body": "Ehtiikö tämä?", "rid": "s1"})
	if err := ws.Write(ctx, websocket.MessageText, send); err != nil {
		t.Fatal(err)
	}
	// The send is being handled (its write queued behind the held one)
	// when the node stops serving.
	for env.Server.DB.Queued() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the send never reached the write queue")
		}
		runtime.Gosched()
	}
	env.Server.Hub.SetAvailable(false, 10*time.Second)
	released.Do(func() { close(release) })
	f := next("ack or close", func(f string) bool {
		return strings.Contains(f, `"t":"ack"`) || strings.HasPrefix(f, "closed: ")
	})
	if !strings.Contains(f, `"id":"in-flight"`) {
		t.Fatalf("the connection closed before the stored send was acknowledged: %s", f)
	}
	next("close", func(f string) bool { return strings.HasPrefix(f, "closed: ") })
	env.Server.Hub.SetAvailable(true, time.Second)
}

package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"tiski/internal/realtime"
	"tiski/internal/testsrv"
)

// A console socket ended by signing out or by an admin disabling the
// account closes with the protocol's "signed out" code (4010, a real close
// frame), so the console goes back to its sign-in screen instead of
// reconnecting as after a network failure.
func TestSignedOutSocketsCloseWith4010(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	owner := login(t, env, env.Owner.Email, testsrv.Password)
	dial := func(t *testing.T, s *session) *websocket.Conn {
		t.Helper()
		hdr := http.Header{"Origin": {env.URL}, "Cookie": {s.cookie.Name + "=" + s.cookie.Value}}
		c, _, err := websocket.Dial(ctxT(t), "ws"+strings.TrimPrefix(env.URL, "http")+consoleAPI+"/rt", &websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if err := c.Write(ctxT(t), websocket.MessageText, []byte(`{"t":"hello","v":1}`)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// closedWith reads until the server closes and returns its close code.
	closedWith := func(t *testing.T, c *websocket.Conn) int {
		t.Helper()
		for {
			if _, _, err := c.Read(ctxT(t)); err != nil {
				return int(websocket.CloseStatus(err))
			}
		}
	}
	n := env.Hub.Connections()
	t.Run("logout", func(t *testing.T) {
		s := login(t, env, env.Agents[0].Email, testsrv.Password)
		c := dial(t, s)
		waitFor(t, "the socket to register", func() bool { return env.Hub.Connections() == n+1 })
		if r := send(t, env.URL, "POST", consoleAPI+"/logout", nil, s.auth()); r.status != 204 && r.status != 200 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if code := closedWith(t, c); code != realtime.CloseRevoked {
			t.Fatalf("close code %d, want %d", code, realtime.CloseRevoked)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		victim := env.Agents[1]
		s := login(t, env, victim.Email, testsrv.Password)
		c := dial(t, s)
		waitFor(t, "the socket to register", func() bool { return env.Hub.Connections() == n+1 })
		if r := send(t, env.URL, "PATCH", consoleAPI+"/users/"+victim.ID, []byte(`{"disabled":true}`), owner.auth(), jsonCT); r.status != 200 {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
		if code := closedWith(t, c); code != realtime.CloseRevoked {
			t.Fatalf("close code %d, want %d", code, realtime.CloseRevoked)
		}
	})
}

package realtime

import (
	"testing"
	"time"
)

func TestPlainPingRecognisesOnlyPlainPings(t *testing.T) {
	yes := map[string]string{
		`{"t":"ping"}`:                         "",
		`{"t":"ping","rid":"alive"}`:           "alive",
		`{"t":"ping","rid":"r-1_2.3:4"}`:       "r-1_2.3:4",
		`{"t":"ping","rid":"` + rep(64) + `"}`: rep(64),
	}
	for in, rid := range yes {
		if got, ok := plainPing([]byte(in)); !ok || got != rid {
			t.Errorf("%s: got %q %v, want %q", in, got, ok, rid)
		}
	}
	// Everything else goes through the decoder, which validates it.
	for _, in := range []string{
		`{"t":"ping","rid":"` + rep(65) + `"}`, `{"t":"ping","rid":""}`, `{"t":"ping","rid":"a\"b"}`,
		`{"t":"ping","rid":"ä"}`, `{"t":"ping","rid":"a\\u0022"}`, `{"t":"ping"} `, `{"t":"ping"}{"t":"ping"}`,
		`{"T":"ping"}`, `{"t":"ping","x":1}`, `{"t":"ping","rid":"a","x":1}`, `{"rid":"a","t":"ping"}`,
		`{"t":"pingx"}`, `{"t":"ping","rid":"a"}}`, ``,
	} {
		if rid, ok := plainPing([]byte(in)); ok {
			t.Errorf("%s taken as a plain ping (rid %q)", in, rid)
		}
	}
}

func TestAppendPongMatchesTheEncoder(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC),
		time.Date(2026, 3, 1, 23, 59, 59, 500000000, time.FixedZone("EET", 2*3600)),
	} {
		for _, rid := range []string{"", "alive", rep(64)} {
			want := string(encode(pongFrame{T: "pong", RID: rid, ServerTime: now}))
			if got := string(appendPong(nil, rid, now)); got != want {
				t.Errorf("pong %q at %v:\n got %s\nwant %s", rid, now, got, want)
			}
		}
	}
}

func rep(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'r'
	}
	return string(b)
}

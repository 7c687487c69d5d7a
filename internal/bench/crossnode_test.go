package bench

import (
	"testing"
	"time"
)

// TestSettled checks when a flow counts as normal again after a restart:
// from the first 2 s of due times in which every half second's p90 is
// within the limit, whatever a lone slow message does.
func TestSettled(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	// 200 messages a second for 10 s; those due before 5 s waited until 5 s.
	flow := func(skip func(due time.Duration) bool, extra ...[2]time.Duration) *receipts {
		tr := &receipts{}
		for due := time.Duration(0); due < 10*s; due += 5 * ms {
			if skip != nil && skip(due) {
				continue
			}
			got := due + 10*ms
			if due < 5*s {
				got = 5 * s
			}
			tr.add(due, got)
		}
		for _, e := range extra {
			tr.add(e[0], e[1])
		}
		return tr
	}
	for _, tc := range []struct {
		name string
		tr   *receipts
		want float64
	}{
		{"backlog until 5 s", flow(nil), 2},
		{"a lone slow message", flow(nil, [2]time.Duration{5600 * ms, 9 * s}), 2},
		// Nothing delivered of what was due from 6 to 6.5 s.
		{"an empty half second", flow(func(due time.Duration) bool { return due >= 6*s && due < 6500*ms }), 3.5},
	} {
		if got := tc.tr.settled(0, 3*s, 50*ms); got != tc.want {
			t.Errorf("%s: settled %.2f s after the restart, want %.2f", tc.name, got, tc.want)
		}
	}
	if got := flow(nil).settled(0, 3*s, 5*ms); got != -1 {
		t.Errorf("a flow always slower than the limit settled after %.2f s", got)
	}
	// A limit above the outage's delays: normal at once.
	if got := flow(nil).settled(0, 3*s, 10*s); got != 0 {
		t.Errorf("with a lenient limit the flow settled %.2f s after the restart, want 0", got)
	}
}

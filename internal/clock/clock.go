// Package clock gives Tiski one injectable source of time, so that tests
// control expiry, timeouts and timestamps instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time. Times are UTC, truncated to microseconds so that
// they round-trip unchanged through both SQLite and PostgreSQL.
type Clock interface {
	Now() time.Time
}

type real struct{}

func (real) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Real is the wall clock.
func Real() Clock { return real{} }

// Fake is a clock that moves only when told to.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake starts a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{t: t.UTC().Truncate(time.Microsecond)} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d).Truncate(time.Microsecond)
	f.mu.Unlock()
}

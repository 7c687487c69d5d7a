// Package ratelimit holds the token buckets that slow abusers down: per
// connection in the realtime layer, per client address at the HTTP edge.
package ratelimit

import (
	"sync"
	"time"
)

// Bucket is a token bucket: rate tokens a second, up to burst.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket.
func NewBucket(rate float64, burst int) *Bucket {
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// Take spends a token if there is one.
func (b *Bucket) Take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeLocked(time.Now())
}

func (b *Bucket) takeLocked(now time.Time) bool {
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Keyed keeps one bucket per key (a client address, a site) and forgets
// keys that have been idle long enough to be full again.
type Keyed struct {
	mu      sync.Mutex
	rate    float64
	burst   int
	buckets map[string]*Bucket
	swept   time.Time
}

// NewKeyed returns a limiter allowing rate events a second per key, with bursts.
func NewKeyed(rate float64, burst int) *Keyed {
	return &Keyed{rate: rate, burst: burst, buckets: map[string]*Bucket{}, swept: time.Now()}
}

// Allow spends a token of key's bucket if it has one.
func (k *Keyed) Allow(key string) bool {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.swept) > time.Minute {
		refill := time.Duration(float64(k.burst)/k.rate*float64(time.Second)) + time.Second
		for key, b := range k.buckets {
			if now.Sub(b.last) > refill {
				delete(k.buckets, key)
			}
		}
		k.swept = now
	}
	b := k.buckets[key]
	if b == nil {
		b = NewBucket(k.rate, k.burst)
		k.buckets[key] = b
	}
	return b.takeLocked(now)
}

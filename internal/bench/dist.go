package bench

import (
	"slices"
	"sync"
	"time"
)

// samples collects latencies. Every sample is kept, so percentiles are
// exact (a full run holds a few hundred thousand).
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) addAll(ds []time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, ds...)
	s.mu.Unlock()
}

// Dist summarises latencies in milliseconds.
type Dist struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func (s *samples) dist() Dist {
	s.mu.Lock()
	d := slices.Clone(s.d)
	s.mu.Unlock()
	if len(d) == 0 {
		return Dist{}
	}
	slices.Sort(d)
	// Nearest rank: the smallest sample with at least q of all at or below it.
	at := func(q float64) float64 {
		i := int(q*float64(len(d))+0.999999) - 1
		return ms(d[min(max(i, 0), len(d)-1)])
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Dist{Count: len(d), Mean: ms(sum / time.Duration(len(d))), P50: at(0.50), P90: at(0.90), P99: at(0.99),
		P999: at(0.999), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

package bench

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a set of durations, in milliseconds.
type Dist struct {
	N        int     `json:"n"`
	MedianMs float64 `json:"medianMs"`
	P90Ms    float64 `json:"p90Ms"`
	MinMs    float64 `json:"minMs"`
	MaxMs    float64 `json:"maxMs"`
}

// newDist computes the median and the nearest-rank 90th percentile.
func newDist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	return distOf(ms)
}

func distOf(ms []float64) Dist {
	if len(ms) == 0 {
		return Dist{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	p90 := s[int(math.Ceil(0.9*float64(n)))-1]
	return Dist{N: n, MedianMs: round2(med), P90Ms: round2(p90), MinMs: round2(s[0]), MaxMs: round2(s[n-1])}
}

// median of xs (0 when empty).
func median(xs []float64) float64 {
	return distOf(xs).MedianMs
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

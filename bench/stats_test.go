package bench

import (
	"os"
	"testing"
	"time"
)

func TestDist(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- { // 10..1 ms, unsorted
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	d := newDist(ds)
	want := Dist{N: 10, MedianMs: 5.5, P90Ms: 9, MinMs: 1, MaxMs: 10}
	if d != want {
		t.Errorf("newDist = %+v, want %+v", d, want)
	}
	if d := distOf([]float64{3, 1, 2}); d.MedianMs != 2 || d.P90Ms != 3 {
		t.Errorf("odd count: %+v", d)
	}
	if d := newDist(nil); d != (Dist{}) {
		t.Errorf("empty: %+v", d)
	}
}

func TestProcReaders(t *testing.T) {
	// Burn a little CPU so that the counter has moved.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	cpu, err := cpuSeconds(os.Getpid())
	if err != nil || !(cpu > 0) {
		t.Errorf("cpuSeconds(self) = %v, %v", cpu, err)
	}
	rss, err := rssMiB(os.Getpid())
	if err != nil || !(rss > 1) {
		t.Errorf("rssMiB(self) = %v, %v", rss, err)
	}
	if _, err := cpuSeconds(-1); err == nil {
		t.Error("cpuSeconds(-1) did not fail")
	}
}

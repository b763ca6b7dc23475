package video

import "testing"

// BenchmarkPatternFrame is the test pattern's cost per frame at the call's
// default size (the headless clients' video source).
func BenchmarkPatternFrame(b *testing.B) {
	p, err := NewPattern(320, 240)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if f := p.Frame(n); PatternCounter(f) != n {
			b.Fatalf("frame %d reads as %d", n, PatternCounter(f))
		}
		n++
	}
}

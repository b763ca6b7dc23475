package audio

import (
	"testing"
	"time"
)

// BenchmarkMeterSecond is what metering one second of a call's audio
// costs: 50 frames of 20 ms through a one-second Meter, one Reading.
func BenchmarkMeterSecond(b *testing.B) {
	x := sine(SampleRate, 440, 0.3, 0, SampleRate)
	m := NewMeter(SampleRate, time.Second)
	b.ReportAllocs()
	for b.Loop() {
		for f := 0; f < len(x); f += 960 {
			m.Write(x[f : f+960])
		}
	}
	if r, ok := m.Last(); !ok || r.FrequencyHz < 439 || r.FrequencyHz > 441 {
		b.Fatalf("reading %+v", r)
	}
}

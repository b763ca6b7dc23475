package dsp

import (
	"math"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
)

func tone(t *testing.T, rate int, hz float64, d time.Duration) []int16 {
	t.Helper()
	f := audio.Format{SampleRate: rate, Channels: 1, FrameDuration: d}
	tn, err := audio.NewTone(f, hz, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, f.FrameSamples())
	_ = tn.ReadFrame(pcm)
	return pcm
}

// TestResample: a tone keeps its frequency and level through 22050 ->
// 48000 -> 22050; a tone above the lower rate's Nyquist is removed, not
// folded down.
func TestResample(t *testing.T) {
	in := tone(t, 22050, 1000, time.Second)
	up := Resample(in, 22050, 48000)
	if len(up) != 48000 {
		t.Fatalf("%d samples at 48 kHz, want 48000", len(up))
	}
	body := up[2000 : len(up)-2000]
	if f := audio.DominantFrequency(body, 48000); math.Abs(f-1000) > 2 {
		t.Errorf("up: %.1f Hz, want 1000", f)
	}
	if d := audio.LevelDBFS(body) - audio.LevelDBFS(in); math.Abs(d) > 0.2 {
		t.Errorf("up: level changed by %+.2f dB", d)
	}
	back := Resample(up, 48000, 22050)
	if d := audio.LevelDBFS(back[1000:len(back)-1000]) - audio.LevelDBFS(in); math.Abs(d) > 0.2 {
		t.Errorf("round trip: level changed by %+.2f dB", d)
	}
	hi := tone(t, 48000, 10000, time.Second) // above 8 kHz
	down := Resample(hi, 48000, 16000)
	if l := audio.LevelDBFS(down[500 : len(down)-500]); l > audio.LevelDBFS(hi)-50 {
		t.Errorf("a 10 kHz tone resampled to 16 kHz is at %.1f dBFS: aliased", l)
	}
	if got := Resample(in, 22050, 22050); &got[0] != &in[0] {
		t.Error("same rate copied")
	}
}

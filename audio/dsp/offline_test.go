package dsp

import (
	"errors"
	"math"
	"testing"
	"time"
)

// echoed returns far and what a microphone in a 50 ms room hears of it,
// aligned as a sound card records them, at r Hz.
func echoed(t *testing.T, r int, secs float64) (far, mic []int16) {
	t.Helper()
	n := int(secs * float64(r))
	f, _ := speech(r, n, talker{f0: 120, seed: 9, levelDB: -20}, []span{{0.2, secs - 0.2}})
	far = toInt16(f)
	room, err := NewRoom(RoomConfig{SampleRate: r, Delay: 50 * time.Millisecond, LossDB: 6})
	if err != nil {
		t.Fatal(err)
	}
	mic = make([]int16, n)
	for off := 0; off < n; off += r / 100 {
		end := min(off+r/100, n)
		room.play(far[off:end])
		room.hear(mic[off:end])
	}
	return far, mic
}

// TestProcessSignal: offline processing cancels the echo found in aligned
// signals without being told its delay, at a rate the module takes and at
// one it does not (resampled), and keeps the microphone's length.
func TestProcessSignal(t *testing.T) {
	for _, r := range []int{16000, 22050} {
		far, mic := echoed(t, r, 10)
		cfg, _ := CallConfig(true, false, false)
		out, rep, err := ProcessSignal(cfg, far, mic[:len(mic)-7], r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(mic)-7 || rep.SampleRate != r {
			t.Errorf("%d Hz: %d samples out of %d, report rate %d", r, len(out), len(mic)-7, rep.SampleRate)
		}
		// After 4 s of convergence:
		tail := audioLevelOf(mic[4*r:]) - audioLevelOf(out[4*r:])
		t.Logf("%d Hz (module at %d): reduction %.1f dB after 4 s, %.1f dB overall while the far end talks, module ERLE %v",
			r, rep.ModuleRate, tail, rep.FarTalkReduction, rep.ERLE)
		if tail < 20 {
			t.Errorf("%d Hz: echo reduced by %.1f dB, want >= 20", r, tail)
		}
		if math.IsNaN(rep.FarTalkReduction) || rep.FarTalkReduction < 10 {
			t.Errorf("%d Hz: far-talk reduction %v", r, rep.FarTalkReduction)
		}
	}
	if _, _, err := ProcessSignal(DefaultConfig(), nil, make([]int16, 100), 96000, 0); !errors.Is(err, ErrConfig) {
		t.Errorf("96 kHz: %v, want ErrConfig", err)
	}
	// No far end: NS alone runs, the report says there was no far talk.
	out, rep, err := ProcessSignal(Config{NS: true}, nil, make([]int16, 1234), 8000, 0)
	if err != nil || len(out) != 1234 || !math.IsNaN(rep.FarTalkReduction) {
		t.Errorf("no far end: %d samples, %+v, %v", len(out), rep, err)
	}
}

package dsp

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
)

// TestRoomImpulse: an impulse played comes back after exactly the delay,
// with the reflections behind it, at the configured loss in energy.
func TestRoomImpulse(t *testing.T) {
	r, err := NewRoom(RoomConfig{SampleRate: rate, Delay: 50 * time.Millisecond, LossDB: 6})
	if err != nil {
		t.Fatal(err)
	}
	spk, mic := r.Speaker(nil), r.Microphone(nil)
	frame := make([]int16, 960)
	heard := make([]int16, 0, 10*960)
	for k := range 10 {
		clear(frame)
		if k == 0 {
			frame[0] = 20000
		}
		if err := spk.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := mic.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		heard = append(heard, frame...)
	}
	first := -1
	var energy float64
	for i, v := range heard {
		if v != 0 && first < 0 {
			first = i
		}
		energy += float64(v) * float64(v)
	}
	if first != 2400 {
		t.Errorf("echo starts at sample %d, want 2400 (50 ms)", first)
	}
	if loss := 10 * math.Log10(20000*20000/energy); math.Abs(loss-6) > 0.2 {
		t.Errorf("echo %.2f dB below the impulse, want 6", loss)
	}
	if l, ok := audio.LatencyOf(spk); !ok || l != 50*time.Millisecond {
		t.Errorf("speaker latency %v, want 50ms", l)
	}
}

// TestWrap: through Wrap at the call's 20 ms frames, with the room's
// latency as the delay, the echo is cancelled; pacing passes through.
func TestWrap(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := NewRoom(RoomConfig{SampleRate: rate, Delay: 50 * time.Millisecond, LossDB: 6})
	if err != nil {
		t.Fatal(err)
	}
	in, out := Wrap(p, r.Microphone(audio.Silence{}), r.Speaker(audio.Null{}), nil)
	if audio.IsClocked(in) || audio.IsClocked(out) {
		t.Error("a room over silence and null paces itself?")
	}
	n := 12 * rate
	far, on := speech(rate, n, talker{f0: 120, seed: 7, levelDB: -20}, []span{{0.2, 11.8}})
	farPCM := toInt16(far)
	got := make([]int16, n)
	for off := 0; off+960 <= n; off += 960 {
		if err := out.WriteFrame(farPCM[off : off+960]); err != nil {
			t.Fatal(err)
		}
		if err := in.ReadFrame(got[off : off+960]); err != nil {
			t.Fatal(err)
		}
	}
	w := window{6, 12, on}
	echo := w.level(rate, farPCM, 0) - 6
	erle := echo - w.level(rate, got, 0)
	t.Logf("echo %.1f dBFS, after the wrapped processor %.1f dB less", echo, erle)
	if erle < 20 {
		t.Errorf("ERLE through Wrap %.1f dB, want >= 20", erle)
	}
	if err := in.Close(); err != nil {
		t.Error(err)
	}
	if err := out.Close(); err != nil {
		t.Error(err)
	}
	// The processor is the caller's: still open.
	if err := p.ProcessCapture(make([]int16, 480), 0); err != nil {
		t.Errorf("processor after closing the wrappers: %v", err)
	}
}

// TestWrapWithBadFrames: frames the module cannot take pass through
// unprocessed rather than failing the call's audio.
func TestWrapWithBadFrames(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tone, err := audio.NewTone(audio.Format{SampleRate: rate, Channels: 1, FrameDuration: 10 * time.Millisecond}, 440, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	in, out := Wrap(p, tone, audio.Null{}, nil)
	odd := make([]int16, 500)
	if err := in.ReadFrame(odd); err != nil {
		t.Errorf("ReadFrame of 500 samples: %v", err)
	}
	if audio.LevelDBFS(odd) < -10 {
		t.Errorf("the tone did not pass through: %.1f dBFS", audio.LevelDBFS(odd))
	}
	if err := out.WriteFrame(odd); err != nil {
		t.Errorf("WriteFrame of 500 samples: %v", err)
	}
}

// latent is a stand-in device that reports a latency the test sets
// (negative: "not known", as a switch says of a tone).
type latent struct {
	audio.Input
	audio.Output
	d atomic.Int64
}

func newLatent(d time.Duration) *latent {
	l := &latent{Input: audio.Silence{}, Output: audio.Null{}}
	l.d.Store(int64(d))
	return l
}

func (l *latent) Latency() time.Duration { return time.Duration(l.d.Load()) }
func (l *latent) Close() error           { return nil }

// TestWrapTellsTheDevicesLatency: every captured frame goes to the module
// with the speaker's plus the microphone's latency as they are at that
// frame; one of them when the other is not known; the default when
// neither is.
func TestWrapTellsTheDevicesLatency(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	spk, mic := newLatent(60*time.Millisecond), newLatent(20*time.Millisecond)
	in, out := Wrap(p, mic, spk, nil)
	frame := make([]int16, 960)
	step := func(want time.Duration, what string) {
		t.Helper()
		if err := out.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := in.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		if got := p.Stats().StreamDelay; got != want {
			t.Errorf("%s: the module was given %v, want %v", what, got, want)
		}
	}
	step(80*time.Millisecond, "speaker 60 ms + microphone 20 ms")
	spk.d.Store(int64(140 * time.Millisecond)) // the speaker's queue filled up
	step(160*time.Millisecond, "speaker 140 ms + microphone 20 ms")
	mic.d.Store(-1) // switched to a microphone that does not know
	step(140*time.Millisecond, "speaker 140 ms, microphone unknown")
	spk.d.Store(-1)
	step(DefaultDeviceDelay, "neither known")
	spk.d.Store(int64(time.Second))
	step(500*time.Millisecond, "a second: the module's limit")

	in, _ = Wrap(p, audio.Silence{}, audio.Null{}, nil)
	if err := in.ReadFrame(frame); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().StreamDelay; got != DefaultDeviceDelay {
		t.Errorf("devices without Latency: the module was given %v, want %v", got, DefaultDeviceDelay)
	}
}

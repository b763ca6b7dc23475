package media

import (
	"errors"
	"testing"
	"time"

	"github.com/gen2brain/malgo"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/audio/dsp"
)

// fixedLatency is a stand-in speaker and microphone with a set latency.
type fixedLatency struct {
	audio.Silence
	audio.Null
	d time.Duration
}

func (f fixedLatency) Latency() time.Duration { return f.d }
func (f fixedLatency) Close() error           { return nil }

// failing is a speaker whose writes fail.
type failing struct{ audio.Null }

func (failing) WriteFrame([]int16) error { return errors.New("unplugged") }

// TestAudioSwitchesReportTheDevicesLatency: a switch passes on its
// current device's latency, a real (null-backend) device's included, and
// after a switch, or a failed speaker's replacement, the new one's; the
// echo canceller behind the switches is given their sum.
func TestAudioSwitchesReportTheDevicesLatency(t *testing.T) {
	f := audio.DefaultFormat()
	cfg := device.Config{Backends: []malgo.Backend{device.NullBackend}}
	spk, err := device.OpenPlayback(cfg, "", f)
	if err != nil {
		t.Skipf("no null-backend speaker here: %v", err)
	}
	mic, err := device.OpenCapture(cfg, "", f)
	if err != nil {
		_ = spk.Close()
		t.Skipf("no null-backend microphone here: %v", err)
	}
	out := NewAudioOutSwitch(spk, func(error) audio.Output { return fixedLatency{d: 35 * time.Millisecond} })
	defer out.Close()
	in := NewAudioInSwitch(mic, f.FrameDuration)
	defer in.Close()

	if l := out.Latency(); l < 40*time.Millisecond || l > 200*time.Millisecond {
		t.Errorf("speaker switch reports %v, want the null device's buffer (~60 ms)", l)
	}
	if l, ok := audio.LatencyOf(in); !ok || l <= 0 || l > 200*time.Millisecond {
		t.Errorf("microphone switch reports %v (%v), want the null device's period and ring", l, ok)
	}

	p, err := dsp.New(dsp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	win, wout := dsp.Wrap(p, in, out, nil)
	frame := make([]int16, f.FrameSamples())
	step := func() time.Duration {
		t.Helper()
		if err := wout.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := win.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		return p.Stats().StreamDelay
	}
	if d := step(); d < 60*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("through the switches the module was given %v, want the null speaker's and microphone's sum", d)
	}

	out.Swap(fixedLatency{d: 120 * time.Millisecond})
	in.Swap(fixedLatency{d: 10 * time.Millisecond})
	if l := out.Latency(); l != 120*time.Millisecond {
		t.Errorf("after a switch the speaker reports %v, want the new one's 120ms", l)
	}
	if d := step(); d != 130*time.Millisecond {
		t.Errorf("after a switch the module was given %v, want 120 + 10 ms", d)
	}

	in.Swap(audio.Silence{}) // a stand-in with no latency
	if l := in.Latency(); l >= 0 {
		t.Errorf("a microphone switched to silence reports %v, want unknown (< 0)", l)
	}
	if d := step(); d != 120*time.Millisecond {
		t.Errorf("with the microphone unknown the module was given %v, want the speaker's 120ms", d)
	}

	out.Swap(failing{})
	for range FailedWrites {
		_ = out.WriteFrame(frame)
	}
	if l := out.Latency(); l != 35*time.Millisecond {
		t.Errorf("after the speaker failed the switch reports %v, want its replacement's 35ms", l)
	}
}

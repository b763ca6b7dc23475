package client

import (
	"log/slog"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
)

// clockedSilence stands in for a real microphone and speaker: it paces
// itself, as devices do.
type clockedSilence struct {
	audio.Silence
	audio.Null
}

func (clockedSilence) Clocked() bool { return true }
func (clockedSilence) Close() error  { return nil }

// TestProcessAudioDefaults: processing is on by default only with real
// (clocked) devices; a flag forces it either way.
func TestProcessAudioDefaults(t *testing.T) {
	f := audio.DefaultFormat()
	yes, no := true, false
	tone, err := audio.NewTone(f, 440, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	dev := clockedSilence{}
	for _, tc := range []struct {
		name    string
		s       MediaSpec
		in      audio.Input
		out     audio.Output
		wrapped bool
	}{
		{"tone and null", MediaSpec{}, tone, audio.Null{}, false},
		{"tone and null, --aec", MediaSpec{AEC: &yes}, tone, audio.Null{}, true},
		{"devices", MediaSpec{}, dev, dev, true},
		{"devices, all off", MediaSpec{AEC: &no, NS: &no, AGC: &no}, dev, dev, false},
		{"devices, --ns=false", MediaSpec{NS: &no}, dev, dev, true},
	} {
		p := &mediaParts{}
		in, out, err := p.processAudio(tc.s, f, tc.in, tc.out, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wrapped := in != tc.in || out != tc.out
		if wrapped != tc.wrapped || len(p.closers) != map[bool]int{true: 1, false: 0}[tc.wrapped] {
			t.Errorf("%s: wrapped %v with %d closers, want %v", tc.name, wrapped, len(p.closers), tc.wrapped)
		}
		if audio.IsClocked(in) != audio.IsClocked(tc.in) || audio.IsClocked(out) != audio.IsClocked(tc.out) {
			t.Errorf("%s: the wrappers changed who paces the audio", tc.name)
		}
		if err := p.close(); err != nil {
			t.Errorf("%s: close: %v", tc.name, err)
		}
	}
}

// TestEchoPath: with --echo-path and no processing, what is played comes
// back in the microphone after the room's delay.
func TestEchoPath(t *testing.T) {
	f := audio.DefaultFormat()
	no := false
	p := &mediaParts{}
	in, out, err := p.processAudio(MediaSpec{EchoPath: 40 * time.Millisecond, AEC: &no, NS: &no, AGC: &no},
		f, audio.Silence{}, audio.Null{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tone, _ := audio.NewTone(f, 1000, 0.5)
	frame := make([]int16, f.FrameSamples())
	var levels []float64
	for range 4 {
		_ = tone.ReadFrame(frame)
		if err := out.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := in.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, audio.LevelDBFS(frame))
	}
	// 20 ms frames, 40 ms of delay: two silent frames, then the echo below
	// the tone's -9 dBFS (6 dB of loss for broadband sound; a single tone
	// meets the room's comb of reflections).
	if levels[0] > audio.SilenceDBFS || levels[1] > audio.SilenceDBFS || levels[3] < -30 || levels[3] > -10 {
		t.Errorf("microphone levels %v dBFS, want silence twice, then the echo at -30..-10", levels)
	}
	if _, _, err := p.processAudio(MediaSpec{EchoPath: 2 * time.Second}, f, audio.Silence{}, audio.Null{}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("an echo path of 2s accepted")
	}
}

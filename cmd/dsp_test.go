package cmd

import (
	"bytes"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/dsp"
)

// voice is a speech-like test signal: a buzz of harmonics of a gliding
// pitch in syllables of about 200 ms, at rate Hz.
func voice(rate int, secs float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	n := int(secs * float64(rate))
	out := make([]int16, n)
	var phase float64
	for start := rate / 5; start < n; {
		l := rate/8 + rng.IntN(rate/6)
		f0 := 100 + 80*rng.Float64()
		for i := start; i < min(start+l, n); i++ {
			x := float64(i-start) / float64(l)
			phase += 2 * math.Pi * f0 * (1 + 0.1*x) / float64(rate)
			var s float64
			for k := 1; k <= 12; k++ {
				s += math.Sin(float64(k)*phase) / float64(k)
			}
			out[i] = int16(3000 * s * math.Pow(math.Sin(math.Pi*x), 2))
		}
		start += l + rate/20 + rng.IntN(rate/15)
	}
	return out
}

func writeWAV(t *testing.T, path string, rate int, pcm []int16) {
	t.Helper()
	w, err := audio.CreateWAV(path, audio.Format{SampleRate: rate, Channels: 1, FrameDuration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// roomEcho is what a microphone in a 50 ms room records of far, aligned
// with it as a sound card records.
func roomEcho(t *testing.T, rate int, far []int16) []int16 {
	t.Helper()
	room, err := dsp.NewRoom(dsp.RoomConfig{SampleRate: rate, Delay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	spk, mic := room.Speaker(nil), room.Microphone(nil)
	out := make([]int16, len(far))
	step := rate / 100
	for off := 0; off < len(far); off += step {
		end := min(off+step, len(far))
		_ = spk.WriteFrame(far[off:end])
		_ = mic.ReadFrame(out[off:end])
	}
	return out
}

func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := Root()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestDSPCommand: `termcall dsp` takes the echo out of a microphone
// recording at a rate the module takes and at one it does not, writes a
// file of the microphone's rate and length, and --report says so.
func TestDSPCommand(t *testing.T) {
	dir := t.TempDir()
	for _, rate := range []int{16000, 22050} {
		far := voice(rate, 8, 1)
		mic := roomEcho(t, rate, far)
		farPath, micPath := filepath.Join(dir, "far.wav"), filepath.Join(dir, "mic.wav")
		outPath := filepath.Join(dir, "out.wav")
		writeWAV(t, farPath, rate, far)
		writeWAV(t, micPath, rate, mic)
		report, err := runRoot(t, "dsp", "--far", farPath, "--mic", micPath, "--out", outPath, "--report")
		if err != nil {
			t.Fatalf("%d Hz: %v\n%s", rate, err, report)
		}
		got, gotRate, err := audio.ReadWAV(outPath)
		if err != nil {
			t.Fatal(err)
		}
		if gotRate != rate || len(got) != len(mic) {
			t.Fatalf("%d Hz: out.wav is %d samples at %d Hz, want %d at %d", rate, len(got), gotRate, len(mic), rate)
		}
		after := 3 * rate // converged
		cut := audio.LevelDBFS(mic[after:]) - audio.LevelDBFS(got[after:])
		t.Logf("%d Hz: echo %.1f dB weaker after 3 s; report:\n%s", rate, cut, report)
		if cut < 20 {
			t.Errorf("%d Hz: echo only %.1f dB weaker", rate, cut)
		}
		for _, want := range []string{"aec=true ns=true agc=true", "far ", "mic ", "out ", "ERLE ", "echo delay estimate"} {
			if !strings.Contains(report, want) {
				t.Errorf("%d Hz: report lacks %q:\n%s", rate, want, report)
			}
		}
		// Everything off: the output is the microphone.
		if _, err := runRoot(t, "dsp", "--far", farPath, "--mic", micPath, "--out", outPath, "--aec=false", "--ns=false", "--agc=false"); err != nil {
			t.Fatal(err)
		}
		got, _, _ = audio.ReadWAV(outPath)
		if !equal(got, mic) {
			t.Errorf("%d Hz: with everything off the output differs from the microphone", rate)
		}
	}
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDSPCommandErrors: files that cannot be processed are errors naming
// the flag, not crashes.
func TestDSPCommandErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeWAV(t, p("m16.wav"), 16000, voice(16000, 1, 2))
	writeWAV(t, p("f8.wav"), 8000, voice(8000, 1, 3))
	writeWAV(t, p("m96.wav"), 96000, voice(96000, 1, 4))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mic", p("none.wav"), "--out", p("o.wav")}, "--mic"},
		{[]string{"--mic", p("m16.wav"), "--far", p("f8.wav"), "--out", p("o.wav")}, "8000 Hz"},
		{[]string{"--mic", p("m96.wav"), "--out", p("o.wav")}, "96000"},
		{[]string{"--mic", p("m16.wav"), "--out", filepath.Join(dir, "no", "dir", "o.wav")}, "--out"},
		{[]string{"--mic", p("m16.wav")}, "out"},
	} {
		out, err := runRoot(t, append([]string{"dsp"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dsp %v: %v (output %q), want an error mentioning %q", tc.args, err, out, tc.want)
		}
	}
}

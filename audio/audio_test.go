package audio

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func sine(n int, hz, amp, phase float64, rate int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)+phase))
	}
	return out
}

func TestLevelDBFS(t *testing.T) {
	if got := LevelDBFS(make([]int16, 960)); got != SilenceDBFS {
		t.Errorf("silence: %v, want %v", got, SilenceDBFS)
	}
	if got := LevelDBFS(nil); got != SilenceDBFS {
		t.Errorf("empty: %v", got)
	}
	sq := make([]int16, 960)
	for i := range sq {
		sq[i] = 32767
		if i%2 == 1 {
			sq[i] = -32768
		}
	}
	if got := LevelDBFS(sq); math.Abs(got) > 0.01 {
		t.Errorf("full-scale square: %.3f dBFS, want 0", got)
	}
	// A sine at half scale: 20*log10(0.5/√2) = -9.03 dBFS.
	if got := LevelDBFS(sine(4800, 440, 0.5, 0, SampleRate)); math.Abs(got+9.03) > 0.05 {
		t.Errorf("half-scale sine: %.3f dBFS, want -9.03", got)
	}
}

func TestDominantFrequency(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hz := range []float64{100, 440, 441.7, 880, 1000, 3150.7, 12000} {
		for _, dur := range []int{4800, 48000} { // 100 ms and 1 s
			x := sine(dur, hz, 0.3, rng.Float64()*2*math.Pi, SampleRate)
			got := DominantFrequency(x, SampleRate)
			if err := math.Abs(got-hz) / hz; err > 0.005 {
				t.Errorf("%.1f Hz over %d samples: got %.3f (%.3f %% off)", hz, dur, got, 100*err)
			}
		}
	}
	// With noise 20 dB below the tone.
	x := sine(4800, 440, 0.3, 0.4, SampleRate)
	for i := range x {
		x[i] += int16(rng.NormFloat64() * 0.03 * 32767 / math.Sqrt2)
	}
	if got := DominantFrequency(x, SampleRate); math.Abs(got-440)/440 > 0.005 {
		t.Errorf("noisy 440 Hz: got %.2f", got)
	}
	if got := DominantFrequency(make([]int16, 4800), SampleRate); got != 0 {
		t.Errorf("silence: %v, want 0", got)
	}
	if got := DominantFrequency([]int16{1, 2, 3}, SampleRate); got != 0 {
		t.Errorf("3 samples: %v, want 0", got)
	}
}

func TestTonePhaseContinuous(t *testing.T) {
	tone, err := NewTone(DefaultFormat(), 1000, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	frame := make([]int16, 960)
	for range 10 {
		if err := tone.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		all = append(all, frame...)
	}
	want := sine(len(all), 1000, 0.5, 0, SampleRate)
	for i := range all {
		if d := int(all[i]) - int(want[i]); d > 2 || d < -2 {
			t.Fatalf("sample %d = %d, continuous sine has %d", i, all[i], want[i])
		}
	}
	if _, err := NewTone(DefaultFormat(), 30000, 0.5); !errors.Is(err, ErrBadSpec) {
		t.Errorf("30 kHz tone: %v", err)
	}
	if _, err := NewTone(DefaultFormat(), 440, 2); !errors.Is(err, ErrBadSpec) {
		t.Errorf("amplitude 2: %v", err)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	f := DefaultFormat()
	w, err := CreateWAV(path, f)
	if err != nil {
		t.Fatal(err)
	}
	tone, _ := NewTone(f, 440, 0.5)
	var written []int16
	frame := make([]int16, f.FrameSamples())
	for range 50 {
		_ = tone.ReadFrame(frame)
		if err := w.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		written = append(written, frame...)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(frame); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 44+2*48000 {
		t.Fatalf("file is %d bytes, want %d", len(raw), 44+2*48000)
	}
	if got := binary.LittleEndian.Uint32(raw[40:]); got != 96000 {
		t.Errorf("data size in header %d, want 96000", got)
	}
	if got := binary.LittleEndian.Uint32(raw[4:]); got != 96036 {
		t.Errorf("RIFF size in header %d, want 96036", got)
	}

	r, err := OpenWAV(path, f, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var read []int16
	for {
		err := r.ReadFrame(frame)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, frame...)
	}
	if len(read) != len(written) {
		t.Fatalf("read %d samples, wrote %d", len(read), len(written))
	}
	for i := range read {
		if read[i] != written[i] {
			t.Fatalf("sample %d: read %d, wrote %d", i, read[i], written[i])
		}
	}
}

// writeRawWAV writes a WAV with arbitrary rate and channels, plus a LIST
// chunk before the data to exercise chunk skipping.
func writeRawWAV(t *testing.T, path string, rate, channels int, frames [][]int16) {
	t.Helper()
	var data []byte
	for _, fr := range frames {
		for _, s := range fr {
			data = binary.LittleEndian.AppendUint16(data, uint16(s))
		}
	}
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(4+24+8+3+1+8+len(data)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "LIST"...)
	b = binary.LittleEndian.AppendUint32(b, 3) // odd size: padded
	b = append(b, 'a', 'b', 'c', 0)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWAVStereoResampleLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "st.wav")
	// 0.5 s of 16 kHz stereo: 440 Hz left, 440 Hz right at different levels.
	l := sine(8000, 440, 0.4, 0, 16000)
	r := sine(8000, 440, 0.2, 0, 16000)
	inter := make([]int16, 0, 16000)
	for i := range l {
		inter = append(inter, l[i], r[i])
	}
	writeRawWAV(t, path, 16000, 2, [][]int16{inter})
	w, err := OpenWAV(path, DefaultFormat(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var got []int16
	frame := make([]int16, 960)
	for range 60 { // 1.2 s: loops past the 0.5 s file twice
		if err := w.ReadFrame(frame); err != nil {
			t.Fatalf("looping reader: %v", err)
		}
		got = append(got, frame...)
	}
	first := got[:24000]
	if hz := DominantFrequency(first, SampleRate); math.Abs(hz-440)/440 > 0.005 {
		t.Errorf("resampled tone at %.2f Hz, want 440", hz)
	}
	// Downmix is the mean: amplitude 0.3 → -13.5 dBFS.
	if lvl := LevelDBFS(first); math.Abs(lvl+13.5) > 0.3 {
		t.Errorf("downmixed level %.2f dBFS, want -13.5", lvl)
	}
	if lvl := LevelDBFS(got[48000:]); lvl < -15 {
		t.Errorf("after looping the level is %.1f dBFS; the loop should keep playing", lvl)
	}
}

func TestWAVErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	_ = os.WriteFile(bad, []byte("this is not a wav file at all"), 0o600)
	eight := filepath.Join(dir, "eight.wav")
	writeRawWAV(t, eight, 8000, 1, nil)
	raw, _ := os.ReadFile(eight)
	binary.LittleEndian.PutUint16(raw[34:], 8) // bits per sample
	_ = os.WriteFile(eight, raw, 0o600)
	for _, tc := range []struct{ path, want string }{
		{bad, "not a RIFF/WAVE"},
		{eight, "8-bit"},
		{filepath.Join(dir, "missing.wav"), "no such file"},
	} {
		_, err := OpenWAV(tc.path, DefaultFormat(), false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenWAV(%s) = %v, want error containing %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

type fakeDevices struct{ name string }

func (f *fakeDevices) OpenCapture(name string, _ Format) (Input, error) {
	f.name = name
	return Silence{}, nil
}

func (f *fakeDevices) OpenPlayback(name string, _ Format) (Output, error) {
	f.name = name
	return Null{}, nil
}

func TestParseInputOutput(t *testing.T) {
	dir := t.TempDir()
	wavPath := filepath.Join(dir, "in.wav")
	writeRawWAV(t, wavPath, 48000, 1, [][]int16{sine(960, 440, 0.5, 0, SampleRate)})

	in, err := ParseInput("tone:880", Options{})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 4800)
	_ = in.ReadFrame(frame)
	if hz := DominantFrequency(frame, SampleRate); math.Abs(hz-880) > 4 {
		t.Errorf("tone:880 plays %.1f Hz", hz)
	}
	_ = in.Close()
	for _, spec := range []string{"tone", "silence", "wav:" + wavPath} {
		in, err := ParseInput(spec, Options{})
		if err != nil {
			t.Errorf("ParseInput(%q): %v", spec, err)
			continue
		}
		if err := in.ReadFrame(make([]int16, 960)); err != nil {
			t.Errorf("%q ReadFrame: %v", spec, err)
		}
		_ = in.Close()
	}
	out, err := ParseOutput("wav:"+filepath.Join(dir, "out.wav"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = out.Close()
	if out, err := ParseOutput("null", Options{}); err != nil || out.WriteFrame(make([]int16, 960)) != nil {
		t.Errorf("null: %v", err)
	}

	devs := &fakeDevices{}
	if _, err := ParseInput("mic:USB", Options{Devices: devs}); err != nil || devs.name != "USB" {
		t.Errorf("mic:USB opened %q, %v", devs.name, err)
	}
	if _, err := ParseOutput("speaker", Options{Devices: devs}); err != nil || devs.name != "" {
		t.Errorf("speaker opened %q, %v", devs.name, err)
	}

	for _, tc := range []struct {
		spec, want string
		err        error
	}{
		{"tone:abc", "tone frequency must be a number", ErrBadSpec},
		{"tone:0", "e.g. tone:440", ErrBadSpec},
		{"tone:30000", "between 0 and 24000", ErrBadSpec},
		{"wav:", "give a file", ErrBadSpec},
		{"wav:" + filepath.Join(dir, "nope.wav"), "--audio-in wav:", nil},
		{"silence:3", "takes no argument", ErrBadSpec},
		{"microphone", "want tone:HZ | wav:FILE | mic[:DEVICE] | silence", ErrBadSpec},
		{"", "--audio-in", ErrBadSpec},
		{"mic", "use --audio-in tone:440 or wav:FILE", ErrNoDevices},
	} {
		_, err := ParseInput(tc.spec, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("ParseInput(%q) = %v, want %v containing %q", tc.spec, err, tc.err, tc.want)
		}
	}
	for _, tc := range []struct {
		spec, want string
		err        error
	}{
		{"wav:", "give a file", ErrBadSpec},
		{"wav:" + filepath.Join(dir, "no", "such", "dir.wav"), "--audio-out wav:", nil},
		{"null:x", "takes no argument", ErrBadSpec},
		{"speakers", "want wav:FILE | speaker[:DEVICE] | null", ErrBadSpec},
		{"speaker:hdmi", "use --audio-out wav:FILE or null", ErrNoDevices},
	} {
		_, err := ParseOutput(tc.spec, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("ParseOutput(%q) = %v, want %v containing %q", tc.spec, err, tc.err, tc.want)
		}
	}
}

func TestMeter(t *testing.T) {
	m := NewMeter(SampleRate, time.Second)
	if _, ok := m.Last(); ok {
		t.Fatal("reading before any window")
	}
	tone, _ := NewTone(DefaultFormat(), 440, 0.5)
	frame := make([]int16, 960)
	var readings []Reading
	for range 75 { // 1.5 s
		_ = tone.ReadFrame(frame)
		if r, ok := m.Write(frame); ok {
			readings = append(readings, r)
		}
	}
	if len(readings) != 1 {
		t.Fatalf("%d readings over 1.5 s with a 1 s window, want 1", len(readings))
	}
	r := readings[0]
	if math.Abs(r.FrequencyHz-440)/440 > 0.005 || math.Abs(r.LevelDBFS+9.03) > 0.1 || r.Samples != 48000 {
		t.Errorf("reading %+v, want 440 Hz at -9.03 dBFS over 48000 samples", r)
	}
	if r.Volume != 85 {
		t.Errorf("volume %d for -9 dBFS, want 85", r.Volume)
	}
	// Half tone, half silence: 3 dB below the tone.
	var mixed Reading
	for range 25 {
		if r, ok := m.Write(make([]int16, 960)); ok {
			mixed = r
		}
	}
	if math.Abs(mixed.LevelDBFS+12.04) > 0.1 || math.Abs(mixed.FrequencyHz-440) > 0.05 {
		t.Errorf("half-silent window: %+v, want -12.04 dBFS and the tone's 440 Hz", mixed)
	}
	for range 50 {
		m.Write(make([]int16, 960))
	}
	if last, _ := m.Last(); last.Volume != 0 || last.LevelDBFS != SilenceDBFS || last.FrequencyHz != 0 {
		t.Errorf("silent window: %+v", last)
	}
	if VolumeFromDBFS(0) != 100 || VolumeFromDBFS(-70) != 0 || VolumeFromDBFS(-30) != 50 {
		t.Error("VolumeFromDBFS mapping")
	}
}

// The frequency is the end's: a window that changes tone reports the
// tone it ends with, accurate to well under 1 Hz (the e2e tests ask for
// 440 ± 1 Hz through the codec).
func TestMeterFrequencyOfTheEnd(t *testing.T) {
	m := NewMeter(SampleRate, time.Second)
	x := append(sine(SampleRate/2, 880, 0.3, 0, SampleRate), sine(SampleRate/2, 440.4, 0.3, 0, SampleRate)...)
	var got Reading
	for f := 0; f < len(x); f += 960 {
		if r, ok := m.Write(x[f : f+960]); ok {
			got = r
		}
	}
	if math.Abs(got.FrequencyHz-440.4) > 0.05 {
		t.Errorf("880 Hz then 440.4 Hz: reading %.3f Hz, want 440.4", got.FrequencyHz)
	}
}

func TestFormat(t *testing.T) {
	f := DefaultFormat()
	if f.FrameSamples() != 960 || f.Validate() != nil {
		t.Errorf("default format %+v: %d samples, %v", f, f.FrameSamples(), f.Validate())
	}
	f.FrameDuration = 10 * time.Millisecond
	if f.FrameSamples() != 480 || f.Validate() != nil {
		t.Error("10 ms format")
	}
	f.FrameDuration = 15 * time.Millisecond
	if !errors.Is(f.Validate(), ErrFrameSize) {
		t.Error("15 ms accepted")
	}
	if IsClocked(Silence{}) {
		t.Error("Silence claims to be clocked")
	}
}

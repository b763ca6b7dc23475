package client

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/video/camera"
)

// reports records what the devices tell the engine.
type reports struct {
	mu     sync.Mutex
	silent []bool
	failed []callcore.DeviceFallback
	errs   []error
}

func (r *reports) MicSilent(s bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.silent = append(r.silent, s)
}

func (r *reports) DeviceFailed(kind callcore.DeviceKind, from, to string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, callcore.DeviceFallback{Kind: kind, From: from, To: to})
	r.errs = append(r.errs, err)
}

// build opens the media of spec with a sound card and cameras that list
// what the test says (none by default).
func build(t *testing.T, spec MediaSpec) (*mediaParts, *devices, *reports) {
	t.Helper()
	p, err := buildMedia(spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.close() })
	d := p.devices
	d.listAudio = func(bool) ([]device.Info, error) { return nil, errors.New("no sound card") }
	d.listCameras = func() ([]camera.Info, error) { return nil, nil }
	r := &reports{}
	d.SetDeviceReporter(r)
	return p, d, r
}

func ids(l []callcore.DeviceInfo) []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = d.ID
	}
	return out
}

func defaultOf(l []callcore.DeviceInfo) string {
	for _, d := range l {
		if d.Default {
			return d.ID
		}
	}
	return ""
}

func TestDevicesListRealDevicesThenStandIns(t *testing.T) {
	_, d, _ := build(t, MediaSpec{AudioIn: "tone:440", AudioOut: "null", VideoIn: "pattern"})

	mics, err := d.ListDevices(callcore.DeviceMicrophone)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(mics), []string{"tone:440", "silence"}; !slices.Equal(got, want) {
		t.Errorf("microphones without a sound card = %v, want %v", got, want)
	}
	if defaultOf(mics) != "tone:440" {
		t.Errorf("default microphone %q, want the one the client started with", defaultOf(mics))
	}

	d.listAudio = func(capture bool) ([]device.Info, error) {
		if !capture {
			return []device.Info{{Name: "HDA Intel", IsDefault: true}}, nil
		}
		return []device.Info{{Name: "HDA Intel"}, {Name: "USB headset", IsDefault: true}}, nil
	}
	d.listCameras = func() ([]camera.Info, error) {
		return []camera.Info{{Path: "/dev/video0", Label: "Integrated Camera"}}, nil
	}
	all := map[callcore.DeviceKind][]string{
		callcore.DeviceMicrophone: {"mic:HDA Intel", "mic:USB headset", "tone:440", "silence"},
		callcore.DeviceSpeaker:    {"speaker:HDA Intel", "null"},
		callcore.DeviceCamera:     {"camera:/dev/video0", "pattern", "pattern:busy"},
	}
	for kind, want := range all {
		l, err := d.ListDevices(kind)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(l), want) {
			t.Errorf("%s = %v, want %v", kind, ids(l), want)
		}
	}
	mics, _ = d.ListDevices(callcore.DeviceMicrophone)
	if defaultOf(mics) != "mic:USB headset" || mics[1].Label != "USB headset" {
		t.Errorf("with a sound card the default microphone is %q (%+v), want the system's", defaultOf(mics), mics)
	}
	cams, _ := d.ListDevices(callcore.DeviceCamera)
	if cams[0].Label != "Integrated Camera" {
		t.Errorf("camera label %q", cams[0].Label)
	}
}

// frequencyOf reads a second of src and returns its dominant frequency.
func frequencyOf(t *testing.T, src audio.Source) float64 {
	t.Helper()
	f := audio.DefaultFormat()
	var all []int16
	pcm := make([]int16, f.FrameSamples())
	for range 50 {
		if err := src.ReadFrame(pcm); err != nil {
			t.Fatal(err)
		}
		all = append(all, pcm...)
	}
	return audio.DominantFrequency(all, f.SampleRate)
}

func TestDevicesSwitchMicrophoneAndErrors(t *testing.T) {
	_, d, _ := build(t, MediaSpec{AudioIn: "tone:440", AudioOut: "null", VideoIn: "none"})
	if hz := frequencyOf(t, d.mic); math.Abs(hz-440) > 5 {
		t.Fatalf("before the switch the microphone gives %.0f Hz", hz)
	}
	if err := d.SwitchDevice(callcore.DeviceMicrophone, "tone:660"); err != nil {
		t.Fatal(err)
	}
	if hz := frequencyOf(t, d.mic); math.Abs(hz-660) > 5 {
		t.Errorf("after the switch the microphone gives %.0f Hz, want 660", hz)
	}
	if got := d.CurrentDevice(callcore.DeviceMicrophone); got != "tone:660" {
		t.Errorf("current microphone %q", got)
	}
	mics, _ := d.ListDevices(callcore.DeviceMicrophone)
	if !slices.Contains(ids(mics), "tone:660") {
		t.Errorf("microphones %v lack the one switched to", ids(mics))
	}

	for _, c := range []struct {
		kind callcore.DeviceKind
		id   string
		want error
	}{
		{callcore.DeviceMicrophone, "pattern", callcore.ErrInvalidArgument},
		{callcore.DeviceMicrophone, "wav:" + filepath.Join(t.TempDir(), "missing.wav"), callcore.ErrInvalidArgument},
		{callcore.DeviceSpeaker, "tone:440", callcore.ErrInvalidArgument},
		{callcore.DeviceCamera, "pattern", callcore.ErrWrongState}, // started with --video-in none
	} {
		if err := d.SwitchDevice(c.kind, c.id); !errors.Is(err, c.want) {
			t.Errorf("SwitchDevice(%s, %q) = %v, want %v", c.kind, c.id, err, c.want)
		}
	}
	// A failed switch leaves the device in use.
	if hz := frequencyOf(t, d.mic); math.Abs(hz-660) > 5 {
		t.Errorf("after failed switches the microphone gives %.0f Hz, want 660 still", hz)
	}
}

// failingSpeaker plays some frames, then every write fails, as a USB
// speaker pulled out mid-call does.
type failingSpeaker struct {
	mu     sync.Mutex
	left   int
	closed bool
}

func (f *failingSpeaker) WriteFrame([]int16) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left == 0 {
		return errors.New("device unplugged")
	}
	f.left--
	return nil
}

func (f *failingSpeaker) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func TestDevicesFailingSpeakerFallsBackAndIsReported(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.wav")
	_, d, r := build(t, MediaSpec{AudioIn: "silence", AudioOut: "wav:" + out, VideoIn: "none"})
	bad := &failingSpeaker{left: 5}
	d.spk.Swap(bad)
	d.use(callcore.DeviceSpeaker, "speaker:USB", false)

	f := audio.DefaultFormat()
	tone, err := audio.NewTone(f, 440, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, f.FrameSamples())
	var errs int
	for range 5 + 100 {
		if err := tone.ReadFrame(pcm); err != nil {
			t.Fatal(err)
		}
		if err := d.spk.WriteFrame(pcm); err != nil {
			errs++
		}
	}
	// The playout saw errors only until the speaker counted as failed.
	if errs != 2 {
		t.Errorf("%d writes failed, want %d (then the fallback plays)", errs, 2)
	}
	r.mu.Lock()
	failed := slices.Clone(r.failed)
	r.mu.Unlock()
	want := []callcore.DeviceFallback{{Kind: callcore.DeviceSpeaker, From: "speaker:USB", To: "wav:" + out}}
	if !slices.Equal(failed, want) {
		t.Fatalf("reported %+v, want %+v", failed, want)
	}
	if got := d.CurrentDevice(callcore.DeviceSpeaker); got != "wav:"+out {
		t.Errorf("current speaker %q", got)
	}
	bad.mu.Lock()
	closed := bad.closed
	bad.mu.Unlock()
	if !closed {
		t.Error("the failed speaker was not closed")
	}
	// What played after the failure reached the default (the recording).
	if err := d.spk.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := audio.ReadWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got) / f.FrameSamples(); n != 100-media.FailedWrites {
		t.Errorf("the fallback speaker got %d frames, want %d", n, 100-media.FailedWrites)
	}
	if hz := audio.DominantFrequency(got, f.SampleRate); math.Abs(hz-440) > 5 {
		t.Errorf("the fallback speaker played %.0f Hz", hz)
	}
}

// zerosThenTone is a microphone that is silent for n frames, then not.
type zerosThenTone struct {
	n    int
	tone *audio.Tone
}

func (z *zerosThenTone) ReadFrame(pcm []int16) error {
	if z.n > 0 {
		z.n--
		clear(pcm)
		return nil
	}
	return z.tone.ReadFrame(pcm)
}

func (z *zerosThenTone) Close() error { return nil }

func TestSilenceWatchCountsAudioTime(t *testing.T) {
	f := audio.DefaultFormat()
	tone, err := audio.NewTone(f, 440, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	perSecond := int(1e9 / f.FrameDuration.Nanoseconds())
	w := &silenceWatch{in: &zerosThenTone{n: 4 * perSecond, tone: tone}, format: f, report: func(s bool) { got = append(got, s) }}
	pcm := make([]int16, f.FrameSamples())
	frames := int(callcore.SilentMicAfter / f.FrameDuration)
	for i := range 5 * perSecond {
		if err := w.ReadFrame(pcm); err != nil {
			t.Fatal(err)
		}
		switch {
		case i == frames-2 && len(got) != 0:
			t.Fatalf("reported %v before %v of silence", got, callcore.SilentMicAfter)
		case i == frames-1 && !slices.Equal(got, []bool{true}):
			t.Fatalf("after %v of silence reported %v, want [true]", callcore.SilentMicAfter, got)
		}
	}
	if !slices.Equal(got, []bool{true, false}) {
		t.Errorf("reported %v, want [true false] (silent, then sound)", got)
	}
}

// Guard against io.EOF being passed up by a file microphone: the switch
// turns it into silence so that a later switch still reaches the call.
func TestMicSwitchEndOfFileIsSilence(t *testing.T) {
	f := audio.DefaultFormat()
	path := filepath.Join(t.TempDir(), "short.wav")
	w, err := audio.CreateWAV(path, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(make([]int16, f.FrameSamples())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, d, _ := build(t, MediaSpec{AudioIn: "silence", AudioOut: "null", VideoIn: "none"})
	in, err := audio.ParseInput("wav:"+path, audio.Options{Format: f, WAVOnce: true})
	if err != nil {
		t.Fatal(err)
	}
	d.mic.Swap(in)
	pcm := make([]int16, f.FrameSamples())
	for range 3 {
		if err := d.mic.ReadFrame(pcm); errors.Is(err, io.EOF) || err != nil {
			t.Fatalf("ReadFrame after the end of the file: %v", err)
		}
	}
}

// BenchmarkListDevices is what the engine's watch costs every 2 s: the
// three listings from the real sound system and /dev (none here but ALSA's
// null device).
func BenchmarkListDevices(b *testing.B) {
	p, err := buildMedia(MediaSpec{AudioIn: "tone:440", AudioOut: "null", VideoIn: "pattern"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.close() }()
	for b.Loop() {
		for _, k := range callcore.DeviceKinds() {
			if _, err := p.devices.ListDevices(k); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// latentMic is a microphone that knows its latency.
type latentMic struct{ audio.Silence }

func (latentMic) Latency() time.Duration { return 25 * time.Millisecond }
func (latentMic) Close() error           { return nil }

// TestMicLatencyReachesTheSwitch: the silent-microphone watch between a
// microphone and the switch passes the microphone's latency on, so the
// echo canceller behind the switch gets it; a tone has none.
func TestMicLatencyReachesTheSwitch(t *testing.T) {
	_, d, _ := build(t, MediaSpec{AudioIn: "tone:440", AudioOut: "null", VideoIn: "none"})
	if l := d.mic.Latency(); l >= 0 {
		t.Errorf("a tone microphone reports latency %v, want unknown", l)
	}
	d.mic.Swap(d.watchMic("mic:test", latentMic{}))
	if l := d.mic.Latency(); l != 25*time.Millisecond {
		t.Errorf("after switching to a 25 ms microphone the switch reports %v", l)
	}
}

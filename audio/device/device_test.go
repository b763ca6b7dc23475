package device

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/malgo"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/audio"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func nullConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{Backends: []malgo.Backend{NullBackend}}
	ctx, err := initContext(cfg)
	if err != nil {
		t.Skipf("malgo cannot init even a null-backend context here: %v", err)
	}
	freeContext(ctx)
	return cfg
}

func TestCaptureNullIsClocked(t *testing.T) {
	cfg := nullConfig(t)
	c, err := OpenCapture(cfg, "", audio.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !audio.IsClocked(c) {
		t.Error("capture not marked clocked")
	}
	pcm := make([]int16, 960)
	start := time.Now()
	const frames = 25 // 500 ms of audio
	for i := range frames {
		if err := c.ReadFrame(pcm); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for _, s := range pcm {
			if s != 0 {
				t.Fatalf("null device recorded %d, want silence", s)
			}
		}
	}
	// At most the ring (5 frames) can be ready early, so 25 frames of a
	// clocked 50 frames/s device take at least 400 ms. Lenient bound: 300 ms.
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("25 frames in %v: capture is not clocked at ~50 frames/s", el)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadFrame(pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFrame after Close: %v", err)
	}
}

func TestPlaybackNullConsumes(t *testing.T) {
	cfg := nullConfig(t)
	p, err := OpenPlayback(cfg, "", audio.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tone, _ := audio.NewTone(audio.DefaultFormat(), 440, 0.5)
	pcm := make([]int16, 960)
	start := time.Now()
	for i := range 40 {
		_ = tone.ReadFrame(pcm)
		if err := p.WriteFrame(pcm); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// 40 frames through a 5-frame ring: at least 35 frames (700 ms) must
	// have been consumed by the device. Lenient bound: 500 ms.
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Errorf("wrote 40 frames in %v: playback does not consume at device pace", el)
	}
	if p.Callbacks() < 20 {
		t.Errorf("only %d device callbacks", p.Callbacks())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFrame(pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close: %v", err)
	}
}

// TestPlaybackLatency: a speaker reports its device buffer (three 20 ms
// periods) plus what is queued; the figure grows when frames are written
// faster than the device plays them and falls as it drains.
func TestPlaybackLatency(t *testing.T) {
	cfg := nullConfig(t)
	p, err := OpenPlayback(cfg, "", audio.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.Sleep(100 * time.Millisecond) // a few callbacks: the period is the device's
	idle := p.Latency()
	t.Logf("idle playback latency %v after %d callbacks", idle, p.Callbacks())
	if idle < 40*time.Millisecond || idle > 200*time.Millisecond {
		t.Errorf("idle playback latency %v, want the device buffer (~60 ms)", idle)
	}
	// Five frames (the whole ring, 100 ms) at once: far faster than the
	// 20 ms a period takes to play.
	pcm := make([]int16, 960)
	for i := range 5 {
		if err := p.WriteFrame(pcm); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	queued := p.Latency()
	t.Logf("with 5 frames queued %v", queued)
	if queued-idle < 40*time.Millisecond {
		t.Errorf("latency %v with 100 ms queued, %v idle: the queue is not counted", queued, idle)
	}
	time.Sleep(300 * time.Millisecond)
	drained := p.Latency()
	t.Logf("drained %v", drained)
	if queued-drained < 40*time.Millisecond {
		t.Errorf("latency %v after the queue played out, %v with it queued", drained, queued)
	}
}

// TestCaptureLatency: a microphone reports one period plus what waits in
// its ring; the figure grows while nobody reads and falls once read.
func TestCaptureLatency(t *testing.T) {
	cfg := nullConfig(t)
	c, err := OpenCapture(cfg, "", audio.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pcm := make([]int16, 960)
	if err := c.ReadFrame(pcm); err != nil {
		t.Fatal(err)
	}
	fresh := c.Latency()
	t.Logf("capture latency right after a read %v", fresh)
	if fresh < 10*time.Millisecond || fresh > 60*time.Millisecond {
		t.Errorf("capture latency %v right after a read, want about one 20 ms period", fresh)
	}
	time.Sleep(80 * time.Millisecond) // four periods recorded, none read
	waiting := c.Latency()
	t.Logf("after 80 ms unread %v", waiting)
	if waiting-fresh < 40*time.Millisecond {
		t.Errorf("latency %v with ~80 ms unread, %v fresh: the ring is not counted", waiting, fresh)
	}
	for i := range 3 {
		if err := c.ReadFrame(pcm); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if read := c.Latency(); waiting-read < 40*time.Millisecond {
		t.Errorf("latency %v after reading 60 ms of it, %v before", read, waiting)
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	cfg := nullConfig(t)
	c, err := OpenCapture(cfg, "", audio.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		pcm := make([]int16, 960)
		for {
			if err := c.ReadFrame(pcm); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the reader block at least once
	_ = c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("reader got %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFrame still blocked 10 s after Close")
	}
}

func TestDeviceByNameAndOpener(t *testing.T) {
	cfg := nullConfig(t)
	devs, err := List(cfg, true)
	if err != nil || len(devs) == 0 {
		t.Fatalf("List: %v, %v", devs, err)
	}
	t.Logf("null capture devices: %+v", devs)
	_, err = OpenCapture(cfg, "no-such-mic", audio.DefaultFormat())
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrNoMicrophone) ||
		!strings.Contains(err.Error(), "--audio-in tone:440 or wav:FILE") || !strings.Contains(err.Error(), devs[0].Name) {
		t.Errorf("unknown device: %v", err)
	}
	_, err = OpenPlayback(cfg, "no-such-speaker", audio.DefaultFormat())
	if !errors.Is(err, ErrNoSpeaker) || !strings.Contains(err.Error(), "--audio-out wav:FILE or null") {
		t.Errorf("unknown speaker: %v", err)
	}

	opts := audio.Options{Devices: NewOpener(cfg)}
	in, err := audio.ParseInput("mic:null", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.ReadFrame(make([]int16, 960)); err != nil {
		t.Errorf("mic:null ReadFrame: %v", err)
	}
	out, err := audio.ParseOutput("speaker:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := out.WriteFrame(make([]int16, 960)); err != nil {
		t.Errorf("speaker:0 WriteFrame: %v", err)
	}
	if _, err := OpenCapture(cfg, "", audio.Format{SampleRate: 44100, Channels: 1, FrameDuration: 20 * time.Millisecond}); err == nil {
		t.Error("44.1 kHz format accepted")
	}
}

// TestMissingDeviceError uses the default backends; on a machine without a
// sound card (CI) opening fails and the error must name the flag to use.
func TestMissingDeviceError(t *testing.T) {
	restore, err := RedirectStderr(filepath.Join(t.TempDir(), "alsa.log"))
	if err != nil {
		t.Fatal(err)
	}
	c, cerr := OpenCapture(Config{}, "", audio.DefaultFormat())
	p, perr := OpenPlayback(Config{}, "", audio.DefaultFormat())
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if cerr == nil {
		c.Close()
	} else if !errors.Is(cerr, ErrNoMicrophone) || !strings.Contains(cerr.Error(), "use --audio-in tone:440 or wav:FILE") {
		t.Errorf("capture error does not name the alternative: %v", cerr)
	}
	if perr == nil {
		p.Close()
	} else if !errors.Is(perr, ErrNoSpeaker) || !strings.Contains(perr.Error(), "use --audio-out wav:FILE or null") {
		t.Errorf("playback error does not name the alternative: %v", perr)
	}
	if cerr == nil && perr == nil {
		t.Skip("this machine has working sound devices; nothing missing to report")
	}
	t.Logf("capture: %v", cerr)
	t.Logf("playback: %v", perr)
}

func TestRedirectStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fd2.log")
	restore, err := RedirectStderr(path)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := os.Stderr.WriteString("to the log file\n")
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if werr != nil {
		t.Fatal(werr)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "to the log file") {
		t.Errorf("log file holds %q, %v", b, err)
	}
}

func TestRing(t *testing.T) {
	r := newRing(4)
	if d := r.writeBytesLE([]byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0}); d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
	got := make([]int16, 4)
	r.read(got)
	if got[0] != 3 || got[3] != 6 || r.n != 0 {
		t.Errorf("ring kept %v", got)
	}
	r.write([]int16{7, 8})
	out := make([]byte, 8)
	if m := r.readBytesLE(out); m != 2 || out[0] != 7 || out[2] != 8 || out[4] != 0 {
		t.Errorf("readBytesLE: missing %d, %v", m, out)
	}
}

package dsp

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
)

func TestNewRefusesBadConfigs(t *testing.T) {
	for _, c := range []Config{
		{SampleRate: 22050}, {SampleRate: 7900}, {SampleRate: 96000}, {SampleRate: -1},
		{AECLevel: 3}, {NSLevel: -1}, {NSLevel: 4}, {AGCTargetDBFS: 32}, {AGCMaxGainDB: 91},
	} {
		p, err := New(c)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
		if p != nil {
			p.Close()
		}
	}
}

// TestBadInputIsAnError: wrong chunk sizes and use after Close are errors,
// not crashes, and leave the processor usable.
func TestBadInputIsAnError(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 479, 481, 959} {
		buf := make([]int16, n)
		if err := p.ProcessRender(buf); !errors.Is(err, ErrFrameSize) {
			t.Errorf("ProcessRender(%d samples) = %v, want ErrFrameSize", n, err)
		}
		if err := p.ProcessCapture(buf, 0); !errors.Is(err, ErrFrameSize) {
			t.Errorf("ProcessCapture(%d samples) = %v, want ErrFrameSize", n, err)
		}
	}
	for _, n := range []int{480, 960, 4800} {
		buf := make([]int16, n)
		if err := p.ProcessRender(buf); err != nil {
			t.Errorf("ProcessRender(%d samples): %v", n, err)
		}
		// A negative or absurd delay is clamped, not refused.
		for _, d := range []time.Duration{-time.Second, 0, 10 * time.Second} {
			if err := p.ProcessCapture(buf, d); err != nil {
				t.Errorf("ProcessCapture(%d samples, %v): %v", n, d, err)
			}
		}
	}
	if st := p.Stats(); st.RenderChunks != 2+1+10 || st.CaptureChunks != 3*(2+1+10) {
		t.Errorf("chunks render %d capture %d, want 13 and 39", st.RenderChunks, st.CaptureChunks)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	buf := make([]int16, 480)
	if err := p.ProcessRender(buf); !errors.Is(err, ErrClosed) {
		t.Errorf("ProcessRender after Close = %v, want ErrClosed", err)
	}
	if err := p.ProcessCapture(buf, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("ProcessCapture after Close = %v, want ErrClosed", err)
	}
	_ = p.Stats() // still answers
}

// TestRates: the echo canceller works at every rate `termcall dsp` passes
// it, not only the call's 48 kHz.
func TestRates(t *testing.T) {
	for _, r := range []int{8000, 16000, 32000, 44100, 48000} {
		n := 10 * r
		far, on := speech(r, n, talker{f0: 120, seed: 5, levelDB: -20}, []span{{0.2, 4.8}, {5.3, 9.8}})
		cfg, _ := CallConfig(true, false, false)
		c := process(t, cfg, far, make([]float64, n), RoomConfig{SampleRate: r, Delay: 50 * time.Millisecond, LossDB: 6})
		w := window{5, 10, on}
		erle := w.level(r, c.mic, 0) - w.level(r, c.out, 0)
		t.Logf("%d Hz: ERLE %.1f dB (module %v dB, delay estimate %v)", r, erle, c.stats.ERLE, c.stats.Delay)
		if erle < 20 {
			t.Errorf("%d Hz: ERLE %.1f dB, want >= 20", r, erle)
		}
	}
}

// TestStats: levels match what went in and out, and the module's own ERLE
// and delay estimate are there once the AEC has worked.
func TestStats(t *testing.T) {
	n := 10 * rate
	far, _ := speech(rate, n, talker{f0: 120, seed: 5, levelDB: -20}, []span{{0.2, 9.8}})
	cfg, _ := CallConfig(true, false, false)
	c := process(t, cfg, far, make([]float64, n), RoomConfig{SampleRate: rate, Delay: 50 * time.Millisecond, LossDB: 6})
	st := c.stats
	if d := st.FarDBFS - audioLevel(toInt16(far)); math.Abs(d) > 0.01 {
		t.Errorf("far level %.2f dBFS, measured %+.2f dB off", st.FarDBFS, d)
	}
	if d := st.MicDBFS - audioLevel(c.mic); math.Abs(d) > 0.01 {
		t.Errorf("mic level %.2f dBFS, measured %+.2f dB off", st.MicDBFS, d)
	}
	if d := st.OutDBFS - audioLevel(c.out); math.Abs(d) > 0.01 {
		t.Errorf("out level %.2f dBFS, measured %+.2f dB off", st.OutDBFS, d)
	}
	if !(st.ERLE >= 10) {
		t.Errorf("module ERLE %v dB: want the echo it removed", st.ERLE)
	}
	if st.Delay < 30*time.Millisecond || st.Delay > 80*time.Millisecond {
		t.Errorf("delay estimate %v, the room's is 50ms", st.Delay)
	}
	off, err := New(Config{NS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if st := off.Stats(); !math.IsNaN(st.ERLE) || st.Delay != -1 || st.FarDBFS != audio.SilenceDBFS {
		t.Errorf("without the AEC: %+v, want no ERLE, no delay, silence", st)
	}
}

// rssKiB is this process's resident memory.
func rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestCloseFreesTheModule creates, uses and closes processors in a loop:
// if Close leaked the C++ module (hundreds of KiB each with the extended
// filter), memory would grow by hundreds of MiB.
func TestCloseFreesTheModule(t *testing.T) {
	buf := make([]int16, 960)
	cycle := func() {
		p, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			_ = p.ProcessRender(buf)
			_ = p.ProcessCapture(buf, 50*time.Millisecond)
		}
		p.Close()
	}
	for range 50 { // warm up the allocator
		cycle()
	}
	before := rssKiB(t)
	const cycles = 1500
	for range cycles {
		cycle()
	}
	grew := rssKiB(t) - before
	t.Logf("RSS grew %d KiB over %d processors", grew, cycles)
	if grew > 32<<10 {
		t.Errorf("RSS grew %d KiB over %d processors: Close leaks", grew, cycles)
	}
}

// BenchmarkCallFrame is the processing's CPU per 10 ms of a call: one
// render and one capture chunk at 48 kHz, everything on, speech in both.
// ns/op over 10 ms is the share of one core.
func BenchmarkCallFrame(b *testing.B) {
	for _, c := range []struct {
		name string
		aec  bool
		ns   bool
		agc  bool
	}{{"all", true, true, true}, {"aec", true, false, false}, {"ns", false, true, false}, {"agc", false, false, true}} {
		b.Run(c.name, func(b *testing.B) {
			cfg, _ := CallConfig(c.aec, c.ns, c.agc)
			p, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			n := 4 * rate
			far := toInt16(speechOnly(n, 1, -20))
			mic := toInt16(speechOnly(n, 2, -24))
			buf := make([]int16, 480)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := (i * 480) % (n - 480)
				if err := p.ProcessRender(far[off : off+480]); err != nil {
					b.Fatal(err)
				}
				copy(buf, mic[off:off+480])
				if err := p.ProcessCapture(buf, 50*time.Millisecond); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7*100, "%core")
		})
	}
}

func speechOnly(n int, seed uint64, db float64) []float64 {
	s, _ := speech(rate, n, talker{f0: 100 + 60*float64(seed), seed: seed, levelDB: db}, []span{{0, float64(n) / rate}})
	return s
}

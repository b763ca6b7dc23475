package vp8

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/video"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newPair(t testing.TB, w, h int) (*video.Pattern, *Encoder, *Decoder) {
	t.Helper()
	p, err := video.NewPattern(w, h)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(EncoderConfig{Width: w, Height: h, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return p, enc, dec
}

func TestRoundTrip(t *testing.T) {
	const n, fps = 30, 15
	p, enc, dec := newPair(t, 320, 240)
	total, keys := 0, 0
	minPSNR := 1000.0
	var last *video.Frame
	for i := 0; i < n; i++ {
		src := p.Frame(i)
		if i == 20 {
			enc.ForceKeyframe()
		}
		data, key, err := enc.Encode(src, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			t.Fatalf("frame %d dropped with dropping disabled", i)
		}
		if (i == 0 || i == 20) != key {
			t.Fatalf("frame %d keyframe=%v", i, key)
		}
		if key {
			keys++
			if h, err := ParseHeader(data); err != nil || !h.Keyframe || h.Width != 320 || h.Height != 240 {
				t.Fatalf("keyframe header %+v %v", h, err)
			}
		}
		total += len(data)
		out, err := dec.Decode(data)
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if out.Width != 320 || out.Height != 240 {
			t.Fatalf("decoded size %dx%d", out.Width, out.Height)
		}
		psnr := video.PSNR(src, out)
		minPSNR = min(minPSNR, psnr)
		if got := video.PatternCounter(out); got != i {
			t.Fatalf("decoded frame %d shows counter %d", i, got)
		}
		last = out
	}
	if minPSNR <= 30 {
		t.Fatalf("min PSNR %.1f dB <= 30", minPSNR)
	}
	if err := video.CheckPattern(last, 12); err != nil {
		t.Fatal(err)
	}
	kbps := float64(total*8) / (float64(n) / fps) / 1000
	t.Logf("30 frames: %d bytes, %.0f kbit/s (target 300), %d keyframes, min PSNR %.1f dB", total, kbps, keys, minPSNR)
	// Two keyframes in 2 s of a simple pattern: CBR may undershoot a lot, but
	// must not run away.
	if kbps > 3*300 || total < 2000 {
		t.Fatalf("bitrate %.0f kbit/s out of range", kbps)
	}
}

func TestBitrateSetting(t *testing.T) {
	// A higher target must give more bytes on the same content.
	sizes := map[int]int{}
	for _, kbps := range []int{100, 800} {
		p, _ := video.NewPattern(320, 240)
		enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, FPS: 15, BitrateKbps: kbps})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 45; i++ {
			f := p.Frame(i)
			noise(f, i) // hard content so the target, not the content, limits the size
			data, _, err := enc.Encode(f, int64(i))
			if err != nil {
				t.Fatal(err)
			}
			if i >= 15 {
				sizes[kbps] += len(data)
			}
		}
		enc.Close()
	}
	lo, hi := float64(sizes[100]*8)/2/1000, float64(sizes[800]*8)/2/1000
	t.Logf("steady state: target 100 -> %.0f kbit/s, target 800 -> %.0f kbit/s", lo, hi)
	if lo < 30 || lo > 200 || hi < 400 || hi > 1600 {
		t.Fatalf("bitrate does not follow the target: %.0f vs %.0f kbit/s", lo, hi)
	}
}

// noise adds deterministic pseudo-random texture to f's luma.
func noise(f *video.Frame, seed int) {
	x := uint32(seed*2654435761 + 1)
	for i := range f.Y {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		f.Y[i] = byte(int(f.Y[i])*3/4 + int(x&31))
	}
}

func TestEncoderErrors(t *testing.T) {
	if _, err := NewEncoder(EncoderConfig{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("zero config: %v", err)
	}
	_, enc, _ := newPair(t, 320, 240)
	if _, _, err := enc.Encode(video.NewFrame(160, 120), 0); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("wrong size: %v", err)
	}
	short := video.NewFrame(320, 240)
	short.Y = short.Y[:100]
	if _, _, err := enc.Encode(short, 0); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("short plane: %v", err)
	}
	if err := enc.SetBitrate(500); err != nil || enc.Config().BitrateKbps != 500 {
		t.Fatalf("SetBitrate: %v", err)
	}
	enc.Close()
	if _, _, err := enc.Encode(video.NewFrame(320, 240), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}

// peakRSS returns the process's peak resident set size in bytes (Linux
// VmHWM), or 0 where it cannot be read. C allocations show up here.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// forgedKeyframe returns a syntactically valid keyframe header claiming w x h.
func forgedKeyframe(w, h int, body int) []byte {
	b := make([]byte, 10+body)
	first := body
	tag := uint32(0) | 0<<1 | 1<<4 | uint32(first)<<5
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
	b[6], b[7] = byte(w), byte(w>>8)
	b[8], b[9] = byte(h), byte(h>>8)
	for i := 10; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func TestDecoderRefusesHugeKeyframe(t *testing.T) {
	_, _, dec := newPair(t, 320, 240)
	hwm := peakRSS(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := dec.Decode(forgedKeyframe(16383, 16383, 1200))
	runtime.ReadMemStats(&after)
	// ErrTooLarge comes only from the header check, before libvpx runs
	// (libvpx would spend ~3 s and ~858 MB of C memory on this frame).
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("forged 16383x16383: %v", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Fatalf("refusal allocated %d bytes of Go memory", grown)
	}
	if grown := peakRSS(t) - hwm; hwm > 0 && grown > 100<<20 {
		t.Fatalf("peak RSS grew by %d MB", grown>>20)
	}
	// A tighter limit is honoured.
	small, _ := NewDecoder(DecoderConfig{MaxWidth: 160, MaxHeight: 120})
	defer small.Close()
	_, enc, _ := newPair(t, 320, 240)
	p, _ := video.NewPattern(320, 240)
	data, _, _ := enc.Encode(p.Frame(0), 0)
	if _, err := small.Decode(data); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("320x240 into 160x120 limit: %v", err)
	}
}

func TestDecoderMalformed(t *testing.T) {
	p, enc, dec := newPair(t, 320, 240)
	key, _, _ := enc.Encode(p.Frame(0), 0)
	inter, _, _ := enc.Encode(p.Frame(1), 1)

	cases := map[string]struct {
		data []byte
		want error
	}{
		"empty":          {nil, ErrTruncated},
		"two bytes":      {[]byte{0x10, 0}, ErrTruncated},
		"short key":      {key[:8], ErrTruncated},
		"bad start code": {append([]byte{key[0], key[1], key[2], 1, 2, 3}, key[6:]...), ErrCorrupt},
		"zero size":      {forgedKeyframe(0, 240, 50), ErrCorrupt},
		"version 7":      {append([]byte{key[0] | 0x0e}, key[1:]...), ErrCorrupt},
		"truncated key":  {key[:len(key)/3], ErrTruncated},
		"inter first":    {inter, ErrNoKeyframe},
	}
	for name, c := range cases {
		if _, err := dec.Decode(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// Corrupt payload with a valid header: libvpx gets it and must report
	// an error or a picture, never crash.
	bad := append([]byte(nil), key...)
	for i := 20; i < len(bad); i += 3 {
		bad[i] ^= 0x5a
	}
	if f, err := dec.Decode(bad); err == nil && (f.Width != 320 || f.Height != 240) {
		t.Errorf("corrupt keyframe decoded to %dx%d", f.Width, f.Height)
	}
	// The decoder still works.
	if f, err := dec.Decode(key); err != nil || f.Width != 320 {
		t.Fatalf("valid keyframe after garbage: %v", err)
	}
	if _, err := dec.Decode(inter); err != nil {
		t.Fatalf("interframe after keyframe: %v", err)
	}
	dec.Close()
	if _, err := dec.Decode(key); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestDecoderSizeChange(t *testing.T) {
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, sz := range [][2]int{{320, 240}, {160, 120}, {320, 240}} {
		p, _ := video.NewPattern(sz[0], sz[1])
		enc, err := NewEncoder(EncoderConfig{Width: sz[0], Height: sz[1]})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			data, _, err := enc.Encode(p.Frame(i), int64(i))
			if err != nil {
				t.Fatal(err)
			}
			f, err := dec.Decode(data)
			if err != nil {
				t.Fatalf("%v frame %d: %v", sz, i, err)
			}
			if f.Width != sz[0] || f.Height != sz[1] {
				t.Fatalf("decoded %dx%d, want %v", f.Width, f.Height, sz)
			}
			if i == 4 {
				if err := video.CheckPattern(f, 16); err != nil {
					t.Fatalf("%v: %v", sz, err)
				}
			}
		}
		enc.Close()
	}
}

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader(forgedKeyframe(640|1<<14, 360|2<<14, 20))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Keyframe || !h.Show || h.Width != 640 || h.Height != 360 || h.HScale != 1 || h.VScale != 2 || h.FirstPartSize != 20 {
		t.Fatalf("%+v", h)
	}
	inter := []byte{0x01 | 1<<4 | 2<<5, 0, 0, 0xaa, 0xbb}
	h, err = ParseHeader(inter)
	if err != nil || h.Keyframe || h.FirstPartSize != 2 {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestFrameDropping(t *testing.T) {
	// Noise at 50 kbit/s with dropping allowed: the rate controller must
	// drop some frames (nil data, nil error), and a keyframe request made
	// before a drop still produces a keyframe.
	p, _ := video.NewPattern(320, 240)
	enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, FPS: 15, BitrateKbps: 50, DropFrameThreshold: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	drops, keys := 0, 0
	for i := 0; i < 60; i++ {
		f := p.Frame(i)
		for j := range f.Y { // strong noise: incompressible at any quantizer
			f.Y[j] = byte(j*j*31 + i*7919 + j>>3)
		}
		if i == 30 {
			enc.ForceKeyframe()
		}
		data, key, err := enc.Encode(f, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			drops++
			continue
		}
		if key && i >= 30 {
			keys++
		}
	}
	t.Logf("%d of 60 frames dropped", drops)
	if drops == 0 {
		t.Fatal("no frame dropped at 50 kbit/s on noise")
	}
	if keys == 0 {
		t.Fatal("ForceKeyframe at frame 30 produced no keyframe")
	}
}

package video

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPatternDeterministicAndMoving(t *testing.T) {
	p1, err := NewPattern(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := NewPattern(320, 240)
	ctx := context.Background()
	var prev *Frame
	for i := 0; i < 5; i++ {
		a, _ := p1.ReadFrame(ctx)
		b, _ := p2.ReadFrame(ctx)
		if !bytes.Equal(a.Y, b.Y) || !bytes.Equal(a.U, b.U) || !bytes.Equal(a.V, b.V) {
			t.Fatalf("frame %d differs between two pattern sources", i)
		}
		if got := PatternCounter(a); got != i {
			t.Fatalf("counter of frame %d reads %d", i, got)
		}
		if prev != nil && bytes.Equal(prev.Y, a.Y) {
			t.Fatalf("frame %d identical to the previous one: no motion", i)
		}
		prev = a
	}
	if _, err := NewPattern(8, 8); !errors.Is(err, ErrBadSize) {
		t.Fatalf("tiny pattern: %v", err)
	}
}

func TestPatternBarColours(t *testing.T) {
	for _, sz := range [][2]int{{320, 240}, {160, 120}, {641, 363}} {
		p, err := NewPattern(sz[0], sz[1])
		if err != nil {
			t.Fatal(err)
		}
		f := p.Frame(7)
		means := BarMeans(f)
		for i, m := range means {
			want := PatternBars()[i]
			if d := maxDiff(m, want); d > 3 {
				t.Errorf("%v bar %d mean %v want %v", sz, i, m, want)
			}
		}
		if err := CheckPattern(f, 3); err != nil {
			t.Error(err)
		}
		// A frame that is not the pattern must fail the check.
		if err := CheckPattern(NewFrame(sz[0], sz[1]), 40); err == nil {
			t.Error("black frame passes CheckPattern")
		}
	}
}

func maxDiff(a, b color.RGBA) int {
	return max(absInt(int(a.R)-int(b.R)), absInt(int(a.G)-int(b.G)), absInt(int(a.B)-int(b.B)))
}

func TestI420RGBARoundTrip(t *testing.T) {
	// Smooth gradient image: chroma subsampling loses little on it.
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(128 + x - y), 255})
		}
	}
	f := FromRGBA(img)
	if f.Width != 64 || f.Height != 48 || len(f.U) != 32*24 {
		t.Fatalf("size %dx%d, U %d", f.Width, f.Height, len(f.U))
	}
	back := f.ToRGBA()
	worst := 0
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			worst = max(worst, maxDiff(img.RGBAAt(x, y), back.RGBAAt(x, y)))
		}
	}
	if worst > 8 {
		t.Fatalf("round trip error %d > 8", worst)
	}
	// Exact primaries.
	for _, c := range []color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {255, 0, 0, 255}, {0, 0, 255, 255}} {
		yy, u, v := RGBToYUV(c.R, c.G, c.B)
		r, g, b := YUVToRGB(yy, u, v)
		if d := maxDiff(c, color.RGBA{r, g, b, 255}); d > 2 {
			t.Errorf("%v -> %d,%d,%d -> %d,%d,%d", c, yy, u, v, r, g, b)
		}
	}
	// Odd sizes and Clone.
	odd := FromRGBA(image.NewRGBA(image.Rect(0, 0, 5, 3)))
	if len(odd.U) != 3*2 {
		t.Fatalf("odd chroma %d", len(odd.U))
	}
	c := f.Clone()
	c.Y[0]++
	if c.Y[0] == f.Y[0] {
		t.Fatal("clone shares memory")
	}
	if PSNR(f, f.Clone()) < 1000 {
		t.Fatal("PSNR of identical frames not infinite")
	}
}

func TestY4MReadLoops(t *testing.T) {
	p, _ := NewPattern(64, 48)
	path := filepath.Join(t.TempDir(), "in.y4m")
	var buf bytes.Buffer
	frames := []*Frame{p.Frame(0), p.Frame(1), p.Frame(2)}
	if err := WriteY4M(&buf, 15, frames...); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := ParseInput("y4m:" + path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenInput(spec, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	y := src.(*Y4M)
	if w, h := y.Size(); w != 64 || h != 48 || y.FPS() != 15 {
		t.Fatalf("header %dx%d @%v", w, h, y.FPS())
	}
	for i := 0; i < 7; i++ {
		f, err := src.ReadFrame(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(f.Y, frames[i%3].Y) || !bytes.Equal(f.V, frames[i%3].V) {
			t.Fatalf("frame %d content differs from frame %d written", i, i%3)
		}
	}
	src.Close()
	if _, err := src.ReadFrame(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestY4MErrors(t *testing.T) {
	cases := map[string]struct {
		data string
		want error
	}{
		"422":       {"YUV4MPEG2 W4 H4 F15:1 C422\nFRAME\n", ErrY4MChroma},
		"444":       {"YUV4MPEG2 W4 H4 C444\n", ErrY4MChroma},
		"no magic":  {"RIFF W4 H4\n", ErrY4MHeader},
		"no size":   {"YUV4MPEG2 F15:1\n", ErrBadSize},
		"huge":      {"YUV4MPEG2 W16383 H16383\n", ErrBadSize},
		"bad num":   {"YUV4MPEG2 Wx H4\n", ErrY4MHeader},
		"truncated": {"YUV4MPEG2 W4 H4\nFRAME\n" + strings.Repeat("x", 10), ErrY4MFrame},
		"not frame": {"YUV4MPEG2 W4 H4\nJUNK\n", ErrY4MFrame},
		"empty":     {"YUV4MPEG2 W4 H4\n", ErrY4MFrame},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			y, err := NewY4M(strings.NewReader(c.data))
			if err == nil {
				_, err = y.ReadFrame(context.Background())
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseSpecs(t *testing.T) {
	in := map[string]InputSpec{
		"pattern":          {Kind: InputPattern},
		"none":             {Kind: InputNone},
		"y4m:/tmp/a.y4m":   {Kind: InputY4M, Path: "/tmp/a.y4m"},
		"camera":           {Kind: InputCamera, Path: DefaultCamera},
		"camera:/dev/vid3": {Kind: InputCamera, Path: "/dev/vid3"},
	}
	for s, want := range in {
		got, err := ParseInput(s)
		if err != nil || got != want {
			t.Errorf("ParseInput(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "y4m", "y4m:", "pattern:x", "webcam", "camera:"} {
		if _, err := ParseInput(s); !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseInput(%q) err %v", s, err)
		}
	}
	out := map[string]OutputSpec{"null": {}, "": {}, "dir:/tmp/x": {Kind: OutputDir, Dir: "/tmp/x"}}
	for s, want := range out {
		got, err := ParseOutput(s)
		if err != nil || got != want {
			t.Errorf("ParseOutput(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"dir", "dir:", "file:x", "null:x"} {
		if _, err := ParseOutput(s); !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseOutput(%q) err %v", s, err)
		}
	}
	// A missing camera names the alternative flag.
	_, err := OpenInput(InputSpec{Kind: InputCamera, Path: filepath.Join(t.TempDir(), "video9")}, DefaultConfig())
	if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), "--video-in pattern") {
		t.Fatalf("camera error %v", err)
	}
	if _, err := OpenInput(InputSpec{Kind: InputNone}, DefaultConfig()); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("none: %v", err)
	}
	src, err := OpenInput(InputSpec{Kind: InputPattern}, Config{Width: 160, Height: 120, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := src.ReadFrame(context.Background())
	if f.Width != 160 || f.Height != 120 {
		t.Fatalf("pattern size %dx%d", f.Width, f.Height)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.ReadFrame(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
}

func TestDirSinkRateAndContent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	now := time.Unix(1000, 0)
	sink, err := NewDirSink(dir, 2, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPattern(320, 240)
	// 15 fps for 2 s of fake time at max 2/s: frames at t=0, 0.533, 1.067, 1.6.
	for i := 0; i < 30; i++ {
		if err := sink.WriteFrame(p.Frame(i)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second / 15)
	}
	if sink.Written() != 4 || sink.Dropped() != 26 {
		t.Fatalf("written %d dropped %d, want 4 and 26", sink.Written(), sink.Dropped())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("%d files in dir", len(entries))
	}
	f, err := ReadPNG(sink.FileName(2))
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 320 || f.Height != 240 {
		t.Fatalf("png size %dx%d", f.Width, f.Height)
	}
	if err := CheckPattern(f, 4); err != nil {
		t.Fatal(err)
	}
	if got := PatternCounter(f); got != 8 {
		t.Fatalf("second saved frame has counter %d, want 8", got)
	}
	sink.Close()
	if err := sink.WriteFrame(p.Frame(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	ns, err := OpenOutput(OutputSpec{}, 1, nil)
	if err != nil || ns.WriteFrame(p.Frame(0)) != nil {
		t.Fatal("null sink")
	}
}

func TestResize(t *testing.T) {
	p, _ := NewPattern(640, 480)
	src := p.Frame(5)
	for _, sz := range [][2]int{{320, 240}, {160, 120}, {800, 600}, {333, 211}} {
		r := Resize(src, sz[0], sz[1])
		if r.Width != sz[0] || r.Height != sz[1] || r.Validate() != nil {
			t.Fatalf("resize to %v gave %dx%d", sz, r.Width, r.Height)
		}
		if err := CheckPattern(r, 6); err != nil {
			t.Fatalf("resize to %v: %v", sz, err)
		}
		if sz[0] >= 160 {
			if got := PatternCounter(r); got != 5 {
				t.Fatalf("resize to %v: counter %d", sz, got)
			}
		}
	}
	same := Resize(src, 640, 480)
	if PSNR(same, src) < 1000 || &same.Y[0] == &src.Y[0] {
		t.Fatal("same-size resize is not an equal copy")
	}
}

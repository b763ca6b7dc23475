package render

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/termcall/termcall/video"
)

// quadFrame is a 4x4 I420 frame built in YUV so its RGB values are exact
// under BT.601 fixed point:
//
//	rows 0-1, cols 0-1: white over black   rows 0-1, cols 2-3: red
//	rows 2-3, cols 0-1: blue               rows 2-3, cols 2-3: grey 128 over white
func quadFrame() *video.Frame {
	f := video.NewFrame(4, 4)
	setY := func(x0, y, v int) { f.Y[y*4+x0], f.Y[y*4+x0+1] = byte(v), byte(v) }
	setC := func(cx, cy, u, v int) { f.U[cy*2+cx], f.V[cy*2+cx] = byte(u), byte(v) }
	setY(0, 0, 235)
	setY(0, 1, 16)
	setC(0, 0, 128, 128)
	setY(2, 0, 81)
	setY(2, 1, 81)
	setC(1, 0, 90, 240)
	setY(0, 2, 41)
	setY(0, 3, 41)
	setC(0, 1, 240, 110)
	setY(2, 2, 126)
	setY(2, 3, 235)
	setC(1, 1, 128, 128)
	return f
}

func TestQuadExact(t *testing.T) {
	f := quadFrame()
	cases := []struct {
		kind Kind
		want []string
	}{
		{KindHalfBlock, []string{
			"\x1b[38;2;255;255;255;48;2;0;0;0m▀▀\x1b[38;2;255;0;0;48;2;255;0;0m▀▀\x1b[0m",
			"\x1b[38;2;0;0;255;48;2;0;0;255m▀▀\x1b[38;2;128;128;128;48;2;255;255;255m▀▀\x1b[0m",
		}},
		{Kind256, []string{
			"\x1b[38;5;231;48;5;16m▀▀\x1b[38;5;196;48;5;196m▀▀\x1b[0m",
			"\x1b[38;5;21;48;5;21m▀▀\x1b[38;5;244;48;5;231m▀▀\x1b[0m",
		}},
		// Luma: white/black 127 -> '=', red 76 -> ':', blue 28 -> '.', grey/white 191 -> '#'.
		{KindASCII, []string{"==::", "..##"}},
	}
	for _, c := range cases {
		got := NewCells(c.kind).Render(f, 4, 2)
		if len(got) != 2 {
			t.Fatalf("%v: %d rows", c.kind, len(got))
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v row %d:\n got %q\nwant %q", c.kind, i, got[i], c.want[i])
			}
		}
	}
	// Only the changed channel is re-sent: a frame whose bottom row is one
	// colour keeps bg, changes fg.
	g := video.NewFrame(4, 2)
	copy(g.Y, []byte{235, 235, 16, 16, 126, 126, 126, 126})
	got := NewCells(KindHalfBlock).Render(g, 4, 1)[0]
	want := "\x1b[38;2;255;255;255;48;2;128;128;128m▀▀\x1b[38;2;0;0;0m▀▀\x1b[0m"
	if got != want {
		t.Errorf("fg-only change:\n got %q\nwant %q", got, want)
	}
}

func TestLetterbox(t *testing.T) {
	// 320x240 (4:3) into 120x40 cells = 120x80 square pixels: height-bound,
	// 107 px wide (rounded), 40 rows, centred with 6 blank columns left.
	x, y, w, h := Layout(320, 240, 120, 40)
	if x != 6 || y != 0 || w != 107 || h != 40 {
		t.Fatalf("Layout 320x240 in 120x40 = %d,%d %dx%d", x, y, w, h)
	}
	// 16:9 into a square-ish pane: width-bound, bars top and bottom.
	x, y, w, h = Layout(640, 360, 80, 40)
	if x != 0 || w != 80 || h != 22 || y != 9 {
		t.Fatalf("Layout 640x360 in 80x40 = %d,%d %dx%d", x, y, w, h)
	}
	if x, y, w, h := Fit(100, 100, 0, 10); x|y|w|h != 0 {
		t.Fatal("Fit into empty area")
	}
	p, _ := video.NewPattern(640, 360)
	f := p.Frame(0)
	for _, k := range []Kind{KindHalfBlock, Kind256, KindASCII} {
		rows := NewCells(k).Render(f, 80, 40)
		if len(rows) != 40 {
			t.Fatalf("%v: %d rows", k, len(rows))
		}
		for i, r := range rows {
			if Width(r) != 80 {
				t.Fatalf("%v row %d is %d cells wide", k, i, Width(r))
			}
			blank := strings.TrimSpace(r) == ""
			if (i < 9 || i >= 31) != blank {
				t.Fatalf("%v row %d blank=%v", k, i, blank)
			}
		}
	}
	// The first image row shows the bars: truecolour SGR for white first.
	row := NewCells(KindHalfBlock).Render(f, 80, 40)[9]
	if !strings.HasPrefix(row, "\x1b[38;2;255;255;255;48;2;255;255;255m") {
		t.Fatalf("first image row starts %q", row[:40])
	}
	// No frame: blank pane.
	for _, r := range NewCells(KindHalfBlock).Render(nil, 5, 2) {
		if r != "     " {
			t.Fatalf("nil frame row %q", r)
		}
	}
}

func TestDiffer(t *testing.T) {
	p, _ := video.NewPattern(320, 240)
	r := NewCells(KindHalfBlock)
	var d Differ
	first := d.Diff(r.Render(p.Frame(0), 60, 20), 3, 5)
	if bytes.Count(first, []byte("\x1b[")) < 20 || !bytes.HasPrefix(first, []byte("\x1b[3;5H")) {
		t.Fatalf("first diff does not redraw all rows: %q", first[:20])
	}
	if out := d.Diff(r.Render(p.Frame(0), 60, 20), 3, 5); len(out) != 0 {
		t.Fatalf("unchanged frame emitted %d bytes", len(out))
	}
	// Next pattern frame: only the moving square and counter rows change.
	out := string(d.Diff(r.Render(p.Frame(1), 60, 20), 3, 5))
	moves := strings.Count(out, "H\x1b[38;2") + strings.Count(out, "H ")
	if moves == 0 || moves >= 20 {
		t.Fatalf("frame 1 redrew %d rows, want some but not all", moves)
	}
	if strings.Contains(out, "\x1b[3;5H") {
		t.Fatal("bar row 0 redrawn although unchanged")
	}
	var d2 Differ
	if got := d2.Changed([]string{"a", "b"}); len(got) != 2 {
		t.Fatalf("Changed first %v", got)
	}
	if got := d2.Changed([]string{"a", "c"}); len(got) != 1 || got[0] != 1 {
		t.Fatalf("Changed second %v", got)
	}
	d2.Reset()
	if got := d2.Changed([]string{"a", "c"}); len(got) != 2 {
		t.Fatalf("after reset %v", got)
	}
}

func TestDetect(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		env  func(string) string
		want Kind
	}{
		{env("COLORTERM", "truecolor", "TERM", "xterm-256color"), KindHalfBlock},
		{env("COLORTERM", "24bit"), KindHalfBlock},
		{env("TERM", "xterm-256color"), Kind256},
		{env("TERM", "screen-256color", "COLORTERM", "yes"), Kind256},
		{env("TERM", "xterm"), KindASCII},
		{env("TERM", "dumb", "COLORTERM", "truecolor"), KindASCII},
		{env("NO_COLOR", "1", "COLORTERM", "truecolor"), KindASCII},
		{env(), KindASCII},
	}
	for i, c := range cases {
		if got := Detect(c.env); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
	da := map[string]bool{
		"\x1b[?62;4;6;22c":     true,
		"\x1b[?63;1;2;4c":      true,
		"junk\x1b[?64;1;9;15c": false,
		"\x1b[?1;2c":           false,
		"\x1b[?62;44c":         false,
		"\x1b[?62;4":           false,
		"":                     false,
	}
	for s, want := range da {
		if ParseDA1(s) != want {
			t.Errorf("ParseDA1(%q) = %v", s, !want)
		}
	}
	for _, s := range []string{"truecolor", "256", "ascii", "sixel"} {
		k, err := ParseKind(s)
		if err != nil || k.String() != s {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
	if _, err := ParseKind("vga"); err == nil {
		t.Error("ParseKind(vga) accepted")
	}
}

// decodeSixel is a minimal sixel decoder: it returns the picture as rows
// of palette indices (-1 = unset), plus the palette.
func decodeSixel(t *testing.T, seq string) ([][]int, map[int][3]int) {
	t.Helper()
	if !strings.HasPrefix(seq, "\x1bP") || !strings.HasSuffix(seq, "\x1b\\") {
		t.Fatalf("not DCS ... ST: %q ... %q", seq[:min(10, len(seq))], seq[max(0, len(seq)-4):])
	}
	q := strings.IndexByte(seq, 'q')
	body := seq[q+1 : len(seq)-2]
	pal := map[int][3]int{}
	var img [][]int
	x, band, cur := 0, 0, 0
	num := func(i int) (int, int) {
		j := i
		for j < len(body) && body[j] >= '0' && body[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(body[i:j])
		return n, j
	}
	put := func(v byte, n int) {
		for k := 0; k < 6; k++ {
			if v&(1<<k) == 0 {
				continue
			}
			y := band*6 + k
			for len(img) <= y {
				img = append(img, nil)
			}
			for len(img[y]) < x+n {
				img[y] = append(img[y], -1)
			}
			for i := 0; i < n; i++ {
				img[y][x+i] = cur
			}
		}
		x += n
	}
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '"':
			i++
			for i < len(body) && (body[i] == ';' || body[i] >= '0' && body[i] <= '9') {
				i++
			}
		case c == '#':
			n, j := num(i + 1)
			cur = n
			if j < len(body) && body[j] == ';' {
				var vals [4]int
				for k := 0; k < 4; k++ {
					vals[k], j = num(j + 1)
				}
				pal[n] = [3]int{vals[1], vals[2], vals[3]}
			}
			i = j
		case c == '!':
			n, j := num(i + 1)
			put(body[j]-'?', n)
			i = j + 1
		case c == '$':
			x = 0
			i++
		case c == '-':
			x = 0
			band++
			i++
		case c >= '?' && c <= '~':
			put(c-'?', 1)
			i++
		default:
			t.Fatalf("unexpected byte %q at %d", c, i)
		}
	}
	return img, pal
}

func TestSixel(t *testing.T) {
	p, _ := video.NewPattern(320, 240)
	s := NewSixel(SixelOptions{CellWidth: 10, CellHeight: 20, MaxScale: 1})
	// Pane 40x20 cells = 400x400 px; MaxScale 1 keeps 320x240.
	img := s.Render(p.Frame(3), 40, 20)
	if img.Width != 320 || img.Height != 240 || img.Cols != 32 || img.Rows != 12 || img.Col != 4 || img.Row != 4 {
		t.Fatalf("placement %+v", img)
	}
	if !strings.HasPrefix(img.Seq, "\x1bP") || !strings.HasSuffix(img.Seq, "\x1b\\") {
		t.Fatal("not a DCS string")
	}
	if bands := strings.Count(img.Seq, "-") + 1; bands != 40 {
		t.Fatalf("%d bands, want 240/6 = 40", bands)
	}
	pix, pal := decodeSixel(t, img.Seq)
	if len(pix) != 240 {
		t.Fatalf("decoded %d pixel rows", len(pix))
	}
	// Bars decode to their colours (palette in percent).
	for i, want := range video.PatternBars() {
		x := (2*i + 1) * 320 / 14
		c := pix[40][x]
		got := pal[c]
		w := [3]int{int(want.R) * 100 / 255, int(want.G) * 100 / 255, int(want.B) * 100 / 255}
		if got != w {
			t.Errorf("bar %d at x=%d: palette %d = %v, want %v", i, x, c, got, w)
		}
	}
	// Every pixel of every row is set (the picture has no holes).
	for y, row := range pix {
		if len(row) < 300 {
			t.Fatalf("row %d only %d wide", y, len(row))
		}
	}
	// Odd height: last band is partial.
	q, _ := video.NewPattern(64, 50)
	img = s.Render(q.Frame(0), 40, 20)
	pix, _ = decodeSixel(t, img.Seq)
	if img.Height != 50 || len(pix) != 50 {
		t.Fatalf("64x50: height %d, decoded %d rows", img.Height, len(pix))
	}
	// Default scale cap 2x, pane-bound.
	big := NewSixel(SixelOptions{}).Render(p.Frame(0), 120, 40)
	if big.Width != 640 || big.Height != 480 {
		t.Fatalf("120x40 pane default: %dx%d", big.Width, big.Height)
	}
	if (NewSixel(SixelOptions{}).Render(nil, 10, 10) != SixelImage{}) {
		t.Fatal("nil frame gives output")
	}
}

// TestOddSizes renders many frame and pane sizes, including padded
// strides: rows must always be exactly the pane width and nothing panics.
func TestOddSizes(t *testing.T) {
	cells := []*Cells{NewCells(KindHalfBlock), NewCells(Kind256), NewCells(KindASCII)}
	six := NewSixel(SixelOptions{CellWidth: 3, CellHeight: 5, MaxScale: -1})
	for _, fw := range []int{1, 2, 3, 7, 33} {
		for _, fh := range []int{1, 2, 5, 24} {
			f := video.NewFrame(fw+3, fh)
			f.Width = fw // stride wider than the picture
			for i := range f.Y {
				f.Y[i] = byte(i * 37)
			}
			for _, pane := range [][2]int{{1, 1}, {2, 1}, {5, 3}, {40, 10}, {7, 30}} {
				for _, c := range cells {
					rows := c.Render(f, pane[0], pane[1])
					if len(rows) != pane[1] {
						t.Fatalf("%v %dx%d in %v: %d rows", c.Kind(), fw, fh, pane, len(rows))
					}
					for _, r := range rows {
						if Width(r) != pane[0] {
							t.Fatalf("%v %dx%d in %v: row width %d", c.Kind(), fw, fh, pane, Width(r))
						}
					}
				}
				img := six.Render(f, pane[0], pane[1])
				pix, _ := decodeSixel(t, img.Seq)
				if len(pix) != img.Height || img.Width > pane[0]*3 || img.Height > pane[1]*5 {
					t.Fatalf("sixel %dx%d in %v: %+v, %d rows", fw, fh, pane, img, len(pix))
				}
			}
		}
	}
	bad := video.NewFrame(16, 16)
	bad.U = bad.U[:3]
	for _, r := range NewCells(KindHalfBlock).Render(bad, 4, 2) {
		if r != "    " {
			t.Fatalf("invalid frame row %q", r)
		}
	}
	if img := six.Render(bad, 4, 2); img.Seq != "" {
		t.Fatal("sixel of invalid frame")
	}
}

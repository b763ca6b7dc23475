package render

import (
	"strconv"
	"unicode/utf8"

	"github.com/termcall/termcall/video"
)

// Renderer draws a frame into a pane of cols x rows cells and returns
// exactly rows strings, each cols cells wide.
type Renderer interface {
	Render(f *video.Frame, cols, rows int) []string
}

// Cells is a character-cell renderer: half-blocks in truecolour or 256
// colours, or an ASCII luminance ramp. Each cell shows two vertically
// stacked pixels (terminal cells are about twice as tall as wide, so these
// pixels are about square); the picture keeps its aspect ratio and is
// centred with blank cells around it.
type Cells struct {
	kind  Kind
	sc    scaler
	buf   []byte
	ends  []int
	blank []byte
}

// NewCells returns a cell renderer of the given kind (KindSixel is not a
// cell kind and gives a half-block renderer).
func NewCells(k Kind) *Cells {
	if k != Kind256 && k != KindASCII {
		k = KindHalfBlock
	}
	return &Cells{kind: k}
}

// New returns the cell renderer for k; see NewCells.
func New(k Kind) Renderer { return NewCells(k) }

// Kind returns the renderer kind.
func (c *Cells) Kind() Kind { return c.kind }

const (
	upperHalf = "▀"
	sgrReset  = "\x1b[0m"
	asciiRamp = " .:-=+*#%@" // dark to bright, for a dark background
)

// Layout returns where Render puts the picture: its offset and size in
// cells inside a cols x rows pane.
func Layout(srcW, srcH, cols, rows int) (x, y, w, h int) {
	// Fit into a grid of cols x 2*rows square pixels, then round the
	// vertical placement to whole cells.
	px, _, pw, ph := Fit(srcW, srcH, cols, 2*rows)
	if ph == 0 {
		return 0, 0, 0, 0
	}
	h = max(1, ph/2)
	return px, (rows - h) / 2, pw, h
}

// Render implements Renderer. An invalid frame (nil, empty, planes too
// short) renders as a blank pane.
func (c *Cells) Render(f *video.Frame, cols, rows int) []string {
	if cols <= 0 || rows <= 0 {
		return nil
	}
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	x0, y0, w, h := 0, 0, 0, 0
	if f.Validate() == nil {
		x0, y0, w, h = Layout(f.Width, f.Height, cols, rows)
	}
	if cap(c.blank) < cols {
		c.blank = make([]byte, cols)
		for i := range c.blank {
			c.blank[i] = ' '
		}
	}
	var rgb []byte
	if w > 0 {
		rgb = c.sc.scale(f, w, 2*h)
	}
	for r := 0; r < rows; r++ {
		ir := r - y0
		if w == 0 || ir < 0 || ir >= h {
			c.buf = append(c.buf, c.blank[:cols]...)
			c.ends = append(c.ends, len(c.buf))
			continue
		}
		c.buf = append(c.buf, c.blank[:x0]...)
		top := rgb[(2*ir)*w*3 : (2*ir+1)*w*3]
		bot := rgb[(2*ir+1)*w*3 : (2*ir+2)*w*3]
		switch c.kind {
		case KindHalfBlock:
			c.buf = appendTrue(c.buf, top, bot, w)
		case Kind256:
			c.buf = append256(c.buf, top, bot, w)
		case KindASCII:
			c.buf = appendASCII(c.buf, top, bot, w)
		}
		c.buf = append(c.buf, c.blank[:cols-x0-w]...)
		c.ends = append(c.ends, len(c.buf))
	}
	// One allocation for all rows; rows are substrings of it.
	all := string(c.buf)
	lines := make([]string, rows)
	start := 0
	for i, e := range c.ends {
		lines[i] = all[start:e]
		start = e
	}
	return lines
}

func appendTrue(b, top, bot []byte, w int) []byte {
	var fr, fg, fb, br, bg, bb int = -1, -1, -1, -1, -1, -1
	for x := 0; x < w; x++ {
		tr, tg, tb := int(top[3*x]), int(top[3*x+1]), int(top[3*x+2])
		ur, ug, ub := int(bot[3*x]), int(bot[3*x+1]), int(bot[3*x+2])
		fgCh := tr != fr || tg != fg || tb != fb
		bgCh := ur != br || ug != bg || ub != bb
		if fgCh || bgCh {
			b = append(b, "\x1b["...)
			if fgCh {
				b = append(b, "38;2;"...)
				b = appendRGB(b, tr, tg, tb)
				if bgCh {
					b = append(b, ';')
				}
			}
			if bgCh {
				b = append(b, "48;2;"...)
				b = appendRGB(b, ur, ug, ub)
			}
			b = append(b, 'm')
			fr, fg, fb, br, bg, bb = tr, tg, tb, ur, ug, ub
		}
		b = append(b, upperHalf...)
	}
	return append(b, sgrReset...)
}

func append256(b, top, bot []byte, w int) []byte {
	fi, bi := -1, -1
	for x := 0; x < w; x++ {
		t := xterm256(top[3*x], top[3*x+1], top[3*x+2])
		u := xterm256(bot[3*x], bot[3*x+1], bot[3*x+2])
		if t != fi || u != bi {
			b = append(b, "\x1b["...)
			if t != fi {
				b = append(b, "38;5;"...)
				b = appendUint(b, t)
				if u != bi {
					b = append(b, ';')
				}
			}
			if u != bi {
				b = append(b, "48;5;"...)
				b = appendUint(b, u)
			}
			b = append(b, 'm')
			fi, bi = t, u
		}
		b = append(b, upperHalf...)
	}
	return append(b, sgrReset...)
}

func appendASCII(b, top, bot []byte, w int) []byte {
	for x := 0; x < w; x++ {
		l := (luma(top[3*x:]) + luma(bot[3*x:])) / 2
		b = append(b, asciiRamp[l*len(asciiRamp)/256])
	}
	return b
}

// luma is Rec.601 luminance in 0..255 (weights sum to 256).
func luma(p []byte) int { return (77*int(p[0]) + 150*int(p[1]) + 29*int(p[2])) >> 8 }

func appendRGB(b []byte, r, g, bl int) []byte {
	b = appendUint(b, r)
	b = append(b, ';')
	b = appendUint(b, g)
	b = append(b, ';')
	return appendUint(b, bl)
}

// appendUint appends a small non-negative int in decimal.
func appendUint(b []byte, v int) []byte {
	switch {
	case v >= 1000 || v < 0:
		return strconv.AppendInt(b, int64(v), 10)
	case v >= 100:
		return append(b, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
	case v >= 10:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return append(b, byte('0'+v))
}

// xterm256 maps RGB to the nearest colour of the xterm 6x6x6 cube (16-231)
// or grey ramp (232-255); the 16 system colours are skipped because
// terminals theme them.
func xterm256(r, g, b uint8) int {
	ri, gi, bi := cubeIdx(r), cubeIdx(g), cubeIdx(b)
	cr, cg, cb := cubeLevel(ri), cubeLevel(gi), cubeLevel(bi)
	avg := (int(r) + int(g) + int(b)) / 3
	gray := 0
	if avg > 8 {
		gray = min(23, (avg-8+5)/10)
	}
	gv := 8 + 10*gray
	dc := sq(int(r)-cr) + sq(int(g)-cg) + sq(int(b)-cb)
	dg := sq(int(r)-gv) + sq(int(g)-gv) + sq(int(b)-gv)
	if dg < dc {
		return 232 + gray
	}
	return 16 + 36*ri + 6*gi + bi
}

func cubeIdx(v uint8) int {
	switch {
	case v < 48:
		return 0
	case v < 115:
		return 1
	}
	return (int(v) - 35) / 40
}

func cubeLevel(i int) int {
	if i == 0 {
		return 0
	}
	return 55 + 40*i
}

func sq(x int) int { return x * x }

// Width returns the number of terminal cells s occupies, skipping escape
// sequences; renderer rows are always exactly cols wide.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

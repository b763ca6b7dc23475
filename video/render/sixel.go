package render

import (
	"github.com/termcall/termcall/video"
)

// Sixel defaults.
const (
	// DefaultCellWidth and DefaultCellHeight are the assumed pixel size
	// of a terminal cell when the TUI cannot query it (CSI 16 t).
	DefaultCellWidth  = 10
	DefaultCellHeight = 20
	// DefaultMaxScale caps upscaling: sixel bytes grow with the pixel
	// count, and a 320x240 call picture gains nothing past 2x.
	DefaultMaxScale = 2
)

// SixelOptions configures a Sixel renderer. Zero fields take defaults.
type SixelOptions struct {
	CellWidth, CellHeight int // pixels per cell
	MaxScale              int // largest upscale factor; negative = unlimited
}

// SixelImage is one rendered sixel picture.
type SixelImage struct {
	Seq string // DCS ... ST, ready to write at the cursor
	// Width and Height are the picture size in pixels.
	Width, Height int
	// Col, Row, Cols, Rows place the picture inside the pane, in cells
	// (0-based offset from the pane's top-left; size rounded up).
	Col, Row, Cols, Rows int
}

// Sixel renders frames as sixel graphics with a fixed palette: the 6x6x6
// colour cube plus 24 greys (240 registers; only used ones are defined).
// A fixed palette costs a quarter of an adaptive one per frame.
type Sixel struct {
	opt    SixelOptions
	sc     scaler
	lut    []uint8 // 32x32x32 RGB (5 bits each) -> palette index
	pal    [][3]uint8
	idx    []uint8
	used   []bool
	bits   [][]byte // per colour: one 6-bit column mask per pixel of the band
	seen   []bool   // colour already listed in inBand
	inBand []int    // colours used in the current band, in order of first use
	buf    []byte
}

// NewSixel returns a sixel renderer; building its colour table takes a
// few milliseconds once.
func NewSixel(opt SixelOptions) *Sixel {
	if opt.CellWidth <= 0 {
		opt.CellWidth = DefaultCellWidth
	}
	if opt.CellHeight <= 0 {
		opt.CellHeight = DefaultCellHeight
	}
	if opt.MaxScale == 0 {
		opt.MaxScale = DefaultMaxScale
	}
	s := &Sixel{opt: opt}
	for r := 0; r < 6; r++ {
		for g := 0; g < 6; g++ {
			for b := 0; b < 6; b++ {
				s.pal = append(s.pal, [3]uint8{uint8(51 * r), uint8(51 * g), uint8(51 * b)})
			}
		}
	}
	for i := 0; i < 24; i++ {
		v := uint8(8 + 10*i)
		s.pal = append(s.pal, [3]uint8{v, v, v})
	}
	s.lut = make([]uint8, 32*32*32)
	for r := 0; r < 32; r++ {
		for g := 0; g < 32; g++ {
			for b := 0; b < 32; b++ {
				s.lut[r<<10|g<<5|b] = s.nearest(r<<3|4, g<<3|4, b<<3|4)
			}
		}
	}
	s.used = make([]bool, len(s.pal))
	s.bits = make([][]byte, len(s.pal))
	s.seen = make([]bool, len(s.pal))
	return s
}

func (s *Sixel) nearest(r, g, b int) uint8 {
	// The cube candidate is the rounded level; only greys need a search.
	ci := ((r+25)/51)*36 + ((g+25)/51)*6 + (b+25)/51
	best, bd := ci, sqDist(s.pal[ci], r, g, b)
	for i := 216; i < len(s.pal); i++ {
		if d := sqDist(s.pal[i], r, g, b); d < bd {
			best, bd = i, d
		}
	}
	return uint8(best)
}

func sqDist(p [3]uint8, r, g, b int) int {
	return sq(int(p[0])-r) + sq(int(p[1])-g) + sq(int(p[2])-b)
}

// Render draws f to fit a cols x rows pane. An invalid frame (see
// video.Frame.Validate) or an empty pane gives a zero SixelImage.
func (s *Sixel) Render(f *video.Frame, cols, rows int) SixelImage {
	if f.Validate() != nil || cols <= 0 || rows <= 0 {
		return SixelImage{}
	}
	aw, ah := cols*s.opt.CellWidth, rows*s.opt.CellHeight
	if s.opt.MaxScale > 0 {
		aw, ah = min(aw, f.Width*s.opt.MaxScale), min(ah, f.Height*s.opt.MaxScale)
	}
	_, _, w, h := Fit(f.Width, f.Height, aw, ah)
	rgb := s.sc.scale(f, w, h)
	if cap(s.idx) < w*h {
		s.idx = make([]uint8, w*h)
	}
	idx := s.idx[:w*h]
	clear(s.used)
	for i := range idx {
		p := rgb[3*i:]
		c := s.lut[int(p[0]>>3)<<10|int(p[1]>>3)<<5|int(p[2]>>3)]
		idx[i] = c
		s.used[c] = true
	}
	b := s.buf[:0]
	// DCS P1=0 (aspect 2:1 default, overridden by raster attributes),
	// P2=1 (pixels not drawn keep the background), q = sixel.
	b = append(b, "\x1bP0;1;0q\"1;1;"...)
	b = appendUint(b, w)
	b = append(b, ';')
	b = appendUint(b, h)
	for c, u := range s.used {
		if !u {
			continue
		}
		p := s.pal[c]
		b = append(b, '#')
		b = appendUint(b, c)
		b = append(b, ";2;"...)
		b = appendUint(b, (int(p[0])*100+127)/255)
		b = append(b, ';')
		b = appendUint(b, (int(p[1])*100+127)/255)
		b = append(b, ';')
		b = appendUint(b, (int(p[2])*100+127)/255)
	}
	for y0 := 0; y0 < h; y0 += 6 {
		if y0 > 0 {
			b = append(b, '-')
		}
		b = s.encodeBand(b, idx, w, y0, min(6, h-y0))
	}
	b = append(b, "\x1b\\"...)
	s.buf = b
	cw, ch := (w+s.opt.CellWidth-1)/s.opt.CellWidth, (h+s.opt.CellHeight-1)/s.opt.CellHeight
	return SixelImage{
		Seq: string(b), Width: w, Height: h,
		Col: max(0, (cols-cw)/2), Row: max(0, (rows-ch)/2), Cols: cw, Rows: ch,
	}
}

// encodeBand encodes up to six pixel rows starting at y0: one pass per
// colour present, each a run-length coded line of 6-bit column masks.
func (s *Sixel) encodeBand(b []byte, idx []uint8, w, y0, n int) []byte {
	s.inBand = s.inBand[:0]
	for k := 0; k < n; k++ {
		row := idx[(y0+k)*w : (y0+k+1)*w]
		bit := byte(1) << k
		for x, c := range row {
			m := s.bits[c]
			if len(m) != w {
				m = make([]byte, w)
				s.bits[c] = m
			}
			if !s.seen[c] {
				s.seen[c] = true
				s.inBand = append(s.inBand, int(c))
			}
			m[x] |= bit
		}
	}
	for i, c := range s.inBand {
		if i > 0 {
			b = append(b, '$')
		}
		b = append(b, '#')
		b = appendUint(b, c)
		m := s.bits[c]
		// Trailing empty columns need not be sent.
		end := w
		for end > 0 && m[end-1] == 0 {
			end--
		}
		for x := 0; x < end; {
			v := m[x]
			run := 1
			for x+run < end && m[x+run] == v {
				run++
			}
			ch := v + '?'
			if run > 3 {
				b = append(b, '!')
				b = appendUint(b, run)
				b = append(b, ch)
			} else {
				for j := 0; j < run; j++ {
					b = append(b, ch)
				}
			}
			x += run
		}
		clear(m)
		s.seen[c] = false
	}
	return b
}

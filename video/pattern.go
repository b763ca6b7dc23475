package video

import (
	"context"
	"image/color"
	"sync"
)

// PatternBars returns the colours of the seven vertical bars of the test
// pattern, left to right (100 % SMPTE-like bars). Tests compare BarMeans of
// a decoded frame against these. A function, so no caller can change them.
func PatternBars() [7]color.RGBA { return patternBars }

// patternBars is read-only: PatternBars hands out copies.
var patternBars = [7]color.RGBA{
	{255, 255, 255, 255}, // white
	{255, 255, 0, 255},   // yellow
	{0, 255, 255, 255},   // cyan
	{0, 255, 0, 255},     // green
	{255, 0, 255, 255},   // magenta
	{255, 0, 0, 255},     // red
	{0, 0, 255, 255},     // blue
}

// Pattern layout, as fractions of the frame height:
//   - rows [0, 2/3): the seven bars, each about Width/7 wide (edges on even x);
//   - rows [2/3, 5/6): black, with a white square of side H/6 that moves
//     right by 4 px per frame and wraps, so the encoder sees motion;
//   - rows [5/6, H): a 16-bit frame counter, bit 15 on the left, each bit a
//     block Width/16 wide: light grey (Y=235) for 1, dark (Y=40) for 0.
const (
	counterBits  = 16
	counterOnY   = 235
	counterOffY  = 40
	squareStepPx = 4
)

// Pattern is a deterministic synthetic Source: frame n is always the same
// picture. It is safe for concurrent use.
type Pattern struct {
	w, h int
	// still holds the parts that never move (bars, black), rendered once:
	// each frame starts as a copy of it. Read-only after NewPattern.
	still *Frame
	mu    sync.Mutex
	n     int
}

// NewPattern returns a pattern source of w x h pixels (at least 32x24).
func NewPattern(w, h int) (*Pattern, error) {
	if w < 32 || h < 24 || w > MaxWidth || h > MaxHeight {
		return nil, ErrBadSize
	}
	return &Pattern{w: w, h: h, still: renderStill(w, h)}, nil
}

// ReadFrame returns the next frame. It never blocks: the caller paces it.
func (p *Pattern) ReadFrame(ctx context.Context) (*Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	n := p.n
	p.n++
	p.mu.Unlock()
	return p.Frame(n), nil
}

// Close implements Source.
func (p *Pattern) Close() error { return nil }

// Size returns the frame size.
func (p *Pattern) Size() (w, h int) { return p.w, p.h }

// barEdges returns the x where bar i starts, rounded to an even column so
// that no chroma sample straddles two bars.
func barEdge(i, w int) int { return (i * w / 7) &^ 1 }

// Frame renders frame number n: a copy of the still parts with the square
// and the counter of frame n drawn on it.
func (p *Pattern) Frame(n int) *Frame {
	w, h := p.w, p.h
	f := p.fresh()
	barsEnd := (h * 2 / 3) &^ 1
	// Moving square (luma only; chroma stays neutral below the bars).
	sq := h / 6
	sqTop := barsEnd
	span := w - sq
	x0 := (n * squareStepPx) % span
	if x0 < 0 {
		x0 += span
	}
	for y := sqTop; y < sqTop+sq && y < h; y++ {
		row := f.Y[y*f.YStride+x0 : y*f.YStride+x0+sq]
		for x := range row {
			row[x] = 235
		}
	}
	// Frame counter: one row drawn, copied to the others.
	cTop := h * 5 / 6
	first := f.Y[cTop*f.YStride : cTop*f.YStride+w]
	for bit := 0; bit < counterBits; bit++ {
		val := byte(counterOffY)
		if (n>>(counterBits-1-bit))&1 == 1 {
			val = counterOnY
		}
		bx0, bx1 := bit*w/counterBits, (bit+1)*w/counterBits
		for x := bx0; x < bx1; x++ {
			first[x] = val
		}
	}
	for y := cTop + 1; y < h; y++ {
		copy(f.Y[y*f.YStride:y*f.YStride+w], first)
	}
	return f
}

// fresh returns a copy of the still frame, its planes in one buffer
// copied at once (NewFrame would first fill what the copy overwrites).
func (p *Pattern) fresh() *Frame {
	s := p.still
	ny, nc := len(s.Y), len(s.U)
	buf := make([]byte, ny+2*nc)
	copy(buf, s.Y)
	copy(buf[ny:], s.U)
	copy(buf[ny+nc:], s.V)
	return &Frame{
		Width: s.Width, Height: s.Height,
		Y: buf[:ny:ny], U: buf[ny : ny+nc : ny+nc], V: buf[ny+nc:],
		YStride: s.YStride, UStride: s.UStride, VStride: s.VStride,
	}
}

// renderStill draws the parts of the pattern that are the same in every
// frame: the bars over black.
func renderStill(w, h int) *Frame {
	f := NewFrame(w, h)
	barsEnd := (h * 2 / 3) &^ 1
	for i, c := range patternBars {
		x0, x1 := barEdge(i, w), barEdge(i+1, w)
		if i == 6 {
			x1 = w
		}
		yv, u, v := RGBToYUV(c.R, c.G, c.B)
		for y := 0; y < barsEnd; y++ {
			row := f.Y[y*f.YStride:]
			for x := x0; x < x1; x++ {
				row[x] = yv
			}
		}
		for cy := 0; cy < barsEnd/2; cy++ {
			for cx := x0 / 2; cx < (x1+1)/2; cx++ {
				f.U[cy*f.UStride+cx] = u
				f.V[cy*f.VStride+cx] = v
			}
		}
	}
	return f
}

// PatternCounter reads the frame counter from a (possibly decoded) pattern
// frame, sampling the middle of each bit block. It returns n mod 65536.
func PatternCounter(f *Frame) int {
	if f == nil || f.Width < 32 || f.Height < 24 {
		return -1
	}
	cTop := f.Height * 5 / 6
	yMid := (cTop + f.Height) / 2
	n := 0
	for bit := 0; bit < counterBits; bit++ {
		bx0, bx1 := bit*f.Width/counterBits, (bit+1)*f.Width/counterBits
		// Average a few pixels around the centre to ride out codec noise.
		sum, cnt := 0, 0
		for x := bx0 + (bx1-bx0)/4; x < bx1-(bx1-bx0)/4; x++ {
			sum += int(f.Y[yMid*f.YStride+x])
			cnt++
		}
		n <<= 1
		if cnt > 0 && sum/cnt > (counterOnY+counterOffY)/2 {
			n |= 1
		}
	}
	return n
}

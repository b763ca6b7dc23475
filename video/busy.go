package video

import (
	"context"
	"sync"
)

// Busy is a synthetic Source that is hard to compress: a fine-grained
// texture that moves a few pixels every frame in both directions, with
// fresh noise on top. The test pattern compresses to ~56 kbit/s at
// 320x240@15; Busy fills whatever bitrate the encoder is given, so it is
// the source for testing bandwidth adaptation. Its size can change while
// it runs (SetSize): a sender asks it for the size it encodes instead of
// scaling every frame.
type Busy struct {
	mu   sync.Mutex
	w, h int
	n    int
	seed uint32
}

// NewBusy returns a busy source of w x h pixels (at least 16x16, even).
func NewBusy(w, h int) (*Busy, error) {
	if !busySizeOK(w, h) {
		return nil, ErrBadSize
	}
	return &Busy{w: w, h: h, seed: 0x9e3779b9}, nil
}

func busySizeOK(w, h int) bool {
	return w >= 16 && h >= 16 && w <= MaxWidth && h <= MaxHeight && w%2 == 0 && h%2 == 0
}

// SetSize makes the following frames w x h; a size out of range is
// ignored (the source keeps its size).
func (b *Busy) SetSize(w, h int) {
	if !busySizeOK(w, h) {
		return
	}
	b.mu.Lock()
	b.w, b.h = w, h
	b.mu.Unlock()
}

// Size returns the size of the next frame.
func (b *Busy) Size() (w, h int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w, b.h
}

// ReadFrame returns the next frame. It never blocks: the caller paces it.
func (b *Busy) ReadFrame(ctx context.Context) (*Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	w, h, n := b.w, b.h, b.n
	b.n++
	b.seed = b.seed*1664525 + 1013904223
	seed := b.seed
	b.mu.Unlock()
	return busyFrame(w, h, n, seed), nil
}

// Close implements Source.
func (b *Busy) Close() error { return nil }

// busyFrame renders frame n: a texture from a hash of the (moving)
// position, plus noise from a per-frame xorshift stream. The texture is
// a function of the position, not of a stored image, so any size costs
// the same per pixel and resizing needs no state.
func busyFrame(w, h, n int, seed uint32) *Frame {
	f := NewFrame(w, h)
	dx, dy := n*3, n*2
	r := seed | 1
	for y := range h {
		row := f.Y[y*f.YStride : y*f.YStride+w]
		ty := uint32(y+dy) >> 2
		for x := range row {
			tx := uint32(x+dx) >> 2
			// A 4x4-cell texture: hashed cell values, so neighbouring
			// cells differ and motion search has real work to do.
			v := (tx*73856093 ^ ty*19349663) >> 8
			r ^= r << 13
			r ^= r >> 17
			r ^= r << 5
			row[x] = byte(40 + (v & 0x7f) + (r & 0x1f))
		}
	}
	cw, ch := f.ChromaSize()
	for y := range ch {
		u := f.U[y*f.UStride : y*f.UStride+cw]
		v := f.V[y*f.VStride : y*f.VStride+cw]
		for x := range cw {
			u[x] = byte(96 + (x+n)&63)
			v[x] = byte(96 + (y+n)&63)
		}
	}
	return f
}

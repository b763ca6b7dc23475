package video

import (
	"fmt"
	"image"
	"image/color"
)

// Frame is one picture in I420 (planar YUV 4:2:0, BT.601 limited range).
// The chroma planes are ((Width+1)/2) x ((Height+1)/2). Strides may exceed
// the visible width.
type Frame struct {
	Width, Height int
	Y, U, V       []byte
	YStride       int
	UStride       int
	VStride       int
}

// NewFrame allocates a black frame of w x h pixels with tight strides.
// Non-positive sizes give an empty 0x0 frame.
func NewFrame(w, h int) *Frame {
	if w <= 0 || h <= 0 {
		return &Frame{}
	}
	cw, ch := (w+1)/2, (h+1)/2
	buf := make([]byte, w*h+2*cw*ch)
	f := &Frame{
		Width: w, Height: h,
		Y: buf[:w*h], U: buf[w*h : w*h+cw*ch], V: buf[w*h+cw*ch:],
		YStride: w, UStride: cw, VStride: cw,
	}
	for i := range f.Y {
		f.Y[i] = 16
	}
	for i := range f.U {
		f.U[i] = 128
		f.V[i] = 128
	}
	return f
}

// Validate reports whether the planes are large enough for the size and
// strides, so that indexing cannot go out of range. Consumers of frames
// from outside (codecs, files) check this before touching pixels.
func (f *Frame) Validate() error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrBadSize)
	}
	if f.Width <= 0 || f.Height <= 0 || f.Width > MaxWidth || f.Height > MaxHeight {
		return fmt.Errorf("%w: %dx%d", ErrBadSize, f.Width, f.Height)
	}
	cw, ch := f.ChromaSize()
	if f.YStride < f.Width || f.UStride < cw || f.VStride < cw ||
		len(f.Y) < (f.Height-1)*f.YStride+f.Width ||
		len(f.U) < (ch-1)*f.UStride+cw || len(f.V) < (ch-1)*f.VStride+cw {
		return fmt.Errorf("%w: planes too short for %dx%d with strides %d/%d/%d", ErrBadSize, f.Width, f.Height, f.YStride, f.UStride, f.VStride)
	}
	return nil
}

// ChromaSize returns the size of the U and V planes.
func (f *Frame) ChromaSize() (w, h int) { return (f.Width + 1) / 2, (f.Height + 1) / 2 }

// Clone returns a deep copy with tight strides.
func (f *Frame) Clone() *Frame {
	c := NewFrame(f.Width, f.Height)
	if c.Width == 0 {
		return c
	}
	cw, ch := f.ChromaSize()
	copyPlane(c.Y, c.YStride, f.Y, f.YStride, f.Width, f.Height)
	copyPlane(c.U, c.UStride, f.U, f.UStride, cw, ch)
	copyPlane(c.V, c.VStride, f.V, f.VStride, cw, ch)
	return c
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}

// At returns the pixel at (x, y) converted to RGB.
func (f *Frame) At(x, y int) color.RGBA {
	yy := f.Y[y*f.YStride+x]
	u := f.U[(y/2)*f.UStride+x/2]
	v := f.V[(y/2)*f.VStride+x/2]
	r, g, b := YUVToRGB(yy, u, v)
	return color.RGBA{r, g, b, 255}
}

// ToRGBA converts the frame to an RGBA image.
func (f *Frame) ToRGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := 0; y < f.Height; y++ {
		row := img.Pix[y*img.Stride:]
		yrow := f.Y[y*f.YStride:]
		urow := f.U[(y/2)*f.UStride:]
		vrow := f.V[(y/2)*f.VStride:]
		for x := 0; x < f.Width; x++ {
			r, g, b := YUVToRGB(yrow[x], urow[x/2], vrow[x/2])
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = r, g, b, 255
		}
	}
	return img
}

// FromImage converts any image to an I420 frame. Chroma is the average of
// each 2x2 block, so sharp colour edges on odd pixels blur by one pixel.
func FromImage(img image.Image) *Frame {
	b := img.Bounds()
	f := NewFrame(b.Dx(), b.Dy())
	if f.Width == 0 {
		return f
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				rgba.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
		b = rgba.Bounds()
	}
	pix := func(x, y int) (int, int, int) {
		o := (y-b.Min.Y)*rgba.Stride + (x-b.Min.X)*4
		return int(rgba.Pix[o]), int(rgba.Pix[o+1]), int(rgba.Pix[o+2])
	}
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			r, g, bb := pix(b.Min.X+x, b.Min.Y+y)
			f.Y[y*f.YStride+x] = lumaOf(r, g, bb)
		}
	}
	cw, ch := f.ChromaSize()
	for cy := 0; cy < ch; cy++ {
		for cx := 0; cx < cw; cx++ {
			var sr, sg, sb, n int
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					x, y := 2*cx+dx, 2*cy+dy
					if x >= f.Width || y >= f.Height {
						continue
					}
					r, g, bb := pix(b.Min.X+x, b.Min.Y+y)
					sr, sg, sb, n = sr+r, sg+g, sb+bb, n+1
				}
			}
			r, g, bb := (sr+n/2)/n, (sg+n/2)/n, (sb+n/2)/n
			_, u, v := RGBToYUV(uint8(r), uint8(g), uint8(bb))
			f.U[cy*f.UStride+cx] = u
			f.V[cy*f.VStride+cx] = v
		}
	}
	return f
}

// FromRGBA converts an RGBA image to an I420 frame.
func FromRGBA(img *image.RGBA) *Frame { return FromImage(img) }

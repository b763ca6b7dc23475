package video

import (
	"fmt"
	"image/color"
	"math"
)

// BarMeans returns the mean RGB colour of each of the seven pattern bars in
// f, measured over the middle half of each bar's width and rows 10-60 % of
// the height (away from edges, where codecs smear). f may have any size; the
// bar geometry is taken from f's own size.
func BarMeans(f *Frame) []color.RGBA {
	if f == nil || f.Width < 14 || f.Height < 10 {
		return nil
	}
	out := make([]color.RGBA, 7)
	y0, y1 := f.Height/10, f.Height*6/10
	for i := range out {
		x0, x1 := barEdge(i, f.Width), barEdge(i+1, f.Width)
		if i == 6 {
			x1 = f.Width
		}
		q := (x1 - x0) / 4
		var sr, sg, sb, n int
		for y := y0; y < y1; y++ {
			for x := x0 + q; x < x1-q; x++ {
				c := f.At(x, y)
				sr, sg, sb, n = sr+int(c.R), sg+int(c.G), sb+int(c.B), n+1
			}
		}
		if n > 0 {
			out[i] = color.RGBA{uint8(sr / n), uint8(sg / n), uint8(sb / n), 255}
		}
	}
	return out
}

// CheckPattern reports whether every bar mean of f is within tol (per
// channel) of PatternBars; the error names the first bar that is off.
func CheckPattern(f *Frame, tol int) error {
	means := BarMeans(f)
	if means == nil {
		return fmt.Errorf("%w: frame too small for the pattern", ErrBadSize)
	}
	for i, m := range means {
		want := patternBars[i]
		if absInt(int(m.R)-int(want.R)) > tol || absInt(int(m.G)-int(want.G)) > tol || absInt(int(m.B)-int(want.B)) > tol {
			return fmt.Errorf("video: bar %d mean %v, want %v ± %d", i, m, want, tol)
		}
	}
	return nil
}

// PSNR returns the peak signal-to-noise ratio in dB between the luma
// planes of a and b, or +Inf when they are identical and 0 when the sizes differ.
func PSNR(a, b *Frame) float64 {
	if a == nil || b == nil || a.Width != b.Width || a.Height != b.Height || a.Width == 0 {
		return 0
	}
	var se float64
	for y := 0; y < a.Height; y++ {
		ra, rb := a.Y[y*a.YStride:], b.Y[y*b.YStride:]
		for x := 0; x < a.Width; x++ {
			d := float64(ra[x]) - float64(rb[x])
			se += d * d
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	mse := se / float64(a.Width*a.Height)
	return 10 * math.Log10(255*255/mse)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

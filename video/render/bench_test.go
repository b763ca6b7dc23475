package render

import (
	"testing"

	"github.com/termcall/termcall/video"
)

// benchFrames returns 16 frames of 320x240: the moving test pattern, or a
// camera-like picture (gradients plus per-frame noise), which costs far
// more bytes because neighbouring cells rarely share a colour.
func benchFrames(b *testing.B, textured bool) []*video.Frame {
	b.Helper()
	p, err := video.NewPattern(320, 240)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]*video.Frame, 16)
	seed := uint32(1)
	for i := range out {
		f := p.Frame(i)
		if textured {
			for y := 0; y < f.Height; y++ {
				for x := 0; x < f.Width; x++ {
					seed ^= seed << 13
					seed ^= seed >> 17
					seed ^= seed << 5
					f.Y[y*f.YStride+x] = byte(16 + (x+y+i*3)%200 + int(seed&15))
				}
			}
			for j := range f.U {
				f.U[j] = byte(64 + (j+i)%128)
				f.V[j] = byte(192 - (j/160+i)%128)
			}
		}
		out[i] = f
	}
	return out
}

func benchCells(b *testing.B, k Kind) {
	for _, textured := range []bool{false, true} {
		name := "pattern"
		if textured {
			name = "textured"
		}
		b.Run(name, func(b *testing.B) {
			frames := benchFrames(b, textured)
			r := NewCells(k)
			total := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, l := range r.Render(frames[i%len(frames)], 120, 40) {
					total += len(l)
				}
			}
			b.ReportMetric(float64(total)/float64(b.N), "bytes/frame")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}

// BenchmarkRenderHalfBlock: 320x240 into a 120x40 pane, truecolour.
func BenchmarkRenderHalfBlock(b *testing.B) { benchCells(b, KindHalfBlock) }

// BenchmarkRender256: 320x240 into a 120x40 pane, xterm 256 colours.
func BenchmarkRender256(b *testing.B) { benchCells(b, Kind256) }

// BenchmarkRenderASCII: 320x240 into a 120x40 pane, monochrome.
func BenchmarkRenderASCII(b *testing.B) { benchCells(b, KindASCII) }

// BenchmarkRenderDiffHalfBlock: truecolour through Differ (bytes actually
// written when only changed rows are redrawn).
func BenchmarkRenderDiffHalfBlock(b *testing.B) {
	frames := benchFrames(b, false)
	r := NewCells(KindHalfBlock)
	var d Differ
	total := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		total += len(d.Diff(r.Render(frames[i%len(frames)], 120, 40), 1, 1))
	}
	b.ReportMetric(float64(total)/float64(b.N), "bytes/frame")
}

// BenchmarkRenderSixel: 320x240 into a 120x40 pane of 10x20-pixel cells,
// at native size (MaxScale 1) and the default 2x cap (640x480).
func BenchmarkRenderSixel(b *testing.B) {
	for _, scale := range []int{1, 2} {
		for _, textured := range []bool{false, true} {
			name := "pattern"
			if textured {
				name = "textured"
			}
			b.Run(name+"-x"+string(rune('0'+scale)), func(b *testing.B) {
				frames := benchFrames(b, textured)
				s := NewSixel(SixelOptions{MaxScale: scale})
				total := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					total += len(s.Render(frames[i%len(frames)], 120, 40).Seq)
				}
				b.ReportMetric(float64(total)/float64(b.N), "bytes/frame")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
			})
		}
	}
}

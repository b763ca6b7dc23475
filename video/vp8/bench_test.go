package vp8

import (
	"testing"

	"github.com/termcall/termcall/video"
)

// benchSource returns 60 frames of 320x240: the test pattern, or the
// pattern with moving texture (harder, closer to camera content).
func benchSource(b *testing.B, textured bool) []*video.Frame {
	b.Helper()
	p, err := video.NewPattern(320, 240)
	if err != nil {
		b.Fatal(err)
	}
	frames := make([]*video.Frame, 60)
	for i := range frames {
		frames[i] = p.Frame(i)
		if textured {
			f := frames[i]
			for y := 0; y < f.Height; y++ {
				for x := 0; x < f.Width; x++ {
					v := int(f.Y[y*f.YStride+x])*3/4 + ((x*7+y*3+i*5)^(x*y+i))&31
					f.Y[y*f.YStride+x] = byte(v)
				}
			}
		}
	}
	return frames
}

func variants(b *testing.B, run func(b *testing.B, frames []*video.Frame)) {
	for _, textured := range []bool{false, true} {
		name := "pattern"
		if textured {
			name = "textured"
		}
		b.Run(name, func(b *testing.B) { run(b, benchSource(b, textured)) })
	}
}

// BenchmarkVP8Encode320x240: realtime, cpu-used -6, 300 kbit/s, one thread.
func BenchmarkVP8Encode320x240(b *testing.B) {
	variants(b, func(b *testing.B, frames []*video.Frame) {
		enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, FPS: 15})
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Close()
		total := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			data, _, err := enc.Encode(frames[i%len(frames)], int64(i))
			if err != nil {
				b.Fatal(err)
			}
			total += len(data)
		}
		b.ReportMetric(float64(total)/float64(b.N), "bytes/frame")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
	})
}

// BenchmarkVP8Decode320x240 decodes a 60-frame stream (one keyframe) in a loop.
func BenchmarkVP8Decode320x240(b *testing.B) {
	variants(b, func(b *testing.B, frames []*video.Frame) {
		enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, FPS: 15})
		if err != nil {
			b.Fatal(err)
		}
		stream := make([][]byte, len(frames))
		for i, f := range frames {
			if stream[i], _, err = enc.Encode(f, int64(i)); err != nil {
				b.Fatal(err)
			}
		}
		enc.Close()
		dec, err := NewDecoder(DecoderConfig{})
		if err != nil {
			b.Fatal(err)
		}
		defer dec.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := dec.Decode(stream[i%len(stream)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
	})
}

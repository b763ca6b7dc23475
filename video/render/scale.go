package render

import "github.com/termcall/termcall/video"

// Fit scales a srcW x srcH picture into a dstW x dstH area of square
// pixels, keeping the aspect ratio, and centres it: it returns the offset
// and size of the picture inside the area. A degenerate input gives 0s.
func Fit(srcW, srcH, dstW, dstH int) (x, y, w, h int) {
	if srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0 {
		return 0, 0, 0, 0
	}
	// Compare srcW/srcH with dstW/dstH without floats.
	if srcW*dstH >= dstW*srcH {
		w = dstW
		h = (srcH*dstW + srcW/2) / srcW
	} else {
		h = dstH
		w = (srcW*dstH + srcH/2) / srcH
	}
	w, h = max(1, min(w, dstW)), max(1, min(h, dstH))
	return (dstW - w) / 2, (dstH - h) / 2, w, h
}

// scaler box-filters a frame to w x h RGB pixels. It averages Y over each
// destination pixel's source block and U, V over the matching chroma block,
// then converts once per destination pixel.
type scaler struct {
	srcW, srcH, w, h int
	xr, yr           []int32 // source ranges: [xr[2i], xr[2i+1])
	cxr, cyr         []int32
	rgb              []byte // w*h*3
	direct           bool   // every block is one pixel: sample, do not average
}

func ranges(src, dst int, r []int32) []int32 {
	r = r[:0]
	for i := 0; i < dst; i++ {
		a := i * src / dst
		b := (i + 1) * src / dst
		if b <= a {
			b = a + 1
		}
		r = append(r, int32(a), int32(b))
	}
	return r
}

func chromaRanges(lr []int32, r []int32) []int32 {
	r = r[:0]
	for i := 0; i < len(lr); i += 2 {
		a, b := lr[i]/2, (lr[i+1]+1)/2
		if b <= a {
			b = a + 1
		}
		r = append(r, a, b)
	}
	return r
}

// scale fills s.rgb with f scaled to w x h.
func (s *scaler) scale(f *video.Frame, w, h int) []byte {
	if s.srcW != f.Width || s.srcH != f.Height || s.w != w || s.h != h {
		s.srcW, s.srcH, s.w, s.h = f.Width, f.Height, w, h
		s.xr = ranges(f.Width, w, s.xr)
		s.yr = ranges(f.Height, h, s.yr)
		s.cxr = chromaRanges(s.xr, s.cxr)
		s.cyr = chromaRanges(s.yr, s.cyr)
		s.direct = w >= f.Width && h >= f.Height
		if cap(s.rgb) < w*h*3 {
			s.rgb = make([]byte, w*h*3)
		}
		s.rgb = s.rgb[:w*h*3]
	}
	out := s.rgb
	if s.direct {
		s.sample(f, out)
		return out
	}
	o := 0
	for dy := 0; dy < h; dy++ {
		y0, y1 := int(s.yr[2*dy]), int(s.yr[2*dy+1])
		cy0, cy1 := int(s.cyr[2*dy]), int(s.cyr[2*dy+1])
		for dx := 0; dx < w; dx++ {
			x0, x1 := int(s.xr[2*dx]), int(s.xr[2*dx+1])
			cx0, cx1 := int(s.cxr[2*dx]), int(s.cxr[2*dx+1])
			var sy, n int
			for y := y0; y < y1; y++ {
				row := f.Y[y*f.YStride+x0 : y*f.YStride+x1]
				for _, v := range row {
					sy += int(v)
				}
				n += len(row)
			}
			var su, sv, cn int
			for y := cy0; y < cy1; y++ {
				ur := f.U[y*f.UStride+cx0 : y*f.UStride+cx1]
				vr := f.V[y*f.VStride+cx0 : y*f.VStride+cx1]
				for i := range ur {
					su += int(ur[i])
					sv += int(vr[i])
				}
				cn += len(ur)
			}
			r, g, b := video.YUVToRGB(uint8((sy+n/2)/n), uint8((su+cn/2)/cn), uint8((sv+cn/2)/cn))
			out[o], out[o+1], out[o+2] = r, g, b
			o += 3
		}
	}
	return out
}

// sample is the upscaling path: nearest neighbour, converting each source
// pixel once per destination row run.
func (s *scaler) sample(f *video.Frame, out []byte) {
	o := 0
	for dy := 0; dy < s.h; dy++ {
		sy := int(s.yr[2*dy])
		if dy > 0 && int(s.yr[2*dy-2]) == sy {
			// Same source row as the previous line: copy it.
			copy(out[o:o+3*s.w], out[o-3*s.w:o])
			o += 3 * s.w
			continue
		}
		yrow := f.Y[sy*f.YStride:]
		urow := f.U[(sy/2)*f.UStride:]
		vrow := f.V[(sy/2)*f.VStride:]
		lastX := -1
		var r, g, b uint8
		for dx := 0; dx < s.w; dx++ {
			sx := int(s.xr[2*dx])
			if sx != lastX {
				r, g, b = video.YUVToRGB(yrow[sx], urow[sx/2], vrow[sx/2])
				lastX = sx
			}
			out[o], out[o+1], out[o+2] = r, g, b
			o += 3
		}
	}
}

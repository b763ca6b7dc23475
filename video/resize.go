package video

// Resize returns f scaled to w x h: an area average when shrinking, nearest
// neighbour when growing, per plane. Use it when a source (camera, Y4M)
// delivers a size other than the one the encoder was configured for.
func Resize(f *Frame, w, h int) *Frame {
	if f.Validate() != nil || w <= 0 || h <= 0 {
		return NewFrame(w, h)
	}
	if f.Width == w && f.Height == h {
		return f.Clone()
	}
	d := NewFrame(w, h)
	resizePlane(d.Y, d.YStride, w, h, f.Y, f.YStride, f.Width, f.Height)
	cw, ch := d.ChromaSize()
	scw, sch := f.ChromaSize()
	resizePlane(d.U, d.UStride, cw, ch, f.U, f.UStride, scw, sch)
	resizePlane(d.V, d.VStride, cw, ch, f.V, f.VStride, scw, sch)
	return d
}

func resizePlane(dst []byte, dstStride, dw, dh int, src []byte, srcStride, sw, sh int) {
	for dy := 0; dy < dh; dy++ {
		y0 := dy * sh / dh
		y1 := max(y0+1, (dy+1)*sh/dh)
		for dx := 0; dx < dw; dx++ {
			x0 := dx * sw / dw
			x1 := max(x0+1, (dx+1)*sw/dw)
			sum := 0
			for y := y0; y < y1; y++ {
				for _, v := range src[y*srcStride+x0 : y*srcStride+x1] {
					sum += int(v)
				}
			}
			n := (y1 - y0) * (x1 - x0)
			dst[dy*dstStride+dx] = byte((sum + n/2) / n)
		}
	}
}

package camera

import "github.com/termcall/termcall/video"

// ConvertYUYV converts packed YUYV 4:2:2 (Y0 U Y1 V per pixel pair, rows
// of stride bytes) into dst, whose size gives the picture size. Chroma of
// each row pair is averaged to 4:2:0. It returns false, converting
// nothing, unless W is even, stride >= 2*W and src holds stride*(H-1)+2*W
// bytes.
func ConvertYUYV(dst *video.Frame, src []byte, stride int) bool {
	w, h := dst.Width, dst.Height
	if dst.Validate() != nil || w%2 != 0 || stride < 2*w || len(src) < stride*(h-1)+2*w {
		return false
	}
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+2*w]
		yd := dst.Y[y*dst.YStride : y*dst.YStride+w]
		for x := range yd {
			yd[x] = row[2*x]
		}
	}
	cw, ch := dst.ChromaSize()
	for cy := 0; cy < ch; cy++ {
		r0 := src[2*cy*stride:]
		r1 := r0
		if 2*cy+1 < h {
			r1 = src[(2*cy+1)*stride:]
		}
		ud := dst.U[cy*dst.UStride:]
		vd := dst.V[cy*dst.VStride:]
		for cx := 0; cx < cw; cx++ {
			o := 4 * cx
			ud[cx] = byte((int(r0[o+1]) + int(r1[o+1]) + 1) / 2)
			vd[cx] = byte((int(r0[o+3]) + int(r1[o+3]) + 1) / 2)
		}
	}
	return true
}

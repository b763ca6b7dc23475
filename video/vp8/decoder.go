package vp8

// #include "tc_vpx.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/termcall/termcall/video"
)

// DecoderConfig configures a Decoder. Zero fields take the defaults.
type DecoderConfig struct {
	// MaxWidth and MaxHeight bound keyframe sizes (default 1920x1080).
	// Larger keyframes are refused before libvpx sees them: a forged
	// 16383x16383 header would otherwise cost seconds and ~1 GB.
	MaxWidth, MaxHeight int
}

// Decoder decodes a VP8 frame stream. It accepts size changes at
// keyframes, never panics on malformed input, and returns frames in Go
// memory. Methods may be called from any goroutine (they serialise).
type Decoder struct {
	cfg     DecoderConfig
	mu      sync.Mutex
	d       *C.tc_dec
	haveKey bool
}

// NewDecoder creates a decoder. Call Close to free its C memory.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	if cfg.MaxWidth == 0 {
		cfg.MaxWidth = video.MaxWidth
	}
	if cfg.MaxHeight == 0 {
		cfg.MaxHeight = video.MaxHeight
	}
	if cfg.MaxWidth < 0 || cfg.MaxHeight < 0 || cfg.MaxWidth > 16383 || cfg.MaxHeight > 16383 {
		return nil, fmt.Errorf("%w: max size %dx%d", ErrBadConfig, cfg.MaxWidth, cfg.MaxHeight)
	}
	var code C.int
	d := C.tc_dec_new(&code)
	if d == nil {
		return nil, vpxErr("decoder init", code)
	}
	return &Decoder{cfg: cfg, d: d}, nil
}

// Decode decodes one VP8 frame (the payload of one RTP frame, depacketised).
// It returns ErrNoFrame when the packet held no picture to show. After an
// error the caller should request a keyframe (PLI).
func (d *Decoder) Decode(data []byte) (*video.Frame, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if h.Keyframe && (h.Width > d.cfg.MaxWidth || h.Height > d.cfg.MaxHeight) {
		return nil, fmt.Errorf("%w: keyframe %dx%d, limit %dx%d", ErrTooLarge, h.Width, h.Height, d.cfg.MaxWidth, d.cfg.MaxHeight)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d == nil {
		return nil, ErrClosed
	}
	if !h.Keyframe && !d.haveKey {
		return nil, ErrNoKeyframe
	}
	if code := C.tc_dec_decode(d.d, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data))); code != 0 {
		if h.Keyframe {
			d.haveKey = false
		}
		return nil, vpxErr("decode", code)
	}
	if h.Keyframe {
		d.haveKey = true
	}
	if d.d.img == nil {
		return nil, ErrNoFrame
	}
	if int(C.tc_img_fmt(d.d)) != int(C.tc_img_fmt_i420()) {
		return nil, fmt.Errorf("%w: decoder output format %d is not I420", ErrCorrupt, int(C.tc_img_fmt(d.d)))
	}
	w, ht := int(C.tc_img_w(d.d)), int(C.tc_img_h(d.d))
	if w <= 0 || ht <= 0 || w > d.cfg.MaxWidth || ht > d.cfg.MaxHeight {
		return nil, fmt.Errorf("%w: decoded %dx%d, limit %dx%d", ErrTooLarge, w, ht, d.cfg.MaxWidth, d.cfg.MaxHeight)
	}
	f := outFrame(w, ht)
	cw, ch := f.ChromaSize()
	copyOut(f.Y, f.YStride, d.d, 0, w, ht)
	copyOut(f.U, f.UStride, d.d, 1, cw, ch)
	copyOut(f.V, f.VStride, d.d, 2, cw, ch)
	return f, nil
}

// outFrame allocates a frame for a decoded picture. Every byte of it is
// then copied from libvpx, so unlike video.NewFrame it fills nothing.
func outFrame(w, h int) *video.Frame {
	cw, ch := (w+1)/2, (h+1)/2
	ny, nc := w*h, cw*ch
	buf := make([]byte, ny+2*nc)
	return &video.Frame{
		Width: w, Height: h,
		Y: buf[:ny:ny], U: buf[ny : ny+nc : ny+nc], V: buf[ny+nc:],
		YStride: w, UStride: cw, VStride: cw,
	}
}

// copyOut copies plane p of the decoder's current image into dst.
func copyOut(dst []byte, dstStride int, d *C.tc_dec, p, w, h int) {
	stride := int(C.tc_img_stride(d, C.int(p)))
	base := unsafe.Pointer(C.tc_img_plane(d, C.int(p)))
	src := unsafe.Slice((*byte)(base), (h-1)*stride+w)
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], src[y*stride:y*stride+w])
	}
}

// Close frees the decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d != nil {
		C.tc_dec_free(d.d)
		d.d = nil
	}
	return nil
}

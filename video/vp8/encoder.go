package vp8

// #include "tc_vpx.h"
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/termcall/termcall/video"
)

// Encoder defaults.
const (
	DefaultBitrateKbps     = 300
	DefaultCPUUsed         = -6
	DefaultKeyframeMaxDist = 300 // frames; PLI/FIR ask for keyframes sooner
)

// EncoderConfig configures an Encoder. Zero fields take the defaults.
type EncoderConfig struct {
	Width, Height int
	FPS           int // default video.DefaultFPS
	BitrateKbps   int // default 300
	// CPUUsed is libvpx's speed/quality knob (-16..16, negative = realtime
	// adaptive). Default -6: faster values overshoot the bitrate.
	CPUUsed int
	// KeyframeMaxDist is the longest gap between keyframes, in frames.
	KeyframeMaxDist int
	// DropFrameThreshold lets the rate controller drop frames when its
	// buffer falls below this percentage (0 disables dropping).
	DropFrameThreshold int
}

func (c *EncoderConfig) fill() error {
	if c.Width <= 0 || c.Height <= 0 || c.Width > video.MaxWidth || c.Height > video.MaxHeight {
		return fmt.Errorf("%w: size %dx%d", ErrBadConfig, c.Width, c.Height)
	}
	if c.FPS == 0 {
		c.FPS = video.DefaultFPS
	}
	if c.BitrateKbps == 0 {
		c.BitrateKbps = DefaultBitrateKbps
	}
	if c.CPUUsed == 0 {
		c.CPUUsed = DefaultCPUUsed
	}
	if c.KeyframeMaxDist == 0 {
		c.KeyframeMaxDist = DefaultKeyframeMaxDist
	}
	if c.FPS < 0 || c.FPS > 240 || c.BitrateKbps < 0 || c.CPUUsed < -16 || c.CPUUsed > 16 ||
		c.KeyframeMaxDist < 0 || c.DropFrameThreshold < 0 || c.DropFrameThreshold > 100 {
		return fmt.Errorf("%w: %+v", ErrBadConfig, *c)
	}
	return nil
}

// Encoder is a realtime VP8 encoder (one thread, error resilient, CBR).
// Encode must not be called concurrently with itself; ForceKeyframe may be
// called from any goroutine (e.g. the RTCP reader on PLI/FIR).
type Encoder struct {
	cfg      EncoderConfig
	forceKey atomic.Bool
	mu       sync.Mutex
	e        *C.tc_enc
}

// NewEncoder creates an encoder. Call Close to free its C memory.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	var code C.int
	e := C.tc_enc_new(C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS), C.int(cfg.BitrateKbps),
		C.int(cfg.CPUUsed), C.int(cfg.KeyframeMaxDist), C.int(cfg.DropFrameThreshold), &code)
	if e == nil {
		return nil, vpxErr("encoder init", code)
	}
	return &Encoder{cfg: cfg, e: e}, nil
}

// Config returns the effective configuration.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// ForceKeyframe makes the next Encode produce a keyframe (on PLI or FIR).
func (e *Encoder) ForceKeyframe() { e.forceKey.Store(true) }

// SetBitrate changes the target bitrate for following frames.
func (e *Encoder) SetBitrate(kbps int) error {
	if kbps <= 0 {
		return fmt.Errorf("%w: bitrate %d", ErrBadConfig, kbps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.e == nil {
		return ErrClosed
	}
	if code := C.tc_enc_set_bitrate(e.e, C.int(kbps)); code != 0 {
		return vpxErr("set bitrate", code)
	}
	e.cfg.BitrateKbps = kbps
	return nil
}

// Encode compresses f, whose size must equal the configured size, with
// presentation time pts in frame units (1/FPS s). It returns the frame
// bytes (a fresh slice) and whether they are a keyframe; data is nil when
// the rate controller dropped the frame.
func (e *Encoder) Encode(f *video.Frame, pts int64) (data []byte, keyframe bool, err error) {
	if f == nil || f.Width != e.cfg.Width || f.Height != e.cfg.Height {
		w, h := 0, 0
		if f != nil {
			w, h = f.Width, f.Height
		}
		return nil, false, fmt.Errorf("%w: got %dx%d, encoder is %dx%d", ErrSizeMismatch, w, h, e.cfg.Width, e.cfg.Height)
	}
	if err := f.Validate(); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrSizeMismatch, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.e == nil {
		return nil, false, ErrClosed
	}
	force := C.int(0)
	if e.forceKey.Swap(false) {
		force = 1
	}
	code := C.tc_enc_encode(e.e,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])), C.int(f.YStride),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])), C.int(f.UStride),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])), C.int(f.VStride),
		C.int64_t(pts), force)
	if code != 0 {
		if force == 1 {
			e.forceKey.Store(true)
		}
		return nil, false, vpxErr("encode", code)
	}
	if e.e.out_len == 0 {
		if force == 1 {
			e.forceKey.Store(true) // dropped: keep the request for the next frame
		}
		return nil, false, nil
	}
	out := C.GoBytes(unsafe.Pointer(e.e.out), C.int(e.e.out_len))
	return out, e.e.out_key != 0, nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.e != nil {
		C.tc_enc_free(e.e)
		e.e = nil
	}
	return nil
}

package camera

// #include <stdlib.h>
// #include "tc_v4l2.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/termcall/termcall/video"
)

// pollMs bounds how long ReadFrame waits inside C before it looks at ctx again.
const pollMs = 50

// Camera is a V4L2 capture device; it implements video.Source. Frames
// have the size the driver chose, which may differ from the one asked for.
type Camera struct {
	path string
	mu   sync.Mutex
	c    *C.tc_cam
	w, h int
}

// Opener has the signature video.WithCamera expects.
func Opener(path string, cfg video.Config) (video.Source, error) { return Open(path, cfg) }

// Open starts streaming from the device at path, asking for cfg's size
// and frame rate in YUYV.
func Open(path string, cfg video.Config) (*Camera, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %s (%v); use --video-in pattern or --video-in y4m:FILE instead", video.ErrNoCamera, path, err)
	}
	c := (*C.tc_cam)(C.calloc(1, C.size_t(unsafe.Sizeof(C.tc_cam{}))))
	if c == nil {
		return nil, fmt.Errorf("%w: out of memory", ErrCapture)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var stage *C.char
	code := C.tc_cam_open(c, cpath, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS), &stage)
	if code != 0 {
		C.tc_cam_close(c)
		C.free(unsafe.Pointer(c))
		return nil, fmt.Errorf("%w: %s: %s: %w", ErrCapture, path, C.GoString(stage), syscall.Errno(code))
	}
	if c.pixfmt != C.tc_cam_yuyv() {
		got := fourcc(uint32(c.pixfmt))
		C.tc_cam_close(c)
		C.free(unsafe.Pointer(c))
		return nil, fmt.Errorf("%w: %s offers %s; use --video-in pattern or --video-in y4m:FILE instead", ErrNotYUYV, path, got)
	}
	w, h := int(c.width), int(c.height)
	if w <= 0 || h <= 0 || w%2 != 0 || w > video.MaxWidth || h > video.MaxHeight || int(c.stride) < 2*w {
		C.tc_cam_close(c)
		C.free(unsafe.Pointer(c))
		return nil, fmt.Errorf("%w: %s: driver chose %dx%d stride %d", ErrCapture, path, w, h, int(c.stride))
	}
	return &Camera{path: path, c: c, w: w, h: h}, nil
}

func fourcc(v uint32) string {
	return string([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
}

// Size returns the negotiated frame size.
func (cam *Camera) Size() (w, h int) { return cam.w, cam.h }

// ReadFrame returns the newest captured frame, waiting for one if none is
// ready; older queued frames are skipped so latency stays at one frame.
func (cam *Camera) ReadFrame(ctx context.Context) (*video.Frame, error) {
	cam.mu.Lock()
	defer cam.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cam.c == nil {
			return nil, ErrClosed
		}
		idx, used, err := cam.dequeue(pollMs)
		if errors.Is(err, syscall.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// Drain to the newest frame.
		for {
			next, nused, err := cam.dequeue(0)
			if err != nil {
				break
			}
			if qerr := cam.queue(idx); qerr != nil {
				return nil, qerr
			}
			idx, used = next, nused
		}
		stride := int(cam.c.stride)
		need := stride*(cam.h-1) + 2*cam.w
		var f *video.Frame
		if used >= need {
			src := unsafe.Slice((*byte)(cam.c.start[idx]), used)
			f = video.NewFrame(cam.w, cam.h)
			if !ConvertYUYV(f, src, stride) {
				f = nil
			}
		}
		if err := cam.queue(idx); err != nil {
			return nil, err
		}
		if f != nil {
			return f, nil
		}
		// A short or flagged-bad buffer: wait for the next one.
	}
}

func (cam *Camera) dequeue(timeoutMs int) (int, int, error) {
	var idx C.int
	var used C.uint32_t
	if code := C.tc_cam_dequeue(cam.c, C.int(timeoutMs), &idx, &used); code != 0 {
		if syscall.Errno(code) == syscall.EAGAIN {
			return 0, 0, syscall.EAGAIN
		}
		return 0, 0, fmt.Errorf("%w: %s: dequeue: %w", ErrCapture, cam.path, syscall.Errno(code))
	}
	return int(idx), int(used), nil
}

func (cam *Camera) queue(idx int) error {
	if code := C.tc_cam_queue(cam.c, C.int(idx)); code != 0 {
		return fmt.Errorf("%w: %s: queue: %w", ErrCapture, cam.path, syscall.Errno(code))
	}
	return nil
}

// Close stops streaming and releases the device. It is safe to call twice.
func (cam *Camera) Close() error {
	cam.mu.Lock()
	defer cam.mu.Unlock()
	if cam.c != nil {
		C.tc_cam_close(cam.c)
		C.free(unsafe.Pointer(cam.c))
		cam.c = nil
	}
	return nil
}

package camera

import "errors"

var (
	// ErrNotYUYV is returned when the device cannot deliver YUYV frames.
	ErrNotYUYV = errors.New("camera: device does not offer YUYV")
	// ErrCapture wraps a V4L2 call that failed.
	ErrCapture = errors.New("camera: capture failed")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("camera: closed")
)

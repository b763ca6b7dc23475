package jitter

import "errors"

// Sentinel errors of package jitter.
var (
	// ErrFrameSize means the PCM buffer passed to Decoder.Pop is not one frame.
	ErrFrameSize = errors.New("jitter: pcm buffer is not one frame")
	// ErrConfig means a Config value is out of range.
	ErrConfig = errors.New("jitter: invalid config")
)

package vp8

import "errors"

var (
	// ErrCodec wraps an error reported by libvpx.
	ErrCodec = errors.New("vp8: codec error")
	// ErrTruncated is returned for a packet shorter than its header says.
	ErrTruncated = errors.New("vp8: truncated frame")
	// ErrCorrupt is returned for a packet whose header is invalid.
	ErrCorrupt = errors.New("vp8: corrupt frame")
	// ErrTooLarge is returned for a keyframe bigger than the decoder's limit.
	ErrTooLarge = errors.New("vp8: frame size over limit")
	// ErrNoKeyframe is returned for an interframe before the first keyframe.
	ErrNoKeyframe = errors.New("vp8: interframe before first keyframe")
	// ErrNoFrame is returned when a packet decoded but produced no picture
	// (for example a hidden alt-ref frame); it is not a stream error.
	ErrNoFrame = errors.New("vp8: no picture in packet")
	// ErrSizeMismatch is returned when a frame's size differs from the encoder's.
	ErrSizeMismatch = errors.New("vp8: frame size differs from encoder size")
	// ErrBadConfig is returned for an invalid encoder configuration.
	ErrBadConfig = errors.New("vp8: bad config")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("vp8: closed")
)

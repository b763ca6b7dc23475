package video

import "errors"

var (
	// ErrBadSpec is returned for a --video-in/--video-out value that does not parse.
	ErrBadSpec = errors.New("video: bad spec")
	// ErrNoVideo is returned by OpenInput for the "none" input.
	ErrNoVideo = errors.New("video: no video input")
	// ErrNoCamera is returned when the camera device does not exist.
	ErrNoCamera = errors.New("video: camera not found")
	// ErrCameraUnsupported is returned when a camera exists but capture is not built in.
	ErrCameraUnsupported = errors.New("video: camera capture not supported")
	// ErrY4MHeader is returned for a missing or malformed YUV4MPEG2 header.
	ErrY4MHeader = errors.New("video: bad y4m header")
	// ErrY4MChroma is returned for a Y4M file that is not 4:2:0.
	ErrY4MChroma = errors.New("video: unsupported y4m chroma (only 4:2:0)")
	// ErrY4MFrame is returned for a malformed or truncated Y4M frame.
	ErrY4MFrame = errors.New("video: bad y4m frame")
	// ErrBadSize is returned for a non-positive or oversized frame size.
	ErrBadSize = errors.New("video: bad frame size")
	// ErrClosed is returned by a source or sink used after Close.
	ErrClosed = errors.New("video: closed")
)

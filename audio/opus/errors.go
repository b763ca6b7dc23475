package opus

// #cgo pkg-config: opus
// #include <opus.h>
import "C"

import (
	"errors"
	"fmt"
)

// Error is a libopus error code (always negative).
type Error int

// Error returns libopus's description of the code.
func (e Error) Error() string {
	return "opus: " + C.GoString(C.opus_strerror(C.int(e)))
}

// libopus error codes as comparable values, usable with errors.Is.
const (
	ErrBadArg         Error = C.OPUS_BAD_ARG
	ErrBufferTooSmall Error = C.OPUS_BUFFER_TOO_SMALL
	ErrInternal       Error = C.OPUS_INTERNAL_ERROR
	ErrInvalidPacket  Error = C.OPUS_INVALID_PACKET
	ErrUnimplemented  Error = C.OPUS_UNIMPLEMENTED
	ErrInvalidState   Error = C.OPUS_INVALID_STATE
	ErrAllocFail      Error = C.OPUS_ALLOC_FAIL
)

// Errors detected on the Go side before libopus is called.
var (
	// ErrClosed is returned by any method called after Close.
	ErrClosed = errors.New("opus: encoder or decoder closed")
	// ErrFrameSize means the PCM slice does not hold a legal Opus frame duration.
	ErrFrameSize = errors.New("opus: invalid frame size")
	// ErrEmptyPacket means Decode got no data; use DecodePLC to conceal a lost packet.
	ErrEmptyPacket = errors.New("opus: empty packet")
	// ErrInvalidConfig means New got an unsupported sample rate, channel count or application.
	ErrInvalidConfig = errors.New("opus: invalid configuration")
)

// codeErr converts a negative libopus return value into a Go error.
func codeErr(op string, code C.int) error {
	if code >= 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", op, Error(code))
}

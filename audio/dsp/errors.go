package dsp

import (
	"errors"
	"fmt"
)

// Sentinel errors of package dsp.
var (
	// ErrConfig means the module refused the configuration (e.g. a rate
	// that is not a multiple of 100 Hz in 8..48 kHz).
	ErrConfig = errors.New("audio processing config not accepted")
	// ErrFrameSize means a buffer is not a whole number of 10 ms chunks.
	ErrFrameSize = errors.New("audio processing wants whole 10 ms chunks")
	// ErrClosed is returned by a Processor used after Close.
	ErrClosed = errors.New("audio processor closed")
)

// ModuleError is an error code returned by WebRTC's AudioProcessing.
type ModuleError struct {
	Op   string
	Code int
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("audio processing %s: %s (%d)", e.Op, moduleErrorText(e.Code), e.Code)
}

// moduleErrorText names AudioProcessing::Error values.
func moduleErrorText(code int) string {
	switch code {
	case -1:
		return "unspecified error"
	case -2:
		return "creation failed"
	case -3:
		return "unsupported component"
	case -4:
		return "unsupported function"
	case -5:
		return "null pointer"
	case -6:
		return "bad parameter"
	case -7:
		return "bad sample rate"
	case -8:
		return "bad data length"
	case -9:
		return "bad number of channels"
	case -11:
		return "stream parameter not set"
	case -12:
		return "not enabled"
	}
	return "error"
}

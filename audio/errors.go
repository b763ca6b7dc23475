package audio

import "errors"

// Sentinel errors of package audio.
var (
	// ErrBadSpec means an --audio-in / --audio-out value could not be parsed.
	ErrBadSpec = errors.New("invalid audio spec")
	// ErrFrameSize means a frame buffer does not match the Format.
	ErrFrameSize = errors.New("frame size does not match the audio format")
	// ErrBadWAV means a WAV file is malformed or uses an unsupported encoding.
	ErrBadWAV = errors.New("unsupported or malformed WAV file")
	// ErrClosed is returned by a Source or Sink used after Close.
	ErrClosed = errors.New("audio source or sink closed")
	// ErrNoDevices means a mic/speaker spec was given but no device support is wired in.
	ErrNoDevices = errors.New("no audio device support")
)

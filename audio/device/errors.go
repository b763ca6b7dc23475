package device

import "errors"

// Sentinel errors of package device.
var (
	// ErrNoMicrophone wraps every failure to open a capture device.
	ErrNoMicrophone = errors.New("no microphone")
	// ErrNoSpeaker wraps every failure to open a playback device.
	ErrNoSpeaker = errors.New("no speaker")
	// ErrNoSoundSystem means the audio backends found no sound system at all
	// (e.g. libasound missing), so only silent null devices exist.
	ErrNoSoundSystem = errors.New("no sound system found (is libasound2 installed?)")
	// ErrNotFound means no device matches the requested name.
	ErrNotFound = errors.New("device not found")
	// ErrStalled means the device delivered or consumed no audio for too long.
	ErrStalled = errors.New("audio device stalled")
	// ErrClosed is returned after Close or after the device stopped.
	ErrClosed = errors.New("audio device closed")
)

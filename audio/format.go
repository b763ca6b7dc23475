// Package audio holds termcall's audio building blocks that need no codec:
// the PCM format, sources and sinks (tone, silence, WAV, null, devices via an
// injected opener), the --audio-in/--audio-out spec parser, and level and
// frequency analysis.
package audio

import (
	"fmt"
	"io"
	"time"
)

// SampleRate is the only PCM rate termcall uses (Opus's native rate).
const SampleRate = 48000

// Format describes the PCM frames exchanged by sources and sinks: interleaved
// int16 samples at SampleRate.
type Format struct {
	SampleRate    int
	Channels      int
	FrameDuration time.Duration
}

// DefaultFormat is 48 kHz mono with 20 ms frames.
func DefaultFormat() Format {
	return Format{SampleRate: SampleRate, Channels: 1, FrameDuration: 20 * time.Millisecond}
}

// FrameSamples returns the number of samples (all channels) in one frame.
func (f Format) FrameSamples() int {
	return int(int64(f.SampleRate)*int64(f.FrameDuration)/int64(time.Second)) * f.Channels
}

// Validate checks that the format is one the Opus path accepts: 48 kHz,
// mono or stereo, 10 or 20 ms frames.
func (f Format) Validate() error {
	if f.SampleRate != SampleRate {
		return fmt.Errorf("%w: sample rate %d, want %d", ErrFrameSize, f.SampleRate, SampleRate)
	}
	if f.Channels != 1 && f.Channels != 2 {
		return fmt.Errorf("%w: %d channels", ErrFrameSize, f.Channels)
	}
	if f.FrameDuration != 10*time.Millisecond && f.FrameDuration != 20*time.Millisecond {
		return fmt.Errorf("%w: frame duration %v, want 10ms or 20ms", ErrFrameSize, f.FrameDuration)
	}
	return nil
}

// Source produces PCM frames. ReadFrame fills all of pcm (one frame) or
// returns an error; io.EOF means the source has ended.
type Source interface {
	ReadFrame(pcm []int16) error
}

// Sink consumes PCM frames.
type Sink interface {
	WriteFrame(pcm []int16) error
}

// Input is a Source that must be closed, as returned by ParseInput.
type Input interface {
	Source
	io.Closer
}

// Output is a Sink that must be closed, as returned by ParseOutput.
type Output interface {
	Sink
	io.Closer
}

// Clocked is implemented by sources and sinks that run on a hardware clock
// (microphone, speaker): they block until a frame is due. Callers must pace
// all others themselves, e.g. with a ticker at the frame duration.
type Clocked interface {
	Clocked() bool
}

// IsClocked reports whether v paces itself (see Clocked).
func IsClocked(v any) bool {
	c, ok := v.(Clocked)
	return ok && c.Clocked()
}

// Latent is implemented by sources and sinks that know how long a sample
// spends in them between the air and the caller: a speaker's queue and
// device buffer, a microphone's period and ring, a simulated room. The
// echo canceller is told the sum. A negative value means "not known": a
// wrapper (a device switch) whose current device does not say.
type Latent interface {
	Latency() time.Duration
}

// LatencyOf returns v's latency and whether v reports one (see Latent);
// 0 when it does not.
func LatencyOf(v any) (time.Duration, bool) {
	if l, ok := v.(Latent); ok {
		if d := l.Latency(); d >= 0 {
			return d, true
		}
	}
	return 0, false
}

package audio

import (
	"fmt"
	"math"
)

// Tone is a phase-continuous sine source on every channel.
type Tone struct {
	hz       float64
	amp      float64
	channels int
	rate     int
	phase    float64 // radians, kept in [0, 2π)
}

// NewTone returns a sine source of hz at amplitude (0..1 of full scale) for
// format f. The phase carries over between frames, so there are no clicks.
func NewTone(f Format, hz, amplitude float64) (*Tone, error) {
	if !(hz > 0) || hz >= float64(f.SampleRate)/2 {
		return nil, fmt.Errorf("%w: tone frequency %g Hz must be between 0 and %d", ErrBadSpec, hz, f.SampleRate/2)
	}
	if !(amplitude >= 0) || amplitude > 1 {
		return nil, fmt.Errorf("%w: tone amplitude %g must be in [0, 1]", ErrBadSpec, amplitude)
	}
	if f.Channels < 1 || f.SampleRate <= 0 {
		return nil, fmt.Errorf("%w: %+v", ErrFrameSize, f)
	}
	return &Tone{hz: hz, amp: amplitude, channels: f.Channels, rate: f.SampleRate}, nil
}

// ReadFrame fills pcm with the next samples of the tone.
func (t *Tone) ReadFrame(pcm []int16) error {
	if len(pcm)%t.channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrFrameSize, len(pcm), t.channels)
	}
	step := 2 * math.Pi * t.hz / float64(t.rate)
	for i := 0; i < len(pcm); i += t.channels {
		v := int16(math.Round(t.amp * 32767 * math.Sin(t.phase)))
		for c := 0; c < t.channels; c++ {
			pcm[i+c] = v
		}
		t.phase += step
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return nil
}

// Close does nothing; Tone holds no resources.
func (t *Tone) Close() error { return nil }

// Silence is a source of zero samples.
type Silence struct{}

// ReadFrame fills pcm with zeros.
func (Silence) ReadFrame(pcm []int16) error {
	clear(pcm)
	return nil
}

// Close does nothing.
func (Silence) Close() error { return nil }

// Null is a sink that discards every frame.
type Null struct{}

// WriteFrame discards pcm.
func (Null) WriteFrame([]int16) error { return nil }

// Close does nothing.
func (Null) Close() error { return nil }

package audio

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceOpener opens sound devices; package audio/device implements it. It
// is injected so that package audio does not link the device library.
type DeviceOpener interface {
	OpenCapture(name string, f Format) (Input, error)
	OpenPlayback(name string, f Format) (Output, error)
}

// Options configure ParseInput and ParseOutput.
type Options struct {
	// Format of the frames; zero value means DefaultFormat.
	Format Format
	// Devices opens mic/speaker specs; nil makes them fail with a hint.
	Devices DeviceOpener
	// ToneAmplitude for tone:HZ (0..1); zero means 0.5 (-9 dBFS).
	ToneAmplitude float64
	// WAVOnce makes wav:FILE inputs end (io.EOF) instead of looping.
	WAVOnce bool
}

func (o Options) format() Format {
	if o.Format == (Format{}) {
		return DefaultFormat()
	}
	return o.Format
}

const (
	inputSyntax  = "tone:HZ | wav:FILE | mic[:DEVICE] | silence"
	outputSyntax = "wav:FILE | speaker[:DEVICE] | null"
)

// ParseInput opens the source described by an --audio-in value:
// tone:HZ, wav:FILE (16-bit PCM, loops unless WAVOnce), mic[:DEVICE] or
// silence.
func ParseInput(spec string, o Options) (Input, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	f := o.format()
	switch kind {
	case "tone":
		hz := 440.0
		if hasArg {
			v, err := strconv.ParseFloat(arg, 64)
			if err != nil || !(v > 0) || v >= float64(f.SampleRate)/2 {
				return nil, fmt.Errorf("%w: --audio-in %q: tone frequency must be a number of Hz between 0 and %d, e.g. tone:440",
					ErrBadSpec, spec, f.SampleRate/2)
			}
			hz = v
		}
		amp := o.ToneAmplitude
		if amp == 0 {
			amp = 0.5
		}
		return NewTone(f, hz, amp)
	case "silence":
		if hasArg {
			return nil, fmt.Errorf("%w: --audio-in %q: silence takes no argument", ErrBadSpec, spec)
		}
		return Silence{}, nil
	case "wav":
		if arg == "" {
			return nil, fmt.Errorf("%w: --audio-in %q: give a file, e.g. wav:voice.wav", ErrBadSpec, spec)
		}
		r, err := OpenWAV(arg, f, !o.WAVOnce)
		if err != nil {
			return nil, fmt.Errorf("--audio-in %s: %w", spec, err)
		}
		return r, nil
	case "mic":
		if o.Devices == nil {
			return nil, fmt.Errorf("%w: --audio-in %q: no microphone support; use --audio-in tone:440 or wav:FILE", ErrNoDevices, spec)
		}
		return o.Devices.OpenCapture(arg, f)
	}
	return nil, fmt.Errorf("%w: --audio-in %q: want %s", ErrBadSpec, spec, inputSyntax)
}

// ParseOutput opens the sink described by an --audio-out value:
// wav:FILE, speaker[:DEVICE] or null.
func ParseOutput(spec string, o Options) (Output, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	f := o.format()
	switch kind {
	case "null":
		if hasArg {
			return nil, fmt.Errorf("%w: --audio-out %q: null takes no argument", ErrBadSpec, spec)
		}
		return Null{}, nil
	case "wav":
		if arg == "" {
			return nil, fmt.Errorf("%w: --audio-out %q: give a file, e.g. wav:out.wav", ErrBadSpec, spec)
		}
		w, err := CreateWAV(arg, f)
		if err != nil {
			return nil, fmt.Errorf("--audio-out %s: %w", spec, err)
		}
		return w, nil
	case "speaker":
		if o.Devices == nil {
			return nil, fmt.Errorf("%w: --audio-out %q: no speaker support; use --audio-out wav:FILE or null", ErrNoDevices, spec)
		}
		return o.Devices.OpenPlayback(arg, f)
	}
	return nil, fmt.Errorf("%w: --audio-out %q: want %s", ErrBadSpec, spec, outputSyntax)
}

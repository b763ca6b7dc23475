package video

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Defaults for the video pipeline.
const (
	DefaultWidth  = 320
	DefaultHeight = 240
	DefaultFPS    = 15
	// MaxWidth and MaxHeight bound any frame size termcall accepts.
	MaxWidth  = 1920
	MaxHeight = 1080
	// DefaultCamera is the device used by "camera" without a device.
	DefaultCamera = "/dev/video0"
)

// Config is the capture configuration shared by sources.
type Config struct {
	Width, Height int
	FPS           int
}

// DefaultConfig returns 320x240 at 15 fps.
func DefaultConfig() Config {
	return Config{Width: DefaultWidth, Height: DefaultHeight, FPS: DefaultFPS}
}

// Source yields frames. ReadFrame returns the next frame without pacing
// (the caller ticks at Config.FPS); each returned frame is owned by the
// caller. ReadFrame honours ctx cancellation.
type Source interface {
	ReadFrame(ctx context.Context) (*Frame, error)
	Close() error
}

// InputKind says where frames come from.
type InputKind int

// Input kinds for --video-in.
const (
	InputNone InputKind = iota
	InputPattern
	InputY4M
	InputCamera
	// InputBusy is the hard-to-compress generated source (pattern:busy).
	InputBusy
)

// String implements fmt.Stringer.
func (k InputKind) String() string {
	switch k {
	case InputNone:
		return "none"
	case InputPattern:
		return "pattern"
	case InputY4M:
		return "y4m"
	case InputCamera:
		return "camera"
	case InputBusy:
		return "pattern:busy"
	}
	return fmt.Sprintf("InputKind(%d)", int(k))
}

// InputSpec is a parsed --video-in value.
type InputSpec struct {
	Kind InputKind
	Path string // Y4M file or camera device
}

// String returns the flag syntax for s.
func (s InputSpec) String() string {
	if s.Path != "" {
		return s.Kind.String() + ":" + s.Path
	}
	return s.Kind.String()
}

// ParseInput parses `pattern | pattern:busy | y4m:FILE | camera[:DEVICE] | none`.
func ParseInput(spec string) (InputSpec, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	if kind == "pattern" && arg == "busy" {
		return InputSpec{Kind: InputBusy}, nil
	}
	switch kind {
	case "pattern", "none":
		if hasArg {
			return InputSpec{}, fmt.Errorf("%w: %q takes no argument", ErrBadSpec, kind)
		}
		if kind == "none" {
			return InputSpec{Kind: InputNone}, nil
		}
		return InputSpec{Kind: InputPattern}, nil
	case "y4m":
		if arg == "" {
			return InputSpec{}, fmt.Errorf("%w: y4m needs a file: y4m:FILE", ErrBadSpec)
		}
		return InputSpec{Kind: InputY4M, Path: arg}, nil
	case "camera":
		if hasArg && arg == "" {
			return InputSpec{}, fmt.Errorf("%w: empty camera device", ErrBadSpec)
		}
		if arg == "" {
			arg = DefaultCamera
		}
		return InputSpec{Kind: InputCamera, Path: arg}, nil
	}
	return InputSpec{}, fmt.Errorf("%w: --video-in %q: want pattern, pattern:busy, y4m:FILE, camera[:DEVICE] or none", ErrBadSpec, spec)
}

// CameraOpener opens a capture device (see package video/camera, which
// this package cannot import: camera depends on video).
type CameraOpener func(device string, cfg Config) (Source, error)

// OpenOption configures OpenInput.
type OpenOption func(*openOptions)

type openOptions struct{ camera CameraOpener }

// WithCamera lets OpenInput open "camera" inputs with open.
func WithCamera(open CameraOpener) OpenOption {
	return func(o *openOptions) { o.camera = open }
}

// OpenInput opens the source described by s. Pattern frames have cfg's
// size; a Y4M file and a camera keep their own size. "none" gives
// ErrNoVideo. Without WithCamera, an existing camera device gives
// ErrCameraUnsupported.
func OpenInput(s InputSpec, cfg Config, opts ...OpenOption) (Source, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch s.Kind {
	case InputNone:
		return nil, ErrNoVideo
	case InputPattern:
		return NewPattern(cfg.Width, cfg.Height)
	case InputBusy:
		return NewBusy(cfg.Width, cfg.Height)
	case InputY4M:
		return OpenY4M(s.Path)
	case InputCamera:
		if _, err := os.Stat(s.Path); err != nil {
			return nil, fmt.Errorf("%w: %s (%v); use --video-in pattern or --video-in y4m:FILE instead", ErrNoCamera, s.Path, err)
		}
		if o.camera != nil {
			return o.camera(s.Path, cfg)
		}
		return nil, fmt.Errorf("%w: %s exists but camera capture is not enabled in this build; use --video-in pattern or --video-in y4m:FILE", ErrCameraUnsupported, s.Path)
	}
	return nil, fmt.Errorf("%w: unknown input kind %v", ErrBadSpec, s.Kind)
}

// OutputKind says where decoded frames go.
type OutputKind int

// Output kinds for --video-out.
const (
	OutputNull OutputKind = iota
	OutputDir
)

// OutputSpec is a parsed --video-out value.
type OutputSpec struct {
	Kind OutputKind
	Dir  string
}

// ParseOutput parses `dir:DIR | null` (empty means null).
func ParseOutput(spec string) (OutputSpec, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	switch kind {
	case "", "null":
		if hasArg {
			return OutputSpec{}, fmt.Errorf("%w: null takes no argument", ErrBadSpec)
		}
		return OutputSpec{Kind: OutputNull}, nil
	case "dir":
		if arg == "" {
			return OutputSpec{}, fmt.Errorf("%w: dir needs a directory: dir:DIR", ErrBadSpec)
		}
		return OutputSpec{Kind: OutputDir, Dir: arg}, nil
	}
	return OutputSpec{}, fmt.Errorf("%w: --video-out %q: want dir:DIR or null", ErrBadSpec, spec)
}

// OpenOutput opens the sink described by s, writing at most maxPerSec
// frames per second for directory sinks.
func OpenOutput(s OutputSpec, maxPerSec float64, log *slog.Logger) (Sink, error) {
	switch s.Kind {
	case OutputNull:
		return NullSink{}, nil
	case OutputDir:
		return NewDirSink(s.Dir, maxPerSec, WithLogger(log))
	}
	return nil, fmt.Errorf("%w: unknown output kind %d", ErrBadSpec, s.Kind)
}

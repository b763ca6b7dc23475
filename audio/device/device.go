// Package device connects microphones and speakers through miniaudio
// (github.com/gen2brain/malgo): Capture is an audio.Source and Playback an
// audio.Sink, each with a small ring buffer between miniaudio's callback
// thread and Go. Opener plugs both into audio.ParseInput/ParseOutput.
package device

/*
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/termcall/termcall/audio"
)

// NullBackend is miniaudio's null backend: clocked silent devices, for
// tests. malgo v0.11.24's BackendNull constant is wrong (it names the
// "custom" backend); 14 is the real one.
const NullBackend = malgo.Backend(14)

// Hints appended to open errors so the user knows which flag to use instead.
const (
	captureHint  = "use --audio-in tone:440 or wav:FILE"
	playbackHint = "use --audio-out wav:FILE or null"
)

// Config selects backends and buffering. The zero value uses the platform's
// default backends.
type Config struct {
	// Backends to try in order; nil means miniaudio's defaults.
	Backends []malgo.Backend
	// Logger receives miniaudio's log lines at debug level; nil discards.
	Logger *slog.Logger
	// BufferFrames is the ring capacity in frames; 0 means 5 (100 ms at 20 ms).
	BufferFrames int
	// StallTimeout bounds how long ReadFrame/WriteFrame wait; 0 means 2 s.
	StallTimeout time.Duration
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c Config) bufferFrames() int {
	if c.BufferFrames <= 0 {
		return 5
	}
	return c.BufferFrames
}

func (c Config) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return 2 * time.Second
	}
	return c.StallTimeout
}

// devicePeriods is how many periods the sound system buffers on
// playback, asked for explicitly (miniaudio's default) because malgo does
// not say what a backend chose: Playback.Latency counts on it.
const devicePeriods = 3

// Opener implements audio.DeviceOpener.
type Opener struct{ cfg Config }

// NewOpener returns an opener using cfg for every device.
func NewOpener(cfg Config) *Opener { return &Opener{cfg: cfg} }

// OpenCapture opens a microphone; see OpenCapture.
func (o *Opener) OpenCapture(name string, f audio.Format) (audio.Input, error) {
	return OpenCapture(o.cfg, name, f)
}

// OpenPlayback opens a speaker; see OpenPlayback.
func (o *Opener) OpenPlayback(name string, f audio.Format) (audio.Output, error) {
	return OpenPlayback(o.cfg, name, f)
}

// Info describes a device for listings.
type Info struct {
	Index     int
	Name      string
	IsDefault bool
}

// List returns the capture (capture true) or playback devices.
func List(cfg Config, capture bool) ([]Info, error) {
	ctx, err := initContext(cfg)
	if err != nil {
		return nil, err
	}
	defer freeContext(ctx)
	kind := malgo.Playback
	if capture {
		kind = malgo.Capture
	}
	devs, err := ctx.Devices(kind)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	out := make([]Info, len(devs))
	for i := range devs {
		out[i] = Info{Index: i, Name: devs[i].Name(), IsDefault: devs[i].IsDefault != 0}
	}
	return out, nil
}

func initContext(cfg Config) (*malgo.AllocatedContext, error) {
	log := cfg.logger()
	ctx, err := malgo.InitContext(cfg.Backends, malgo.ContextConfig{}, func(msg string) {
		log.Debug("miniaudio", "msg", strings.TrimSpace(msg))
	})
	if err != nil {
		return nil, fmt.Errorf("init audio context: %w", err)
	}
	return ctx, nil
}

func freeContext(ctx *malgo.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

// stream is what Capture and Playback share: the context, the device and the
// ring with its signalling.
type stream struct {
	ctx    *malgo.AllocatedContext
	dev    *malgo.Device
	log    *slog.Logger
	stall  time.Duration
	format audio.Format

	mu      sync.Mutex
	ring    *ring
	closed  bool
	stopped bool
	xruns   uint64 // samples dropped (capture) or missing (playback)
	frames  uint64 // device callbacks
	period  int    // frames per callback, as miniaudio delivers them

	notify chan struct{} // capacity 1: "the ring changed"
	done   chan struct{} // closed by Close
	once   sync.Once
}

func (s *stream) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// latency converts frames (per channel) held in the ring, plus device
// periods, to time; the caller holds the lock.
func (s *stream) latency(periods int) time.Duration {
	frames := s.ring.n/max(s.format.Channels, 1) + periods*s.period
	return time.Duration(frames) * time.Second / time.Duration(s.format.SampleRate)
}

// open creates the context and device; kind is malgo.Capture or Playback.
// data runs under the stream's lock.
func open(cfg Config, kind malgo.DeviceType, name string, f audio.Format, data func(s *stream, out, in []byte)) (*stream, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	ctx, err := initContext(cfg)
	if err != nil {
		return nil, err
	}
	s := &stream{
		ctx: ctx, log: cfg.logger(), stall: cfg.stallTimeout(), format: f,
		ring:   newRing(f.FrameSamples() * cfg.bufferFrames()),
		notify: make(chan struct{}, 1), done: make(chan struct{}),
		period: f.FrameSamples() / f.Channels, // what is asked for, until a callback says
	}
	dc := malgo.DefaultDeviceConfig(kind)
	sub := &dc.Capture
	if kind == malgo.Playback {
		sub = &dc.Playback
	}
	sub.Format = malgo.FormatS16
	sub.Channels = uint32(f.Channels)
	dc.SampleRate = uint32(f.SampleRate)
	dc.PeriodSizeInFrames = uint32(f.FrameSamples() / f.Channels)
	dc.Periods = devicePeriods
	dc.Alsa.NoMMap = 1

	devs, err := ctx.Devices(kind)
	if err != nil {
		freeContext(ctx)
		return nil, fmt.Errorf("enumerate devices: %w", err)
	}
	if cfg.Backends == nil && onlyNullDevices(devs) {
		freeContext(ctx)
		return nil, ErrNoSoundSystem
	}
	if name != "" {
		info, err := pickDevice(devs, name)
		if err != nil {
			freeContext(ctx)
			return nil, err
		}
		id := C.CBytes(info.ID[:])
		defer C.free(id)
		sub.DeviceID = unsafe.Pointer(id)
	}
	dev, err := malgo.InitDevice(ctx.Context, dc, malgo.DeviceCallbacks{
		Data: func(out, in []byte, frames uint32) {
			s.mu.Lock()
			s.frames++
			s.period = int(frames)
			data(s, out, in)
			s.mu.Unlock()
			s.signal()
		},
		Stop: func() {
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			s.signal()
		},
	})
	if err != nil {
		freeContext(ctx)
		return nil, err
	}
	s.dev = dev
	return s, nil
}

func displayName(name string) string {
	if name == "" {
		return "(default)"
	}
	return strconv.Quote(name)
}

func onlyNullDevices(devs []malgo.DeviceInfo) bool {
	if len(devs) == 0 {
		return false
	}
	for i := range devs {
		if !strings.HasPrefix(devs[i].Name(), "NULL ") {
			return false
		}
	}
	return true
}

// pickDevice finds a device by index or by case-insensitive name substring.
func pickDevice(devs []malgo.DeviceInfo, name string) (malgo.DeviceInfo, error) {
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(devs) {
		return devs[i], nil
	}
	var names []string
	for i := range devs {
		n := devs[i].Name()
		if strings.Contains(strings.ToLower(n), strings.ToLower(name)) {
			return devs[i], nil
		}
		names = append(names, fmt.Sprintf("%d:%q", i, n))
	}
	return malgo.DeviceInfo{}, fmt.Errorf("%w: %q (available: %s)", ErrNotFound, name, strings.Join(names, ", "))
}

func (s *stream) start() error {
	if err := s.dev.Start(); err != nil {
		s.close()
		return fmt.Errorf("start device: %w", err)
	}
	return nil
}

// close stops and frees the device and context once; it unblocks waiters.
func (s *stream) close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.dev.Uninit() // stops the device: no callback runs after this
		freeContext(s.ctx)
	})
}

// wait blocks until the ring changes, the stream closes, or the stall timer fires.
func (s *stream) wait(timer *time.Timer) error {
	select {
	case <-s.notify:
		return nil
	case <-s.done:
		return ErrClosed
	case <-timer.C:
		return fmt.Errorf("%w: no audio for %v", ErrStalled, s.stall)
	}
}

// when waits, up to the stall timeout between device callbacks, until
// ready holds, then runs do; both under the stream's lock. A stopped
// device gives stopErr.
func (s *stream) when(op string, stopErr error, ready func() bool, do func()) error {
	timer := time.NewTimer(s.stall)
	defer timer.Stop()
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return ErrClosed
		case ready():
			do()
			s.mu.Unlock()
			return nil
		case s.stopped:
			s.mu.Unlock()
			return fmt.Errorf("%s: %w: device stopped", op, stopErr)
		}
		s.mu.Unlock()
		if err := s.wait(timer); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
}

// Capture reads 16-bit PCM frames from a microphone. It is clocked: ReadFrame
// blocks until a frame has been recorded.
type Capture struct{ s *stream }

// OpenCapture opens and starts the capture device whose name contains name
// (or whose index is name; "" is the default device). Errors wrap
// ErrNoMicrophone and name the flag to use instead.
func OpenCapture(cfg Config, name string, f audio.Format) (*Capture, error) {
	s, err := open(cfg, malgo.Capture, name, f, func(s *stream, _, in []byte) {
		s.xruns += uint64(s.ring.writeBytesLE(in))
	})
	if err == nil {
		err = s.start()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open capture device %s: %w; %s", ErrNoMicrophone, displayName(name), err, captureHint)
	}
	return &Capture{s: s}, nil
}

// ReadFrame blocks until len(pcm) samples are recorded and copies them out.
func (c *Capture) ReadFrame(pcm []int16) error {
	s := c.s
	if len(pcm) == 0 || len(pcm) > len(s.ring.buf) {
		return fmt.Errorf("%w: %d samples, ring holds %d", audio.ErrFrameSize, len(pcm), len(s.ring.buf))
	}
	return s.when("capture", io.ErrUnexpectedEOF,
		func() bool { return s.ring.n >= len(pcm) },
		func() { s.ring.read(pcm) })
}

// Clocked reports true: the microphone paces ReadFrame.
func (c *Capture) Clocked() bool { return true }

// Latency is how old a sample is when ReadFrame returns it: one device
// period (the callback delivers a period once it is recorded) plus what
// waits in the ring to be read. It is the microphone's half of the echo
// canceller's delay.
func (c *Capture) Latency() time.Duration {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.latency(1)
}

// Overruns returns how many samples were dropped because ReadFrame fell behind.
func (c *Capture) Overruns() uint64 {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.xruns
}

// Close stops the device and frees it.
func (c *Capture) Close() error {
	c.s.close()
	return nil
}

// Playback writes 16-bit PCM frames to a speaker. It is clocked: WriteFrame
// blocks while the ring is full.
type Playback struct{ s *stream }

// OpenPlayback opens and starts the playback device whose name contains name
// (or whose index is name; "" is the default device). Errors wrap
// ErrNoSpeaker and name the flag to use instead.
func OpenPlayback(cfg Config, name string, f audio.Format) (*Playback, error) {
	s, err := open(cfg, malgo.Playback, name, f, func(s *stream, out, _ []byte) {
		if s.frames > 1 { // the first callback runs inside Start, before any write
			s.xruns += uint64(s.ring.readBytesLE(out))
		} else {
			s.ring.readBytesLE(out)
		}
	})
	if err == nil {
		err = s.start()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open playback device %s: %w; %s", ErrNoSpeaker, displayName(name), err, playbackHint)
	}
	return &Playback{s: s}, nil
}

// WriteFrame queues pcm, waiting while the ring is full.
func (p *Playback) WriteFrame(pcm []int16) error {
	s := p.s
	if len(pcm) > len(s.ring.buf) {
		return fmt.Errorf("%w: %d samples, ring holds %d", audio.ErrFrameSize, len(pcm), len(s.ring.buf))
	}
	return s.when("playback", io.ErrClosedPipe,
		func() bool { return s.ring.free() >= len(pcm) },
		func() { s.ring.write(pcm) })
}

// Clocked reports true: the speaker paces WriteFrame once its ring is full.
func (p *Playback) Clocked() bool { return true }

// Latency is how long a sample written now waits before it is played:
// what is queued in the ring plus the sound system's buffer (the periods
// asked for, of the size miniaudio's callbacks deliver). It is the
// speaker's half of the echo canceller's delay.
func (p *Playback) Latency() time.Duration {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.latency(devicePeriods)
}

// Underruns returns how many samples the speaker played as silence because
// WriteFrame fell behind.
func (p *Playback) Underruns() uint64 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.xruns
}

// Callbacks returns how many device periods have run (for diagnostics).
func (p *Playback) Callbacks() uint64 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.frames
}

// Close stops the device and frees it.
func (p *Playback) Close() error {
	p.s.close()
	return nil
}

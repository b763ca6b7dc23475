package headless

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/netsim"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/camera"
)

// EventStats is printed by headless mode once per interval and per remote
// user while a call has media, and for each peer on the stats command.
const EventStats = "STATS"

// MediaOptions choose a headless client's media. With Enabled false the
// client does signaling only, and USER_ENTER fires when a member joins.
type MediaOptions struct {
	Enabled     bool
	AudioIn     string             // tone:HZ | wav:FILE | mic[:DEVICE] | silence
	AudioOut    string             // wav:FILE | speaker[:DEVICE] | null
	VideoIn     string             // pattern | y4m:FILE | camera[:DEVICE] | none
	VideoOut    string             // dir:DIR | null
	VideoOutFPS float64            // PNG frames per second and view at most
	Width       int                // sent video size
	Height      int                //
	FPS         int                // sent frame rate
	AudioFrame  time.Duration      // 20 ms or 10 ms Opus frames
	LoopbackICE bool               // ICE candidates on 127.0.0.1 only
	ICEServers  []config.ICEServer // STUN/TURN servers besides those the server hands out
	StatsEvery  time.Duration      // STATS interval; 0 = only on the stats command
	// ICEPolicy is "all" (default) or "relay": only TURN relay candidates,
	// for users who must not reveal their address.
	ICEPolicy string
	// ImpairLoss and ImpairJitter degrade this client's inbound media
	// path: each datagram is dropped with probability ImpairLoss or
	// delayed by a random 0..ImpairJitter. A testing aid.
	ImpairLoss   float64
	ImpairJitter time.Duration
	// Echo makes the client an echo contact: it plays back what it hears
	// about a second later and sends back the video it receives, mirrored.
	Echo bool
}

// DefaultMediaOptions are the flags' defaults.
func DefaultMediaOptions() MediaOptions {
	return MediaOptions{
		Enabled: true, AudioIn: "silence", AudioOut: "null", VideoIn: "pattern", VideoOut: "null",
		VideoOutFPS: 5, Width: 320, Height: 240, FPS: 15, AudioFrame: 20 * time.Millisecond,
		StatsEvery: time.Second, ICEPolicy: "all",
	}
}

// Ranges of the impairment flags: enough to test with, not enough to
// break a call by accident.
const (
	maxImpairLoss   = 0.5
	maxImpairJitter = 500 * time.Millisecond
)

// impairConfig validates the impairment flags.
func (o MediaOptions) impairConfig() (netsim.Config, error) {
	if !(o.ImpairLoss >= 0 && o.ImpairLoss <= maxImpairLoss) {
		return netsim.Config{}, fmt.Errorf("--impair-loss %v: want a fraction in 0..%v", o.ImpairLoss, maxImpairLoss)
	}
	if o.ImpairJitter < 0 || o.ImpairJitter > maxImpairJitter {
		return netsim.Config{}, fmt.Errorf("--impair-jitter %v: want 0..%v", o.ImpairJitter, maxImpairJitter)
	}
	return netsim.Config{Loss: o.ImpairLoss, Jitter: o.ImpairJitter}, nil
}

// impairedNet is the network media runs on with the impairment flags: the
// real one wrapped so that inbound datagrams are lost and delayed, or nil
// (media's default, the real network) when the flags impair nothing.
func (o MediaOptions) impairedNet() (transport.Net, error) {
	cfg, err := o.impairConfig()
	if err != nil || !cfg.Enabled() {
		return nil, err
	}
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	n, err := netsim.NewNet(std, cfg)
	if err != nil {
		return nil, fmt.Errorf("impairment: %w", err)
	}
	return n, nil
}

// mediaSetup is the media of one Run: the factory the engine uses, the
// opened devices and files, and the view sinks.
type mediaSetup struct {
	factory  *media.Factory
	closers  []io.Closer
	autoView bool // bind each arriving user's video to a view of their name
	// iceProblems are the configured ICE servers pion refuses, as ERROR
	// payloads for the user; the others are used.
	iceProblems []callcore.Error

	mu    sync.Mutex
	dirs  string // --video-out dir, "" for null
	fps   float64
	sinks map[string]video.Sink
	echo  *media.VideoMirror
	log   *slog.Logger
}

func newMediaSetup(o MediaOptions, log *slog.Logger, onStats func(media.Stats)) (*mediaSetup, error) {
	inet, err := o.impairedNet()
	if err != nil {
		return nil, err
	}
	m := &mediaSetup{sinks: map[string]video.Sink{}, fps: o.VideoOutFPS, log: log}
	ice, problems := checkICEServers(o.ICEServers)
	m.iceProblems = problems
	opts := media.Options{
		Width: o.Width, Height: o.Height, FPS: o.FPS, AudioFrame: o.AudioFrame,
		LoopbackOnly: o.LoopbackICE, StatsEvery: o.StatsEvery, ICEServers: ice, Logger: log, OnStats: onStats,
		ViewSink: m.viewSink, Net: inet,
	}
	switch o.ICEPolicy {
	case "", "all":
	case "relay":
		opts.RelayOnly = true
	default:
		return nil, fmt.Errorf("--ice-policy %q: want all or relay", o.ICEPolicy)
	}
	af := audio.DefaultFormat()
	if o.AudioFrame != 0 {
		af.FrameDuration = o.AudioFrame
	}
	fail := func(err error) (*mediaSetup, error) {
		_ = m.close()
		return nil, err
	}
	if o.Echo {
		e := media.NewAudioEcho(time.Second, af.FrameDuration)
		opts.AudioIn, opts.AudioOut = e, e
		pat, err := video.NewPattern(o.Width, o.Height)
		if err != nil {
			return fail(fmt.Errorf("echo: %w", err))
		}
		m.echo = media.NewVideoMirror(pat)
		opts.VideoIn = m.echo
		m.autoView = true
	} else {
		aopts := audio.Options{Format: af, Devices: device.NewOpener(device.Config{Logger: log})}
		in, err := audio.ParseInput(o.AudioIn, aopts)
		if err != nil {
			return fail(deviceError(o.AudioIn, "mic", callcore.CodeNoMicrophone, fmt.Errorf("--audio-in: %w", err)))
		}
		m.closers = append(m.closers, in)
		opts.AudioIn = in
		out, err := audio.ParseOutput(o.AudioOut, aopts)
		if err != nil {
			return fail(fmt.Errorf("--audio-out: %w", err))
		}
		m.closers = append(m.closers, out)
		opts.AudioOut = out

		vin, err := video.ParseInput(o.VideoIn)
		if err != nil {
			return fail(fmt.Errorf("--video-in: %w", err))
		}
		src, err := video.OpenInput(vin, video.Config{Width: o.Width, Height: o.Height, FPS: o.FPS}, video.WithCamera(camera.Opener))
		switch {
		case errors.Is(err, video.ErrNoVideo):
			// --video-in none: audio only.
		case err != nil:
			return fail(deviceError(o.VideoIn, "camera", callcore.CodeNoCamera, fmt.Errorf("--video-in: %w", err)))
		default:
			m.closers = append(m.closers, src)
			opts.VideoIn = src
		}
		vout, err := video.ParseOutput(o.VideoOut)
		if err != nil {
			return fail(fmt.Errorf("--video-out: %w", err))
		}
		if vout.Kind == video.OutputDir {
			m.dirs = vout.Dir
			m.autoView = true
		}
	}
	f, err := media.NewFactory(opts)
	if err != nil {
		return fail(err)
	}
	m.factory = f
	return m, nil
}

// deviceError gives err, the failure to open spec, TRTCCalling's code for
// a missing device when spec names a device of kind ("mic", "mic:NAME").
func deviceError(spec, kind string, code int, err error) error {
	if k, _, _ := strings.Cut(strings.TrimSpace(spec), ":"); k != kind {
		return err
	}
	return &codeError{code: code, err: err}
}

// checkICEServers converts the configured ICE servers for pion and keeps
// those it accepts; each one it refuses becomes an ERROR (CodeICEServer)
// that names the server and why, so that a typo in a TURN URL or a missing
// credential is loud instead of a call that silently never relays.
func checkICEServers(in []config.ICEServer) ([]webrtc.ICEServer, []callcore.Error) {
	servers := make([]webrtc.ICEServer, 0, len(in))
	for _, s := range in {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	usable, problems := rtc.CheckICEServers(servers)
	out := make([]callcore.Error, 0, len(problems))
	for _, p := range problems {
		out = append(out, callcore.Error{Code: callcore.CodeICEServer, Msg: p.Error()})
	}
	return usable, out
}

// viewSink resolves a view name: in echo mode every view feeds the mirror;
// with --video-out dir:DIR a view writes PNGs into DIR/VIEW.
func (m *mediaSetup) viewSink(viewID string) video.Sink {
	if m.echo != nil {
		return m.echo
	}
	if m.dirs == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.sinks[viewID]; ok {
		return k
	}
	k, err := video.NewDirSink(filepath.Join(m.dirs, filepath.Base(viewID)), m.fps, video.WithLogger(m.log))
	if err != nil {
		m.log.Warn("video out", "view", viewID, "err", err)
		m.sinks[viewID] = nil
		return nil
	}
	m.sinks[viewID] = k
	return k
}

func (m *mediaSetup) close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	m.mu.Lock()
	for _, k := range m.sinks {
		if k != nil {
			errs = append(errs, k.Close())
		}
	}
	m.mu.Unlock()
	return errors.Join(errs...)
}

package client

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/audio/dsp"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/camera"
)

// MediaSpec chooses a client's media in the syntax of the config file and
// the headless flags.
type MediaSpec struct {
	AudioIn  string // mic[:DEVICE] | tone:HZ | wav:FILE | silence
	AudioOut string // speaker[:DEVICE] | wav:FILE | null
	VideoIn  string // camera[:DEVICE] | pattern | y4m:FILE | none
	// StandIns replaces a microphone, speaker or camera that cannot be
	// opened with a 440 Hz tone, silence or the test pattern, and says so
	// in Client.Notes (the TUI: a call still works on a machine without
	// them). Without it a missing device is an error carrying TRTCCalling's
	// code (callcore.CodeNoMicrophone, CodeNoCamera) for the user to fix.
	StandIns bool
	// Echo replaces the sources and the speaker: what arrives is sent back,
	// audio about a second later and video mirrored (the echo contact).
	Echo bool

	// AEC, NS and AGC switch the audio processing (audio/dsp: WebRTC's
	// echo cancellation, noise suppression and automatic gain, with a
	// high-pass filter when any is on). nil is the default: on when both
	// the microphone and the speaker are real (clocked) devices, off for
	// tones, files and null.
	AEC, NS, AGC *bool
	// EchoPath is a test aid: what is played also comes back into what is
	// captured (added to AudioIn) through a simulated room with this delay,
	// reflections and 6 dB of loss (dsp.Room). 0: none.
	EchoPath time.Duration

	Width, Height, FPS int           // sent video (default 320x240 at 15)
	AudioFrame         time.Duration // 20 ms (default) or 10 ms Opus frames

	// ICEServers are used besides those the signaling server hands out;
	// those pion refuses become Client.Problems and are left out.
	ICEServers  []config.ICEServer
	LoopbackICE bool // ICE on 127.0.0.1 only (one machine, tests)
	RelayOnly   bool // only TURN relay candidates (ICE policy "relay")

	// ViewSink resolves a view name to where its frames go (nil: dropped).
	// In Echo mode every view feeds the mirror instead.
	ViewSink func(viewID string) video.Sink
	// OnStats receives per-peer stats every StatsEvery (0: never; the
	// snapshots of Client.Factory still work).
	OnStats    func(media.Stats)
	StatsEvery time.Duration
	// Net is the network media runs on; nil is the real one. Headless
	// passes a simulated one for its --impair flags.
	Net transport.Net
}

// mediaParts is what buildMedia opened: the factory and what to close
// after the engine has stopped.
type mediaParts struct {
	factory  *media.Factory
	devices  *devices // nil for the echo contact
	closers  []io.Closer
	notes    []string
	problems []callcore.Error
}

func (p *mediaParts) close() error {
	var errs []error
	for _, c := range p.closers {
		errs = append(errs, c.Close())
	}
	p.closers = nil
	return errors.Join(errs...)
}

func buildMedia(s MediaSpec, log *slog.Logger) (*mediaParts, error) {
	p := &mediaParts{}
	ice, problems := CheckICEServers(s.ICEServers)
	p.problems = problems
	for _, e := range problems {
		log.Warn("ICE server not used", "code", e.Code, "err", e.Msg)
	}
	vcfg := video.DefaultConfig()
	if s.Width != 0 {
		vcfg.Width, vcfg.Height = s.Width, s.Height
	}
	if s.FPS != 0 {
		vcfg.FPS = s.FPS
	}
	opts := media.Options{
		Width: vcfg.Width, Height: vcfg.Height, FPS: vcfg.FPS, AudioFrame: s.AudioFrame,
		LoopbackOnly: s.LoopbackICE, RelayOnly: s.RelayOnly, ICEServers: ice,
		ViewSink: s.ViewSink, OnStats: s.OnStats, StatsEvery: s.StatsEvery, Net: s.Net, Logger: log,
	}
	fail := func(err error) (*mediaParts, error) {
		_ = p.close()
		return nil, err
	}
	af := audio.DefaultFormat()
	if s.AudioFrame != 0 {
		af.FrameDuration = s.AudioFrame
	}
	if s.Echo {
		e := media.NewAudioEcho(time.Second, af.FrameDuration)
		opts.AudioIn, opts.AudioOut = e, e
		pat, err := video.NewPattern(vcfg.Width, vcfg.Height)
		if err != nil {
			return fail(fmt.Errorf("echo: %w", err))
		}
		mirror := media.NewVideoMirror(pat)
		opts.VideoIn = mirror
		opts.ViewSink = func(string) video.Sink { return mirror }
	} else {
		devCfg := device.Config{Logger: log}
		aopts := audio.Options{Format: af, Devices: device.NewOpener(devCfg)}
		d := newDevices(aopts, vcfg, devCfg, log)
		p.devices = d
		// The devices sit behind switches (SwitchDevice), the switches
		// behind the processing: its state and the call's streams go on
		// across a switch.
		in, inSpec, err := p.openAudioIn(s, aopts, log)
		if err != nil {
			return fail(err)
		}
		d.mic = media.NewAudioInSwitch(d.watchMic(inSpec, in), af.FrameDuration)
		d.use(callcore.DeviceMicrophone, inSpec, true)
		p.closers = append(p.closers, d.mic)
		out, outSpec, err := p.openAudioOut(s, aopts, log)
		if err != nil {
			return fail(err)
		}
		d.spk = media.NewAudioOutSwitch(out, d.speakerFailed)
		d.use(callcore.DeviceSpeaker, outSpec, true)
		p.closers = append(p.closers, d.spk)
		if opts.AudioIn, opts.AudioOut, err = p.processAudio(s, af, d.mic, d.spk, log); err != nil {
			return fail(err)
		}
		vin, vinSpec, err := p.openVideoIn(s, vcfg, log)
		if err != nil {
			return fail(err)
		}
		if vin != nil { // nil: video-in none, audio only
			d.cam = media.NewVideoInSwitch(vin)
			d.use(callcore.DeviceCamera, vinSpec, true)
			p.closers = append(p.closers, d.cam)
			opts.VideoIn = d.cam
		}
	}
	f, err := media.NewFactory(opts)
	if err != nil {
		return fail(err)
	}
	p.factory = f
	if p.devices != nil {
		p.devices.factory.Store(f)
	}
	return p, nil
}

// openAudioIn opens the microphone or its stand-in and says which it
// opened (its device ID); the caller owns it.
func (p *mediaParts) openAudioIn(s MediaSpec, o audio.Options, log *slog.Logger) (audio.Input, string, error) {
	spec := orDefault(s.AudioIn, "mic")
	in, err := audio.ParseInput(spec, o)
	if err != nil && isDevice(spec, "mic") {
		if !s.StandIns {
			return nil, "", &callcore.CodedError{Code: callcore.CodeNoMicrophone, Err: fmt.Errorf("audio in %q: %w", spec, err)}
		}
		log.Warn("microphone unavailable, sending a test tone", "code", callcore.CodeNoMicrophone, "err", err)
		p.notes = append(p.notes, fmt.Sprintf("no microphone (error %d): sending a 440 Hz test tone", callcore.CodeNoMicrophone))
		spec = "tone:440"
		in, err = audio.ParseInput(spec, o)
	}
	if err != nil {
		return nil, "", fmt.Errorf("audio in %q: %w", spec, err)
	}
	return in, strings.TrimSpace(spec), nil
}

// openAudioOut opens the speaker or its stand-in and says which; the
// caller owns it.
func (p *mediaParts) openAudioOut(s MediaSpec, o audio.Options, log *slog.Logger) (audio.Output, string, error) {
	spec := orDefault(s.AudioOut, "speaker")
	out, err := audio.ParseOutput(spec, o)
	if err != nil && isDevice(spec, "speaker") && s.StandIns {
		log.Warn("speaker unavailable, audio is not played", "err", err)
		p.notes = append(p.notes, "no speaker: received audio is not played")
		spec = "null"
		out, err = audio.ParseOutput(spec, o)
	}
	if err != nil {
		return nil, "", fmt.Errorf("audio out %q: %w", spec, err)
	}
	return out, strings.TrimSpace(spec), nil
}

// processAudio puts the test echo path and the audio processing between
// the call and its audio devices, as s asks: the room next to the
// devices, the processor next to the call, so that the echo canceller's
// reference is exactly what is played and it cancels the room's echo.
func (p *mediaParts) processAudio(s MediaSpec, f audio.Format, in audio.Input, out audio.Output, log *slog.Logger) (audio.Input, audio.Output, error) {
	devices := audio.IsClocked(in) && audio.IsClocked(out)
	if s.EchoPath != 0 {
		room, err := dsp.NewRoom(dsp.RoomConfig{SampleRate: f.SampleRate, Delay: s.EchoPath})
		if err != nil {
			return nil, nil, fmt.Errorf("echo path: %w", err)
		}
		in, out = room.Microphone(in), room.Speaker(out)
	}
	on := func(b *bool) bool { return (b == nil && devices) || (b != nil && *b) }
	cfg, ok := dsp.CallConfig(on(s.AEC), on(s.NS), on(s.AGC))
	if !ok || f.Channels != 1 {
		return in, out, nil
	}
	cfg.SampleRate = f.SampleRate
	proc, err := dsp.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("audio processing: %w", err)
	}
	log.Info("audio processing", "aec", cfg.AEC, "ns", cfg.NS, "agc", cfg.AGC)
	p.closers = append(p.closers, closerFunc(func() error {
		st := proc.Stats()
		log.Info("audio processing done", "erle_db", st.ERLE, "delay", st.Delay, "stream_delay", st.StreamDelay,
			"far_dbfs", st.FarDBFS, "mic_dbfs", st.MicDBFS, "out_dbfs", st.OutDBFS)
		return proc.Close()
	}))
	in, out = dsp.Wrap(proc, in, out, log)
	return in, out, nil
}

// closerFunc is an io.Closer made of a function.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// openVideoIn opens the camera or its stand-in (nil for none) and says
// which; the caller owns it.
func (p *mediaParts) openVideoIn(s MediaSpec, cfg video.Config, log *slog.Logger) (video.Source, string, error) {
	spec := orDefault(s.VideoIn, "camera")
	is, err := video.ParseInput(spec)
	if err != nil {
		return nil, "", fmt.Errorf("video in %q: %w", spec, err)
	}
	src, err := video.OpenInput(is, cfg, video.WithCamera(camera.Opener))
	switch {
	case errors.Is(err, video.ErrNoVideo):
		return nil, "", nil
	case err != nil && isDevice(spec, "camera"):
		if !s.StandIns {
			return nil, "", &callcore.CodedError{Code: callcore.CodeNoCamera, Err: fmt.Errorf("video in %q: %w", spec, err)}
		}
		log.Warn("camera unavailable, sending the test pattern", "code", callcore.CodeNoCamera, "err", err)
		p.notes = append(p.notes, fmt.Sprintf("no camera (error %d): sending the test pattern", callcore.CodeNoCamera))
		spec = "pattern"
		src, err = video.NewPattern(cfg.Width, cfg.Height)
	}
	if err != nil {
		return nil, "", fmt.Errorf("video in %q: %w", spec, err)
	}
	return src, strings.TrimSpace(spec), nil
}

// CheckICEServers converts configured ICE servers for pion and keeps those
// it accepts; each one it refuses becomes an ERROR payload
// (callcore.CodeICEServer) naming the server and why, so that a typo in a
// TURN URL or a missing credential is loud instead of a call that silently
// never relays.
func CheckICEServers(in []config.ICEServer) ([]webrtc.ICEServer, []callcore.Error) {
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

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// isDevice reports whether spec names a device of kind ("mic",
// "mic:NAME"), as opposed to a file or a generated source.
func isDevice(spec, kind string) bool {
	k, _, _ := strings.Cut(strings.TrimSpace(spec), ":")
	return k == kind
}

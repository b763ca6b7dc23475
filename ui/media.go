package ui

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/camera"
)

// Media is what a MediaProvider gives the TUI.
type Media struct {
	Factory callcore.MediaFactory
	// Stats feeds the call screen's quality indicator (optional).
	Stats StatsSource
	// Notes tell the user about stand-ins, e.g. a test tone for a missing
	// microphone. They stay on screen.
	Notes []string
	// Errors are shown as ERROR events from the start: configured ICE
	// servers that cannot be used (CodeICEServer); the others are used.
	Errors []callcore.Error
	// Close releases devices and files after the engine has stopped.
	Close func() error
}

// DefaultMedia is the TUI's media: the configured devices, with a test
// tone, silence and the test pattern standing in for a missing
// microphone, speaker and camera, so that a machine without them can still
// make a real call.
func DefaultMedia(cfg config.Config, sinks func(viewID string) video.Sink, log *slog.Logger) (*Media, error) {
	var (
		notes   []string
		closers []io.Closer
	)
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c.Close())
		}
		return errors.Join(errs...)
	}
	aopts := audio.Options{Devices: device.NewOpener(device.Config{Logger: log})}

	inSpec := orDefault(cfg.AudioIn, "mic")
	in, err := audio.ParseInput(inSpec, aopts)
	if err != nil && isDevice(inSpec, "mic") {
		log.Warn("microphone unavailable, sending a test tone", "code", callcore.CodeNoMicrophone, "err", err)
		notes = append(notes, fmt.Sprintf("no microphone (error %d): sending a 440 Hz test tone", callcore.CodeNoMicrophone))
		in, err = audio.ParseInput("tone:440", aopts)
	}
	if err != nil {
		return nil, fmt.Errorf("audio in: %w", err)
	}
	closers = append(closers, in)

	outSpec := orDefault(cfg.AudioOut, "speaker")
	out, err := audio.ParseOutput(outSpec, aopts)
	if err != nil && isDevice(outSpec, "speaker") {
		log.Warn("speaker unavailable, audio is not played", "err", err)
		notes = append(notes, "no speaker: received audio is not played")
		out, err = audio.ParseOutput("null", aopts)
	}
	if err != nil {
		_ = closeAll()
		return nil, fmt.Errorf("audio out: %w", err)
	}
	closers = append(closers, out)

	vcfg := video.DefaultConfig()
	var vin video.Source
	vSpec := orDefault(cfg.VideoIn, "camera")
	spec, err := video.ParseInput(vSpec)
	if err == nil {
		vin, err = video.OpenInput(spec, vcfg, video.WithCamera(camera.Opener))
	}
	switch {
	case errors.Is(err, video.ErrNoVideo):
		vin, err = nil, nil
	case err != nil && isDevice(vSpec, "camera"):
		log.Warn("camera unavailable, sending the test pattern", "code", callcore.CodeNoCamera, "err", err)
		notes = append(notes, fmt.Sprintf("no camera (error %d): sending the test pattern", callcore.CodeNoCamera))
		vin, err = video.NewPattern(vcfg.Width, vcfg.Height)
	}
	if err != nil {
		_ = closeAll()
		return nil, fmt.Errorf("video in: %w", err)
	}
	if vin != nil {
		closers = append(closers, vin)
	}

	ice, iceErrs := checkICEServers(cfg.ICEServers)
	for _, e := range iceErrs {
		log.Warn("ICE server not used", "code", e.Code, "err", e.Msg)
	}
	f, err := media.NewFactory(media.Options{
		AudioIn: in, AudioOut: out, VideoIn: vin, ViewSink: sinks,
		Width: vcfg.Width, Height: vcfg.Height, FPS: vcfg.FPS,
		LoopbackOnly: cfg.ICELoopback, Logger: log, ICEServers: ice,
		// No periodic stats: the quality indicator reads snapshots, and
		// USER_VOICE_VOLUME comes every second regardless.
	})
	if err != nil {
		_ = closeAll()
		return nil, err
	}
	return &Media{Factory: f, Stats: factoryStats{f}, Notes: notes, Errors: iceErrs, Close: closeAll}, nil
}

// checkICEServers converts the configured ICE servers for pion and keeps
// those it accepts; each one it refuses becomes an ERROR (CodeICEServer)
// naming the server and why, instead of calls that silently never relay.
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

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// isDevice reports whether spec names a device of kind ("mic", "mic:NAME").
func isDevice(spec, kind string) bool {
	k, _, _ := strings.Cut(spec, ":")
	return k == kind
}

// factoryStats turns the media layer's stats into the quality indicator's.
type factoryStats struct{ f *media.Factory }

func (s factoryStats) CallStats() map[string]PeerStats {
	out := map[string]PeerStats{}
	for _, st := range s.f.Snapshot() {
		var loss float64
		if n := st.Audio.PacketsReceived + st.Audio.PacketsLost; n > 0 {
			loss = float64(st.Audio.PacketsLost) / float64(n)
		}
		out[st.UserID] = PeerStats{RTT: time.Duration(st.RTTMs * float64(time.Millisecond)), Loss: loss}
	}
	return out
}

// Package media is termcall's call media: it implements callcore's
// MediaFactory with pion/webrtc (callcore/rtc), Opus audio (audio/) and
// VP8 video (video/). One Session per call: local sources are encoded once
// and sent to every peer; each peer's audio goes through its own jitter
// buffer and decoder and is mixed for playback; each peer's video is
// decoded and handed to the views bound to that peer.
package media

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/video"
)

// Options configure the media of every call an engine makes.
type Options struct {
	// AudioIn is the microphone or its stand-in; nil sends silence.
	AudioIn audio.Source
	// AudioOut plays the mix of every peer; nil discards it.
	AudioOut audio.Sink
	// VideoIn is the camera or its stand-in; nil sends no video.
	VideoIn video.Source
	// ViewSink resolves a view name (StartRemoteView/StartLocalView) to
	// where its frames go; nil drops them.
	ViewSink func(viewID string) video.Sink
	// OnStats receives per-peer statistics every StatsEvery.
	OnStats func(Stats)
	// OnFrame is called when a peer's first video frame, and each later
	// one, is decoded (after the views got it). Optional.
	OnFrame func(userID string, f *video.Frame)
	// OnAudio is called once per peer and call, when that peer's first
	// audio packet leaves the jitter buffer decoded. Optional.
	OnAudio func(userID string)

	AudioFrame   time.Duration // 20 ms (default) or 10 ms
	OpusBitrate  int           // bit/s, default 32000
	Width        int           // default 320
	Height       int           // default 240
	FPS          int           // default 15
	VideoKbps    int           // default 300
	LoopbackOnly bool          // ICE on 127.0.0.1 only (tests, one-machine demos)
	// ConnectTimeout is how long media with a peer may take to connect
	// before it is reported failed (MediaCall.PeerFailed); default 15 s.
	ConnectTimeout time.Duration
	// RelayOnly connects through TURN relays only (a test of TURN, or a
	// network where nothing else gets through).
	RelayOnly bool
	// ICEServers are STUN/TURN servers used besides those the signaling
	// server hands out at login (MediaCall.ICEServers); a TURN server
	// needs Username and Credential. Servers pion would refuse are left
	// out and reported through MediaCall.Error (CodeICEServer).
	ICEServers []webrtc.ICEServer
	// Net is the network every call's sockets are opened on (see
	// rtc.Config.Net): a wrapper can degrade or observe the media path.
	// nil is the real network.
	Net transport.Net
	// StatsEvery is how often OnStats gets each peer's stats; 0 or
	// negative: never (Snapshot still works). USER_VOICE_VOLUME
	// (MediaCall.Volume) goes out once a second either way.
	StatsEvery time.Duration
	Logger     *slog.Logger
}

func (o *Options) fill() error {
	if o.AudioFrame == 0 {
		o.AudioFrame = 20 * time.Millisecond
	}
	if o.AudioFrame != 10*time.Millisecond && o.AudioFrame != 20*time.Millisecond {
		return fmt.Errorf("%w: audio frame %v, want 10ms or 20ms", ErrBadOptions, o.AudioFrame)
	}
	if o.OpusBitrate == 0 {
		o.OpusBitrate = 32000
	}
	if o.Width == 0 {
		o.Width = 320
	}
	if o.Height == 0 {
		o.Height = 240
	}
	if o.FPS == 0 {
		o.FPS = 15
	}
	if o.VideoKbps == 0 {
		o.VideoKbps = 300
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Width < 16 || o.Height < 16 || o.Width > video.MaxWidth || o.Height > video.MaxHeight || o.Width%2 != 0 || o.Height%2 != 0 {
		return fmt.Errorf("%w: video size %dx%d", ErrBadOptions, o.Width, o.Height)
	}
	if o.FPS < 1 || o.FPS > 60 {
		return fmt.Errorf("%w: fps %d", ErrBadOptions, o.FPS)
	}
	return nil
}

// Factory makes a Session per call. It implements callcore.MediaFactory.
type Factory struct {
	opts Options

	mu       sync.Mutex
	sessions map[*Session]struct{} // open sessions, for Snapshot
}

// NewFactory validates opts and fills in defaults.
func NewFactory(opts Options) (*Factory, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	return &Factory{opts: opts, sessions: map[*Session]struct{}{}}, nil
}

// NewSession implements callcore.MediaFactory.
func (f *Factory) NewSession(c callcore.MediaCall) (callcore.MediaSession, error) {
	f.mu.Lock()
	opts := f.opts // SetVideoQuality changes its video fields
	f.mu.Unlock()
	s, err := newSession(opts, c)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.sessions[s] = struct{}{}
	f.mu.Unlock()
	s.onClose = func() {
		f.mu.Lock()
		delete(f.sessions, s)
		f.mu.Unlock()
	}
	return s, nil
}

// SetVideoQuality implements callcore.VideoQualitySetter: the profile is
// the most the open calls and every later one send (the bandwidth
// estimate and the receivers' view sizes may cap it further).
func (f *Factory) SetVideoQuality(p callcore.VideoProfile) {
	f.mu.Lock()
	f.opts.Width, f.opts.Height, f.opts.FPS, f.opts.VideoKbps = p.Width, p.Height, p.FPS, p.MaxKbps
	sessions := make([]*Session, 0, len(f.sessions))
	for s := range f.sessions {
		sessions = append(sessions, s)
	}
	f.mu.Unlock()
	for _, s := range sessions {
		s.adapt.setProfile(p)
	}
}

var _ callcore.VideoQualitySetter = (*Factory)(nil)

// Snapshot returns the current stats of every peer of every open call.
func (f *Factory) Snapshot() []Stats {
	f.mu.Lock()
	sessions := make([]*Session, 0, len(f.sessions))
	for s := range f.sessions {
		sessions = append(sessions, s)
	}
	f.mu.Unlock()
	var out []Stats
	for _, s := range sessions {
		out = append(out, s.Snapshot()...)
	}
	return out
}

// ICEServerURLs turns STUN URLs into ICE servers, one each. A TURN URL
// needs a username and credential: build its webrtc.ICEServer with them
// (those from the signaling server at login come with theirs).
func ICEServerURLs(urls []string) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(urls))
	for _, u := range urls {
		out = append(out, webrtc.ICEServer{URLs: []string{u}})
	}
	return out
}

// iceServers merges the servers handed out at login with configured ones,
// credentials included.
func iceServers(opts Options, c callcore.MediaCall) []webrtc.ICEServer {
	out := append([]webrtc.ICEServer(nil), opts.ICEServers...)
	for _, s := range c.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

var _ callcore.MediaFactory = (*Factory)(nil)

// meshConfig builds the transport config of a call.
func meshConfig(opts Options, c callcore.MediaCall, log *slog.Logger) rtc.Config {
	return rtc.Config{
		ICEServers:   iceServers(opts, c),
		LoopbackOnly: opts.LoopbackOnly,
		RelayOnly:    opts.RelayOnly,
		// The rtc default applies to zero.
		ConnectTimeout: opts.ConnectTimeout,
		Net:            opts.Net,
		StreamID:       c.SelfID,
		Logger:         log,
	}
}

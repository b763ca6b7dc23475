package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/video"
)

// Session is the media of one call. callcore calls its methods from one
// goroutine; pion and the session's own loops call back concurrently.
type Session struct {
	opts Options
	call callcore.MediaCall
	log  *slog.Logger
	mesh *rtc.Mesh

	ctx    context.Context //nolint:containedctx // the session's lifetime, ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	micMuted atomic.Bool
	cameraOn atomic.Bool
	callType atomic.Int32
	keyframe atomic.Bool // the next encoded frame must be a keyframe
	// kickAudio and kickVideo make the send loops send a frame now, not
	// at their next tick: a peer that just came up gets audio and a
	// keyframe at once.
	kickAudio chan struct{}
	kickVideo chan struct{}
	// kickPlayout: a peer's first audio packet arrived.
	kickPlayout chan struct{}
	startup     startups

	send    *sendStats
	adapt   *adapter // what to send: estimate, profile, receivers' sizes (adapt.go)
	onClose func()   // set by the factory before the session is used

	mu       sync.Mutex
	closed   bool // guards wg.Add: no reader starts once Close waits
	remotes  map[string]*remote
	sendRate rateWindow // of send.audioBytes+videoBytes, for snapshots
	views    callcore.ViewTable
	sinks    map[string]video.Sink
	starts   map[string]*Startup // by peer
}

var (
	_ callcore.MediaSession = (*Session)(nil)
	_ callcore.ViewBinder   = (*Session)(nil)
)

func newSession(opts Options, c callcore.MediaCall) (*Session, error) {
	if c.Send == nil {
		return nil, fmt.Errorf("%w: MediaCall.Send is nil", ErrBadOptions)
	}
	log := c.Logger
	if log == nil {
		log = opts.Logger
	}
	log = log.With("part", "media", "room", c.RoomID)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		opts: opts, call: c, log: log, ctx: ctx, cancel: cancel,
		send:    &sendStats{},
		remotes: map[string]*remote{},
		sinks:   map[string]video.Sink{},
		starts:  map[string]*Startup{},

		kickAudio: make(chan struct{}, 1),
		kickVideo: make(chan struct{}, 1),

		kickPlayout: make(chan struct{}, 1),
	}
	s.adapt = newAdapter(profileFromOptions(opts), opts.OpusBitrate)
	s.sendRate.add(time.Now(), 0)
	s.cameraOn.Store(true)
	s.callType.Store(int32(c.CallType))
	s.keyframe.Store(true)

	mesh, err := rtc.New(meshConfig(opts, c, log), rtc.Callbacks{
		Send: c.Send,
		PeerUp: func(id string) {
			// A new peer needs a keyframe to start decoding; it and
			// audio go out now.
			s.notePeerUp(id)
			s.keyframe.Store(true)
			kick(s.kickAudio)
			kick(s.kickVideo)
			if c.PeerUp != nil {
				c.PeerUp(id)
			}
		},
		PeerDown: func(id string) {
			if c.PeerDown != nil {
				c.PeerDown(id)
			}
		},
		PeerFailed: func(id string, err error) {
			if c.PeerFailed != nil {
				c.PeerFailed(id, err)
			}
		},
		Reconnecting: func(id string) {
			if c.PeerReconnecting != nil {
				c.PeerReconnecting(id)
			}
		},
		UnsupportedCodec: func(_ string, err error) { s.report(callcore.CodeUnsupportedCodec, err) },
		Track:            s.onTrack,
		KeyframeRequest:  func(string) { s.keyframe.Store(true) },
		ViewSize:         s.adapt.setLimit,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("media: %w", err)
	}
	s.mesh = mesh
	// The call goes on with the servers that are left; the user hears
	// about each one left out.
	for _, err := range mesh.ICEProblems() {
		s.report(callcore.CodeICEServer, err)
	}

	s.wg.Add(1)
	go s.adaptLoop()
	s.wg.Add(3)
	go s.sendAudio()
	go s.playout()
	go s.meterLoop()
	if opts.VideoIn != nil {
		s.wg.Add(1)
		go s.sendVideo()
	}
	if opts.StatsEvery > 0 {
		s.wg.Add(1)
		go s.statsLoop()
	}
	return s, nil
}

// kick wakes a loop waiting on ch without blocking: one pending kick is
// enough.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// report passes a problem the user must hear about to the engine.
func (s *Session) report(code int, err error) {
	s.log.Warn("media problem", "code", code, "err", err)
	if s.call.Error != nil {
		s.call.Error(code, err.Error())
	}
}

// AddPeer implements callcore.MediaSession.
func (s *Session) AddPeer(userID string, offerer bool) {
	if err := s.mesh.AddPeer(userID, offerer); err != nil && !errors.Is(err, rtc.ErrClosed) {
		s.log.Warn("add peer", "peer", userID, "err", err)
	}
}

// RemovePeer implements callcore.MediaSession. Closing the connection
// ends the peer's tracks; their readers then close the decoders they own.
func (s *Session) RemovePeer(userID string) {
	s.mesh.RemovePeer(userID)
	s.mu.Lock()
	delete(s.remotes, userID)
	delete(s.starts, userID)
	s.mu.Unlock()
}

// HandleSignal implements callcore.MediaSession.
func (s *Session) HandleSignal(from string, payload json.RawMessage) {
	if err := s.mesh.HandleSignal(from, payload); err != nil && !errors.Is(err, rtc.ErrClosed) {
		s.log.Warn("bad signal", "from", from, "err", err)
	}
}

// SetMicMute implements callcore.MediaSession: a muted mic sends nothing.
func (s *Session) SetMicMute(mute bool) { s.micMuted.Store(mute) }

// SetCamera implements callcore.MediaSession: a closed camera sends
// nothing; reopening it starts with a keyframe.
func (s *Session) SetCamera(on bool) {
	if on && !s.cameraOn.Load() {
		s.keyframe.Store(true)
	}
	s.cameraOn.Store(on)
}

// SetCallType implements callcore.MediaSession: audio calls send no video.
func (s *Session) SetCallType(callType callcore.CallType) {
	if callType == callcore.CallTypeVideo && callcore.CallType(s.callType.Load()) != callcore.CallTypeVideo {
		s.keyframe.Store(true)
	}
	s.callType.Store(int32(callType))
}

// SetViews implements callcore.ViewBinder.
func (s *Session) SetViews(t callcore.ViewTable) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.views = t
}

// sendingVideo reports whether local video goes out now.
func (s *Session) sendingVideo() bool {
	return s.cameraOn.Load() && callcore.CallType(s.callType.Load()) == callcore.CallTypeVideo
}

// sink returns the cached sink of a view.
func (s *Session) sinkLocked(viewID string) video.Sink {
	if s.opts.ViewSink == nil {
		return nil
	}
	if k, ok := s.sinks[viewID]; ok {
		return k
	}
	k := s.opts.ViewSink(viewID)
	s.sinks[viewID] = k
	return k
}

// viewSinks returns the sinks showing userID ("" = the local preview).
func (s *Session) viewSinks(userID string) []video.Sink {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.views.Local
	if userID != "" {
		ids = s.views.Remote[userID]
	}
	var out []video.Sink
	for _, id := range ids {
		if k := s.sinkLocked(id); k != nil {
			out = append(out, k)
		}
	}
	return out
}

// Close implements callcore.MediaSession. It stops every loop and peer.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.onClose != nil {
		s.onClose()
	}
	s.cancel()
	// The mesh closes every connection (ending the tracks) and waits
	// until no Track callback is running; then every reader has exited
	// and closed its decoder when wg.Wait returns.
	err := s.mesh.Close()
	s.wg.Wait()
	s.mu.Lock()
	s.remotes = map[string]*remote{}
	s.mu.Unlock()
	return err
}

// onTrack starts reading a peer's remote track (the mesh hands over Opus
// and VP8 only). The reader is counted under mu, where Close sets closed,
// so that no wg.Add can race with Close's Wait.
func (s *Session) onTrack(userID string, t *webrtc.TrackRemote) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var read func(*remote, *webrtc.TrackRemote)
	switch t.Kind() {
	case webrtc.RTPCodecTypeAudio:
		read = s.readAudio
	case webrtc.RTPCodecTypeVideo:
		read = s.readVideo
	default:
		return
	}
	r := s.remotes[userID]
	if r == nil {
		r = newRemote(userID)
		s.remotes[userID] = r
	}
	s.wg.Add(1)
	go read(r, t)
}

// remoteList snapshots the peers.
func (s *Session) remoteList() []*remote {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*remote, 0, len(s.remotes))
	for _, r := range s.remotes {
		out = append(out, r)
	}
	return out
}

// audioFormat is the call's PCM format.
func (s *Session) audioFormat() audio.Format {
	f := audio.DefaultFormat()
	f.FrameDuration = s.opts.AudioFrame
	return f
}

// Package rtc is termcall's WebRTC transport: one pion PeerConnection per
// remote member of a call (a mesh), negotiated with offers, answers and
// trickle ICE candidates that travel through the signaling server's relay.
//
// Local media is one audio and one video track shared by every peer, so a
// sender encodes and packetizes once and pion fans the packets out. The
// tracks take RTP packets, not samples: the sender owns sequence numbers
// and timestamps, so a muted or DTX gap advances time without looking like
// loss. Codecs and pacing are the caller's job; this package only moves RTP.
package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// Config tunes a Mesh.
type Config struct {
	// ICEServers are STUN/TURN servers; none are needed on one host or LAN.
	// Those CheckICEServers refuses are left out (see Mesh.ICEProblems).
	ICEServers []webrtc.ICEServer
	// LoopbackOnly gathers only 127.0.0.1 candidates. Tests use it so that
	// media never leaves the loopback interface.
	LoopbackOnly bool
	// RelayOnly gathers and uses only relay (TURN) candidates.
	RelayOnly bool
	// DownAfter is how long a peer that was up may stay disconnected
	// (ICE restarts included) before it is reported down. Default 10 s.
	DownAfter time.Duration
	// ConnectTimeout is how long a new peer (AddPeer, or a first offer or
	// candidate from a peer) may take to connect before it is reported
	// failed. Default 15 s.
	ConnectTimeout time.Duration
	// StreamID names the local media stream (the user ID is a good choice).
	StreamID string
	// Net is the network the mesh's sockets are opened on, as pion's
	// SettingEngine.SetNet takes it: a wrapper can degrade or observe
	// every datagram (STUN, DTLS, SRTP alike). nil is the real network.
	Net    transport.Net
	Logger *slog.Logger
}

// Callbacks connect a Mesh to the call engine. They are called from pion's
// goroutines and must not block for long.
type Callbacks struct {
	// Send relays a signaling payload to a peer.
	Send func(to string, payload json.RawMessage) error
	// PeerUp reports that media with a peer is connected (once per peer).
	PeerUp func(userID string)
	// PeerDown reports that a peer's media connection, once up, was lost
	// for longer than DownAfter, failed, or was closed by the peer.
	PeerDown func(userID string)
	// Reconnecting reports that media with a peer that was up stopped and
	// the mesh is restarting ICE. A restart travels over the signaling
	// relay, so a caller whose link may have died with the network (an
	// address change kills its socket silently) should check it now.
	Reconnecting func(userID string)
	// PeerFailed reports that a peer never connected: ICE or DTLS failed
	// first, or ConnectTimeout passed. A peer is reported up at most
	// once, and down or failed at most once, never both.
	PeerFailed func(userID string, err error)
	// UnsupportedCodec reports, once per peer, that the peer offers or
	// sends media only in codecs termcall does not decode (err wraps
	// ErrUnsupportedCodec and says which).
	UnsupportedCodec func(userID string, err error)
	// Track hands over a remote Opus or VP8 track. The callee owns reading
	// it until ReadRTP returns an error (the peer's connection closed).
	Track func(userID string, track *webrtc.TrackRemote)
	// KeyframeRequest reports a PLI or FIR from a peer for the video track.
	KeyframeRequest func(userID string)
	// ViewSize reports the largest size a peer shows our video in (its
	// viewsize signal, bwe.go); 0x0 is any size.
	ViewSize func(userID string, width, height int)
}

// Signal is the relay payload exchanged between peers.
type Signal struct {
	Kind      string                   `json:"kind"` // "offer", "answer", "candidate", "restart"
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	// Width and Height are a "viewsize" signal's (bwe.go).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// Errors.
var (
	ErrClosed       = errors.New("rtc: mesh closed")
	ErrBadSignal    = errors.New("rtc: bad signal")
	ErrUnknownPeer  = errors.New("rtc: unknown peer")
	ErrNoSendTarget = errors.New("rtc: callbacks.Send is nil")
	// ErrConnectTimeout: the peer was not connected within ConnectTimeout.
	ErrConnectTimeout = errors.New("rtc: not connected in time")
	// ErrConnectFailed: ICE or DTLS failed before the peer was ever up.
	ErrConnectFailed = errors.New("rtc: connection failed")
	// ErrUnsupportedCodec: the peer's media is in a codec termcall does
	// not decode.
	ErrUnsupportedCodec = errors.New("rtc: unsupported codec")
	// ErrICEServer: an ICE server CheckICEServers refuses.
	ErrICEServer = errors.New("rtc: unusable ICE server")
)

// relayWait is how long a relay pair waits for a direct one (see New).
const relayWait = time.Second

// maxPendingCandidates bounds the candidates kept for a peer whose
// description has not arrived yet; later ones are dropped.
const maxPendingCandidates = 64

// Mesh holds the peer connections of one call.
type Mesh struct {
	cfg   Config
	cb    Callbacks
	api   *webrtc.API
	log   *slog.Logger
	audio *webrtc.TrackLocalStaticRTP
	video *webrtc.TrackLocalStaticRTP
	nacks *nackCounter
	bwe   *estimators // one GCC estimator per peer connection (bwe.go)

	iceProblems []error  // servers of cfg.ICEServers left out
	live        *liveNet // the real network, when cfg.Net is nil

	mu     sync.Mutex
	peers  map[string]*peer
	closed bool
	// wg counts the mesh's goroutines and callbacks in flight. Add only
	// under mu with closed false, so that no Add races with Close's Wait.
	wg sync.WaitGroup
}

type peer struct {
	id       string
	pc       *webrtc.PeerConnection
	offerer  bool
	pending  []webrtc.ICECandidateInit  // candidates that arrived before the remote description
	remote   bool                       // remote description set
	up       bool                       // PeerUp was reported
	ended    bool                       // PeerDown or PeerFailed was reported
	badCodec bool                       // UnsupportedCodec was reported
	downTime *time.Timer                // armed while a peer that was up is disconnected
	connTime *time.Timer                // armed until the peer is first connected
	rtt      atomic.Int64               // ns, from the peer's RTCP receiver reports; 0 = none yet
	loss     atomic.Pointer[lossReport] // the peer's latest reception report on what this client sends
	path     atomic.Pointer[Path]       // the selected ICE candidate pair; nil until one is

	// ICE restart (restart.go).
	restartTime *time.Timer // the next restart step, armed while media is being recovered
	lostAt      time.Time   // when media was last lost
	offeredAt   time.Time   // when the last restart offer went out
	restarts    int         // restart offers made
}

// New builds a Mesh with Opus and VP8, NACK (with RTX), RTCP reports, PLI
// and FIR, and transport-wide congestion control feedback.
func New(cfg Config, cb Callbacks) (*Mesh, error) {
	if cb.Send == nil {
		return nil, ErrNoSendTarget
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = 10 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.StreamID == "" {
		cfg.StreamID = "termcall"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// pion refuses a whole PeerConnection for one bad server: keep the
	// usable ones so that the call still connects without the others.
	usable, problems := CheckICEServers(cfg.ICEServers)
	for _, err := range problems {
		log.Warn("ice server left out", "err", err)
	}
	cfg.ICEServers = usable
	me := &webrtc.MediaEngine{}
	reg := &interceptor.Registry{}
	// First in the chain, so that it sees what the NACK generator writes.
	nacks := newNACKCounter()
	reg.Add(nacks)
	bwe := &estimators{set: map[*estimator]struct{}{}}
	if err := registerMedia(me, reg, bwe); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	// mDNS would multicast on the LAN; host candidates are enough here.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(2*time.Second, 5*time.Second, 500*time.Millisecond)
	// pion holds a working relay pair this long for a direct one to
	// nominate instead (its default is 2 s): a direct pair that works
	// answers well within a second, and every relayed call, or ICE restart
	// through a relay, waits this long for media.
	se.SetRelayAcceptanceMinWait(relayWait)
	if cfg.RelayOnly {
		// With relay candidates only there is no better pair coming.
		se.SetRelayAcceptanceMinWait(0)
	}
	var live *liveNet
	if cfg.LoopbackOnly {
		// pion drops loopback candidates unless told otherwise.
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	} else {
		// Our own real network, so that an ICE restart can gather on the
		// interfaces the host has then (pion's own reads them once).
		var err error
		if live, err = newLiveNet(); err != nil {
			return nil, err
		}
		se.SetNet(live)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))

	audio, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", cfg.StreamID)
	if err != nil {
		return nil, fmt.Errorf("audio track: %w", err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", cfg.StreamID)
	if err != nil {
		return nil, fmt.Errorf("video track: %w", err)
	}
	return &Mesh{cfg: cfg, cb: cb, api: api, log: log, audio: audio, video: video, nacks: nacks, bwe: bwe,
		iceProblems: problems, live: live, peers: map[string]*peer{}}, nil
}

// Payload types termcall offers (and answers with when the offer leaves
// the choice to it). Browsers use the same numbers for Opus and VP8.
const (
	PayloadTypeOpus   = 111
	PayloadTypeVP8    = 96
	PayloadTypeVP8RTX = 97
)

// sdesMidURI is the MID header extension (RFC 8843).
const sdesMidURI = "urn:ietf:params:rtp-hdrext:sdes:mid"

// registerMedia registers exactly what termcall sends and decodes: Opus
// and VP8 (with RTX for NACK repairs), and the interceptors that use the
// RTCP feedback the SDP advertises. Other codecs stay out of the SDP, so a
// browser that prefers VP9 or H.264 still sends VP8.
func registerMedia(me *webrtc.MediaEngine, reg *interceptor.Registry, bwe *estimators) error {
	codecs := []struct {
		kind webrtc.RTPCodecType
		c    webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{PayloadType: PayloadTypeOpus, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		}}},
		// FIR is answered like PLI (readRTCP); nack, nack pli and
		// transport-cc are added below with the interceptors using them.
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: PayloadTypeVP8, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}},
		}}},
	}
	for _, c := range codecs {
		if err := me.RegisterCodec(c.c, c.kind); err != nil {
			return fmt.Errorf("register %s: %w", c.c.MimeType, err)
		}
	}
	// Congestion control (bwe.go), before the NACK responder.
	if err := registerBWE(reg, bwe); err != nil {
		return err
	}
	// NACK responder (pion's) and generator (nackgen.go: pion's never
	// learns of RTX repairs); "nack" and "nack pli" on VP8.
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return fmt.Errorf("nack responder: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(responder)
	reg.Add(nackFactory{})
	// Sender and receiver reports: RTT (noteRTT) and the peer's loss stats.
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return fmt.Errorf("register rtcp reports: %w", err)
	}
	// transport-cc feedback about what arrives here, so that the far
	// end's congestion control (a browser's, or termcall's own GCC in
	// bwe.go) can adapt what it sends us. REMB is not offered: nothing
	// here computes one.
	if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
		return fmt.Errorf("register transport-cc: %w", err)
	}
	// pion's NACK responder resends through RTX when it is negotiated, and
	// its receiver folds RTX back into the VP8 track. Registered after the
	// feedback, which RTX takes none of.
	rtx := webrtc.RTPCodecParameters{PayloadType: PayloadTypeVP8RTX, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", PayloadTypeVP8),
	}}
	if err := me.RegisterCodec(rtx, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register rtx: %w", err)
	}
	// MID lets the receiver demultiplex a stream whose SSRC the SDP does
	// not list (browsers send it; pion needs it for unsignalled SSRCs).
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdesMidURI}, kind); err != nil {
			return fmt.Errorf("register mid extension: %w", err)
		}
	}
	return nil
}

// ICEProblems returns why servers of Config.ICEServers were left out, one
// error per unusable URL (see CheckICEServers).
func (m *Mesh) ICEProblems() []error { return slices.Clone(m.iceProblems) }

// AudioTrack is the shared local Opus track: write Opus RTP packets to it.
func (m *Mesh) AudioTrack() *webrtc.TrackLocalStaticRTP { return m.audio }

// VideoTrack is the shared local VP8 track: write VP8 RTP packets to it.
func (m *Mesh) VideoTrack() *webrtc.TrackLocalStaticRTP { return m.video }

// AddPeer starts media with userID. The offerer sends the offer; the other
// side waits for it (a peer that sends an offer first is added implicitly).
func (m *Mesh) AddPeer(userID string, offerer bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.peers[userID]; ok {
		return nil
	}
	p, err := m.newPeerLocked(userID, offerer)
	if err != nil {
		return err
	}
	if !offerer {
		return nil
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer for %s: %w", userID, err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local offer for %s: %w", userID, err)
	}
	return m.sendLocked(userID, Signal{Kind: "offer", SDP: offer.SDP})
}

func (m *Mesh) newPeerLocked(userID string, offerer bool) (*peer, error) {
	conf := webrtc.Configuration{ICEServers: m.cfg.ICEServers}
	if m.cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := m.api.NewPeerConnection(conf)
	if err != nil {
		return nil, fmt.Errorf("new peer connection for %s: %w", userID, err)
	}
	p := &peer{id: userID, pc: pc, offerer: offerer}
	watchPath(p)
	for _, tr := range []*webrtc.TrackLocalStaticRTP{m.audio, m.video} {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("add %s track for %s: %w", tr.Kind(), userID, err)
		}
		m.wg.Add(1)
		go m.readRTCP(p, sender, tr.Kind() == webrtc.RTPCodecTypeVideo)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || m.peers[userID] != p {
			return
		}
		if err := m.sendLocked(userID, Signal{Kind: "candidate", Candidate: &init}); err != nil {
			m.log.Debug("send candidate", "peer", userID, "err", err)
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { m.onTrack(p, t, recv) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { m.stateChange(p, s) })
	// Until the peer is up, the connect timer stands for every way media
	// can fail to start (signals lost, an offer never coming, ICE checks
	// that never succeed) that pion would not report as failed.
	p.connTime = time.AfterFunc(m.cfg.ConnectTimeout, func() { m.connectTimeout(p) })
	m.peers[userID] = p
	return p, nil
}

// onTrack starts reading a remote track. Tracks in codecs termcall does
// not decode are drained (interceptors keep running) and reported.
func (m *Mesh) onTrack(p *peer, t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	var report func()
	m.mu.Lock()
	if m.closed || m.peers[p.id] != p {
		// Closed or removed: pion ends the track with the connection, and
		// Close may be waiting for the goroutines it knows of already.
		m.mu.Unlock()
		return
	}
	codec := t.Codec()
	supported := supportedCodec(t.Kind(), codec.MimeType)
	m.wg.Add(1)
	go m.drainRTCP(recv)
	drain := !supported || m.cb.Track == nil
	if drain {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := t.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	if !supported {
		err := fmt.Errorf("%w: %s sends %s %s (payload type %d); termcall decodes Opus and VP8",
			ErrUnsupportedCodec, p.id, t.Kind(), codec.MimeType, codec.PayloadType)
		m.log.Warn("unsupported codec", "peer", p.id, "err", err)
		report = m.unsupportedLocked(p, err)
	}
	// Track runs under the wait group too: Close waits until the callee
	// has taken the track (and counted its own reader).
	var deliver func()
	if !drain {
		m.wg.Add(1)
		deliver = func() { defer m.wg.Done(); m.cb.Track(p.id, t) }
	}
	m.mu.Unlock()
	if report != nil {
		report()
	}
	if deliver != nil {
		deliver()
	}
}

// supportedCodec reports whether termcall decodes mime on a track of kind.
func supportedCodec(kind webrtc.RTPCodecType, mime string) bool {
	switch kind {
	case webrtc.RTPCodecTypeAudio:
		return strings.EqualFold(mime, webrtc.MimeTypeOpus)
	case webrtc.RTPCodecTypeVideo:
		return strings.EqualFold(mime, webrtc.MimeTypeVP8)
	}
	return false
}

// unsupportedLocked marks p as reported for an unsupported codec and
// returns the callback to run once mu is released (nil if already
// reported or nobody listens).
func (m *Mesh) unsupportedLocked(p *peer, err error) func() {
	if p.badCodec || m.cb.UnsupportedCodec == nil {
		return nil
	}
	p.badCodec = true
	return m.callbackLocked(func() { m.cb.UnsupportedCodec(p.id, err) })
}

// callbackLocked counts f in the wait group and returns it to be run after
// mu is released (callbacks may call back into the mesh). nil when the
// mesh is closed: nothing is reported after Close.
func (m *Mesh) callbackLocked(f func()) func() {
	if m.closed {
		return nil
	}
	m.wg.Add(1)
	return func() {
		defer m.wg.Done()
		f()
	}
}

// stateChange acts on the connection's current state. pion calls the
// handler in a goroutine of its own per change, so handlers can run out of
// order: the state they were called with (reported) may be stale (a
// "disconnected" arriving after the "connected" that followed it), and
// acting on it could hang up a live call. The current state is read
// instead.
func (m *Mesh) stateChange(p *peer, reported webrtc.PeerConnectionState) {
	cur := p.pc.ConnectionState()
	m.log.Debug("peer state", "peer", p.id, "reported", reported.String(), "current", cur.String())
	var calls []func()
	m.mu.Lock()
	if m.peers[p.id] != p || m.closed || p.ended {
		m.mu.Unlock()
		return
	}
	switch cur {
	case webrtc.PeerConnectionStateConnected:
		stopTimer(&p.downTime)
		stopTimer(&p.connTime)
		calls = append(calls, m.recoveredLocked(p))
		if !p.up {
			p.up = true
			if m.cb.PeerUp != nil {
				calls = append(calls, m.callbackLocked(func() { m.cb.PeerUp(p.id) }))
			}
		}
	case webrtc.PeerConnectionStateDisconnected:
		// Before the peer was ever up the connect timer is running.
		if p.up {
			calls = append(calls, m.lostLocked(p))
		}
	case webrtc.PeerConnectionStateFailed:
		// ICE failed on a path that worked: a restart may find another.
		// DTLS failing is the end, as is any failure before the peer was up.
		if ice := p.pc.ICEConnectionState(); p.up && (ice == webrtc.ICEConnectionStateFailed || ice == webrtc.ICEConnectionStateDisconnected || ice == webrtc.ICEConnectionStateChecking) {
			calls = append(calls, m.lostLocked(p))
			break
		}
		calls = append(calls, m.endLocked(p, connectFailure(p.pc)))
	case webrtc.PeerConnectionStateClosed:
		calls = append(calls, m.endLocked(p, connectFailure(p.pc)))
	}
	m.mu.Unlock()
	for _, f := range calls {
		if f != nil {
			f()
		}
	}
}

// lostLocked starts the down timer of p, up until now, and its recovery.
func (m *Mesh) lostLocked(p *peer) func() {
	if p.downTime == nil {
		p.lostAt = time.Now()
		p.downTime = time.AfterFunc(m.cfg.DownAfter, func() { m.markDown(p) })
	}
	return m.reconnectingLocked(p)
}

// endLocked reports p down (it was up) or failed (it never was), once.
func (m *Mesh) endLocked(p *peer, failure error) func() {
	if p.ended {
		return nil
	}
	p.ended = true
	stopTimer(&p.downTime)
	stopTimer(&p.connTime)
	stopTimer(&p.restartTime)
	switch {
	case p.up && m.cb.PeerDown != nil:
		return m.callbackLocked(func() { m.cb.PeerDown(p.id) })
	case !p.up && m.cb.PeerFailed != nil:
		m.log.Warn("peer failed", "peer", p.id, "err", failure)
		return m.callbackLocked(func() { m.cb.PeerFailed(p.id, failure) })
	}
	return nil
}

// connectFailure says which layer failed a connection that never came up.
func connectFailure(pc *webrtc.PeerConnection) error {
	ice := pc.ICEConnectionState()
	switch ice {
	case webrtc.ICEConnectionStateFailed:
		return fmt.Errorf("%w: ICE failed (no candidate pair answered)", ErrConnectFailed)
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		return fmt.Errorf("%w: DTLS failed (ICE %s)", ErrConnectFailed, ice)
	}
	return fmt.Errorf("%w: %s (ICE %s)", ErrConnectFailed, pc.ConnectionState(), ice)
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// markDown runs DownAfter after a peer that was up became disconnected.
// The connection may have recovered meanwhile with its "connected" handler
// still on its way, so the current state decides.
func (m *Mesh) markDown(p *peer) {
	cur := p.pc.ConnectionState()
	m.mu.Lock()
	if m.peers[p.id] != p || m.closed || p.ended {
		m.mu.Unlock()
		return
	}
	p.downTime = nil
	var call func()
	if cur != webrtc.PeerConnectionStateConnected {
		call = m.endLocked(p, nil)
	}
	m.mu.Unlock()
	if call != nil {
		call()
	}
}

// connectTimeout runs ConnectTimeout after the peer was created.
func (m *Mesh) connectTimeout(p *peer) {
	cur := p.pc.ConnectionState()
	m.mu.Lock()
	if m.peers[p.id] != p || m.closed || p.ended || p.up || cur == webrtc.PeerConnectionStateConnected {
		// Up, or about to be: its "connected" handler is on its way.
		m.mu.Unlock()
		return
	}
	p.connTime = nil
	call := m.endLocked(p, fmt.Errorf("%w: %v, state %s (signaling %s)",
		ErrConnectTimeout, m.cfg.ConnectTimeout, cur, p.pc.SignalingState()))
	m.mu.Unlock()
	if call != nil {
		call()
	}
}

// HandleSignal applies a relay payload from a peer. Bad payloads are
// reported as errors and change nothing.
func (m *Mesh) HandleSignal(from string, payload json.RawMessage) error {
	var sig Signal
	if err := json.Unmarshal(payload, &sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignal, err)
	}
	m.mu.Lock()
	var report func()
	err := m.handleLocked(from, sig, &report)
	m.mu.Unlock()
	if report != nil {
		report()
	}
	return err
}

// handleLocked applies sig; a report to make once mu is released goes
// into *report.
func (m *Mesh) handleLocked(from string, sig Signal, report *func()) error {
	if m.closed {
		return ErrClosed
	}
	p := m.peers[from]
	switch sig.Kind {
	case "offer":
		if sig.SDP == "" {
			return fmt.Errorf("%w: empty offer", ErrBadSignal)
		}
		created := p == nil
		if created {
			var err error
			if p, err = m.newPeerLocked(from, false); err != nil {
				return err
			}
		} else {
			// Perhaps an ICE restart: pion gathers again as it answers.
			m.refreshInterfaces()
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.SDP}); err != nil {
			if created {
				// A bad first offer must not leave a half-made peer behind.
				delete(m.peers, from)
				stopTimer(&p.connTime)
				// Closed outside the lock: pion calls back into the mesh.
				m.wg.Add(1)
				go func(pc *webrtc.PeerConnection) { defer m.wg.Done(); _ = pc.Close() }(p.pc)
			}
			return fmt.Errorf("%w: offer from %s: %w", ErrBadSignal, from, err)
		}
		p.remote = true
		m.flushCandidatesLocked(p)
		*report = m.dropUnsharedLocked(p, sig.SDP)
		answer, err := p.pc.CreateAnswer(nil)
		if err != nil {
			return fmt.Errorf("create answer for %s: %w", from, err)
		}

		if err := p.pc.SetLocalDescription(answer); err != nil {
			return fmt.Errorf("set local answer for %s: %w", from, err)
		}
		// pion insists on setting the answer exactly as it made it; the
		// peer gets it with the mids pion leaves out.
		return m.sendLocked(from, Signal{Kind: "answer", SDP: addRejectedMids(answer.SDP, sig.SDP)})
	case "answer":
		if p == nil {
			return fmt.Errorf("%w: answer from %s", ErrUnknownPeer, from)
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
			return fmt.Errorf("%w: answer from %s: %w", ErrBadSignal, from, err)
		}
		p.remote = true
		*report = m.dropUnsharedLocked(p, sig.SDP)
		m.flushCandidatesLocked(p)
		return nil
	case "candidate":
		if sig.Candidate == nil {
			return fmt.Errorf("%w: empty candidate", ErrBadSignal)
		}
		if p == nil {
			// The offer is on its way; keep the candidate for it.
			var err error
			if p, err = m.newPeerLocked(from, false); err != nil {
				return err
			}
		}
		if !p.remote {
			if len(p.pending) >= maxPendingCandidates {
				m.log.Debug("candidate dropped: too many before the description", "peer", from)
				return nil
			}
			p.pending = append(p.pending, *sig.Candidate)
			return nil
		}
		if err := p.pc.AddICECandidate(*sig.Candidate); err != nil {
			return fmt.Errorf("%w: candidate from %s: %w", ErrBadSignal, from, err)
		}
		return nil
	case "restart":
		// The peer lost media with us and asks the offerer to restart.
		if p == nil {
			return fmt.Errorf("%w: restart from %s", ErrUnknownPeer, from)
		}
		if p.offerer && p.up && !p.ended {
			m.restartStepLocked(p, true)
		}
		return nil
	case "viewsize":
		var err error
		*report, err = m.viewSizeLocked(from, sig)
		return err
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadSignal, sig.Kind)
	}
}

// dropUnsharedLocked stops sending a local track that has no codec in
// common with the remote description (e.g. video offered in VP9 or H.264
// only): pion could not answer at all with it, and would drop the whole
// call instead of that medium. It returns the report of it, once per peer.
func (m *Mesh) dropUnsharedLocked(p *peer, remoteSDP string) func() {
	var missing []string
	for _, tr := range p.pc.GetTransceivers() {
		s := tr.Sender()
		if s == nil || s.Track() == nil || len(s.GetParameters().Codecs) > 0 {
			continue
		}
		kind := tr.Kind()
		offered := sdpCodecs(remoteSDP, tr.Mid())
		if err := p.pc.RemoveTrack(s); err != nil {
			m.log.Warn("stop unshared track", "peer", p.id, "kind", kind, "err", err)
		}
		want := webrtc.MimeTypeVP8
		if kind == webrtc.RTPCodecTypeAudio {
			want = webrtc.MimeTypeOpus
		}
		missing = append(missing, fmt.Sprintf("%s in %s, not %s", kind, strings.Join(offered, ", "), strings.TrimPrefix(want, kind.String()+"/")))
	}
	if len(missing) == 0 {
		return nil
	}
	err := fmt.Errorf("%w: %s has %s; termcall sends and decodes Opus and VP8", ErrUnsupportedCodec, p.id, strings.Join(missing, "; "))
	m.log.Warn("no codec in common", "peer", p.id, "err", err)
	return m.unsupportedLocked(p, err)
}

// addRejectedMids gives each rejected media section (port 0) of a pion
// answer the a=mid of the offer's section at the same index. pion leaves
// it out, and then refuses such an answer itself ("media section without
// mid value"), as JSEP-minded peers may.
func addRejectedMids(answer, offer string) string {
	var mids []string
	for _, sec := range strings.Split(offer, "\nm=")[1:] {
		mid := ""
		for _, l := range strings.Split(sec, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=mid:"); ok {
				mid = v
			}
		}
		mids = append(mids, mid)
	}
	parts := strings.Split(answer, "\nm=")
	for i := 1; i < len(parts); i++ {
		sec := parts[i]
		if i-1 >= len(mids) || mids[i-1] == "" || strings.Contains(sec, "a=mid:") {
			continue
		}
		if f := strings.Fields(sec); len(f) < 2 || f[1] != "0" {
			continue
		}
		// pion ends every line with CRLF; the section ends with its c= line.
		parts[i] = strings.TrimRight(sec, "\r\n") + "\r\na=mid:" + mids[i-1] + "\r\n"
		if i < len(parts)-1 {
			parts[i] = strings.TrimSuffix(parts[i], "\n")
		}
	}
	return strings.Join(parts, "\nm=")
}

// sdpCodecs lists the codec names of the media section with mid in an SDP
// (none when the section rejects the medium or names no codec).
func sdpCodecs(sdp, mid string) []string {
	var out []string
	for _, section := range strings.Split(sdp, "\nm=")[1:] {
		lines := strings.Split(section, "\n")
		found := false
		var names []string
		for _, l := range lines {
			l = strings.TrimSpace(l)
			if v, ok := strings.CutPrefix(l, "a=mid:"); ok && v == mid {
				found = true
			}
			if v, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
				if _, enc, ok := strings.Cut(v, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					if !slices.Contains(names, name) && !strings.EqualFold(name, "rtx") {
						names = append(names, name)
					}
				}
			}
		}
		if found {
			out = names
		}
	}
	if len(out) == 0 {
		out = []string{"no codec"}
	}
	return out
}

func (m *Mesh) flushCandidatesLocked(p *peer) {
	for _, c := range p.pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			m.log.Debug("add buffered candidate", "peer", p.id, "err", err)
		}
	}
	p.pending = nil
}

func (m *Mesh) sendLocked(to string, sig Signal) error {
	b, err := json.Marshal(sig)
	if err != nil {
		return fmt.Errorf("encode signal: %w", err)
	}
	// Send goes to the signaling client's queue; it must not call back
	// into the mesh.
	if err := m.cb.Send(to, b); err != nil {
		return fmt.Errorf("relay %s to %s: %w", sig.Kind, to, err)
	}
	return nil
}

// RemovePeer closes the connection with userID without reporting it down.
func (m *Mesh) RemovePeer(userID string) {
	m.mu.Lock()
	p := m.peers[userID]
	delete(m.peers, userID)
	if p != nil {
		stopTimer(&p.downTime)
		stopTimer(&p.connTime)
		stopTimer(&p.restartTime)
	}
	m.mu.Unlock()
	if p != nil {
		if err := p.pc.Close(); err != nil {
			m.log.Debug("close peer", "peer", userID, "err", err)
		}
	}
}

// Peers lists the connected peers' IDs.
func (m *Mesh) Peers() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.peers))
	for id := range m.peers {
		out = append(out, id)
	}
	return out
}

// PeerConnection returns the connection with userID, for stats.
func (m *Mesh) PeerConnection(userID string) (*webrtc.PeerConnection, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[userID]
	if !ok {
		return nil, false
	}
	return p.pc, true
}

// Close closes every peer connection and waits for the mesh's goroutines.
func (m *Mesh) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	peers := m.peers
	m.peers = map[string]*peer{}
	for _, p := range peers {
		stopTimer(&p.downTime)
		stopTimer(&p.connTime)
		stopTimer(&p.restartTime)
	}
	m.mu.Unlock()
	var errs []error
	for id, p := range peers {
		if err := p.pc.GracefulClose(); err != nil && !errors.Is(err, io.EOF) {
			errs = append(errs, fmt.Errorf("close %s: %w", id, err))
		}
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/callcore/rtc/impair"
)

// Config tunes a Mesh.
type Config struct {
	// ICEServers are STUN/TURN servers; none are needed on one host or LAN.
	ICEServers []webrtc.ICEServer
	// LoopbackOnly gathers only 127.0.0.1 candidates. Tests use it so that
	// media never leaves the loopback interface.
	LoopbackOnly bool
	// DownAfter is how long a peer may stay disconnected before it is
	// reported down. Default 3 s.
	DownAfter time.Duration
	// StreamID names the local media stream (the user ID is a good choice).
	StreamID string
	// Impair degrades every inbound UDP datagram of the mesh (STUN, DTLS,
	// SRTP alike) with loss and jitter. A testing aid; zero is none.
	Impair impair.Config
	Logger *slog.Logger
}

// Callbacks connect a Mesh to the call engine. They are called from pion's
// goroutines and must not block for long.
type Callbacks struct {
	// Send relays a signaling payload to a peer.
	Send func(to string, payload json.RawMessage) error
	// PeerUp reports that media with a peer is connected (once per peer).
	PeerUp func(userID string)
	// PeerDown reports that a peer's media connection was lost for longer
	// than DownAfter, failed, or was closed by the peer.
	PeerDown func(userID string)
	// Track hands over a remote track. The callee owns reading it until
	// ReadRTP returns an error.
	Track func(userID string, track *webrtc.TrackRemote)
	// KeyframeRequest reports a PLI or FIR from a peer for the video track.
	KeyframeRequest func(userID string)
}

// Signal is the relay payload exchanged between peers.
type Signal struct {
	Kind      string                   `json:"kind"` // "offer", "answer", "candidate"
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
}

// Errors.
var (
	ErrClosed       = errors.New("rtc: mesh closed")
	ErrBadSignal    = errors.New("rtc: bad signal")
	ErrUnknownPeer  = errors.New("rtc: unknown peer")
	ErrNoSendTarget = errors.New("rtc: callbacks.Send is nil")
)

// Mesh holds the peer connections of one call.
type Mesh struct {
	cfg   Config
	cb    Callbacks
	api   *webrtc.API
	log   *slog.Logger
	audio *webrtc.TrackLocalStaticRTP
	video *webrtc.TrackLocalStaticRTP
	inet  *impair.Net // nil without impairment
	nacks *nackCounter

	mu     sync.Mutex
	peers  map[string]*peer
	closed bool
	wg     sync.WaitGroup
}

type peer struct {
	id       string
	pc       *webrtc.PeerConnection
	offerer  bool
	pending  []webrtc.ICECandidateInit // candidates that arrived before the remote description
	remote   bool                      // remote description set
	up       bool
	down     bool
	downTime *time.Timer
	rtt      atomic.Int64 // ns, from the peer's RTCP receiver reports; 0 = none yet
}

// New builds a Mesh with Opus and VP8, NACK, RTCP reports and PLI support.
func New(cfg Config, cb Callbacks) (*Mesh, error) {
	if cb.Send == nil {
		return nil, ErrNoSendTarget
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = 3 * time.Second
	}
	if cfg.StreamID == "" {
		cfg.StreamID = "termcall"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	reg := &interceptor.Registry{}
	// First in the chain, so that it sees what the NACK generator writes.
	nacks := newNACKCounter()
	reg.Add(nacks)
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	// mDNS would multicast on the LAN; host candidates are enough here.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(2*time.Second, 5*time.Second, 500*time.Millisecond)
	if cfg.LoopbackOnly {
		// pion drops loopback candidates unless told otherwise.
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	var inet *impair.Net
	if cfg.Impair.Enabled() {
		std, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
		if inet, err = impair.NewNet(std, cfg.Impair); err != nil {
			return nil, fmt.Errorf("impairment: %w", err)
		}
		se.SetNet(inet)
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
	return &Mesh{cfg: cfg, cb: cb, api: api, log: log, audio: audio, video: video, inet: inet, nacks: nacks, peers: map[string]*peer{}}, nil
}

// NACKsSent returns how many NACK packets the mesh sent about the remote
// stream ssrc.
func (m *Mesh) NACKsSent(ssrc uint32) uint64 { return m.nacks.count(ssrc) }

// ImpairStats returns what the impairment did to inbound datagrams so far;
// false when the mesh is not impaired.
func (m *Mesh) ImpairStats() (impair.Stats, bool) {
	if m.inet == nil {
		return impair.Stats{}, false
	}
	return m.inet.Stats(), true
}

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
	pc, err := m.api.NewPeerConnection(webrtc.Configuration{ICEServers: m.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("new peer connection for %s: %w", userID, err)
	}
	p := &peer{id: userID, pc: pc, offerer: offerer}
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
	pc.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		// Incoming RTCP (the peer's sender reports) only passes the
		// interceptors when read; without it receiver reports carry no
		// LSR and nobody learns the round trip.
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for {
				if _, _, err := recv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		if m.cb.Track != nil {
			m.cb.Track(userID, t)
			return
		}
		// Nobody wants it: drain so interceptors keep running.
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
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { m.stateChange(p, s) })
	m.peers[userID] = p
	return p, nil
}

// readRTCP keeps the sender's interceptors running, turns PLI/FIR into
// keyframe requests and takes the round-trip time from receiver reports.
func (m *Mesh) readRTCP(p *peer, s *webrtc.RTPSender, video bool) {
	defer m.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, pkt := range pkts {
			switch x := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if video && m.cb.KeyframeRequest != nil {
					m.cb.KeyframeRequest(p.id)
				}
			case *rtcp.ReceiverReport:
				p.noteRTT(now, x.Reports)
			case *rtcp.SenderReport:
				p.noteRTT(now, x.Reports)
			}
		}
	}
}

// noteRTT computes the round trip from reception reports (RFC 3550
// §6.4.1: arrival - LSR - DLSR, in 1/65536 s of the NTP clock). Computing
// it here, rather than asking pion's GetStats, also keeps clear of a data
// race between GetStats and a PeerConnection that pion closes by itself.
func (p *peer) noteRTT(now time.Time, reports []rtcp.ReceptionReport) {
	arrival := ntpMiddle(now)
	for _, r := range reports {
		if r.LastSenderReport == 0 {
			continue
		}
		d := arrival - r.LastSenderReport - r.Delay
		if d >= 1<<31 {
			continue // clocks disagree: a negative round trip
		}
		p.rtt.Store(int64(d) * int64(time.Second) / 65536)
	}
}

// ntpMiddle returns the middle 32 bits of the NTP timestamp of t.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32((secs<<32 | frac) >> 16)
}

// RTT returns the latest round-trip time to userID from RTCP, and false
// before the first receiver report.
func (m *Mesh) RTT(userID string) (time.Duration, bool) {
	m.mu.Lock()
	p := m.peers[userID]
	m.mu.Unlock()
	if p == nil {
		return 0, false
	}
	ns := p.rtt.Load()
	return time.Duration(ns), ns > 0
}

func (m *Mesh) stateChange(p *peer, s webrtc.PeerConnectionState) {
	m.log.Debug("peer state", "peer", p.id, "state", s.String())
	var up, down bool
	m.mu.Lock()
	if m.peers[p.id] != p || m.closed {
		m.mu.Unlock()
		return
	}
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if p.downTime != nil {
			p.downTime.Stop()
			p.downTime = nil
		}
		if !p.up {
			p.up, up = true, true
		}
	case webrtc.PeerConnectionStateDisconnected:
		if p.downTime == nil && !p.down {
			p.downTime = time.AfterFunc(m.cfg.DownAfter, func() { m.markDown(p) })
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		if !p.down {
			p.down, down = true, true
		}
	}
	m.mu.Unlock()
	if up && m.cb.PeerUp != nil {
		m.cb.PeerUp(p.id)
	}
	if down && m.cb.PeerDown != nil {
		m.cb.PeerDown(p.id)
	}
}

func (m *Mesh) markDown(p *peer) {
	m.mu.Lock()
	fire := m.peers[p.id] == p && !m.closed && !p.down
	if fire {
		p.down = true
	}
	m.mu.Unlock()
	if fire && m.cb.PeerDown != nil {
		m.cb.PeerDown(p.id)
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
	defer m.mu.Unlock()
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
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.SDP}); err != nil {
			if created {
				// A bad first offer must not leave a half-made peer behind.
				delete(m.peers, from)
				// Closed outside the lock: pion calls back into the mesh.
				m.wg.Add(1)
				go func(pc *webrtc.PeerConnection) { defer m.wg.Done(); _ = pc.Close() }(p.pc)
			}
			return fmt.Errorf("%w: offer from %s: %w", ErrBadSignal, from, err)
		}
		p.remote = true
		m.flushCandidatesLocked(p)
		answer, err := p.pc.CreateAnswer(nil)
		if err != nil {
			return fmt.Errorf("create answer for %s: %w", from, err)
		}
		if err := p.pc.SetLocalDescription(answer); err != nil {
			return fmt.Errorf("set local answer for %s: %w", from, err)
		}
		return m.sendLocked(from, Signal{Kind: "answer", SDP: answer.SDP})
	case "answer":
		if p == nil {
			return fmt.Errorf("%w: answer from %s", ErrUnknownPeer, from)
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
			return fmt.Errorf("%w: answer from %s: %w", ErrBadSignal, from, err)
		}
		p.remote = true
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
			if len(p.pending) < 64 {
				p.pending = append(p.pending, *sig.Candidate)
			}
			return nil
		}
		if err := p.pc.AddICECandidate(*sig.Candidate); err != nil {
			return fmt.Errorf("%w: candidate from %s: %w", ErrBadSignal, from, err)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadSignal, sig.Kind)
	}
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
	if p != nil && p.downTime != nil {
		p.downTime.Stop()
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

// RequestKeyframe asks userID's sender for a keyframe (PLI) on the given
// remote video SSRC.
func (m *Mesh) RequestKeyframe(userID string, ssrc uint32) error {
	pc, ok := m.PeerConnection(userID)
	if !ok {
		return ErrUnknownPeer
	}
	return pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
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
	m.mu.Unlock()
	var errs []error
	for id, p := range peers {
		if p.downTime != nil {
			p.downTime.Stop()
		}
		if err := p.pc.GracefulClose(); err != nil && !errors.Is(err, io.EOF) {
			errs = append(errs, fmt.Errorf("close %s: %w", id, err))
		}
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

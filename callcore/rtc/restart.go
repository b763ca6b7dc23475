package rtc

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// ICE restarts. When media with a peer that was up stops (its interface
// went down, its address or NAT mapping changed, it moved to another
// network), the connection is disconnected but the DTLS association and
// the tracks live on: an ICE restart (new credentials, candidates gathered
// again on the interfaces there are now) finds a new path and media goes
// on without a new call. Only the peer that made the first offer restarts,
// so that two restart offers never cross; the other asks it to with a
// "restart" signal. Both keep trying until the peer is connected again or
// DownAfter has passed, when it is reported down.
const (
	// restartTick is how often a disconnected peer retries: the offerer
	// checks its restart, the answerer asks again. Signals sent while the
	// signaling link was down are lost, so retrying is what recovers them.
	restartTick = time.Second
	// answerWait is how long a restart offer may go unanswered before it
	// is sent again (the offer or its answer was lost).
	answerWait = time.Second
	// settleWait is how long an answered restart may take to connect
	// before the next one: checks through a relay need pion's relay
	// acceptance wait (relayWait) and a TURN allocation first, and
	// restarting sooner would throw that progress away.
	settleWait = 3 * time.Second
	// crossWait: a restart request this soon after our offer may have
	// crossed it, and is not a reason to offer again.
	crossWait = 300 * time.Millisecond
)

// reconnectingLocked starts recovering p, a peer that was up and lost its
// media: the first restart step now, then one every restartTick. It
// returns the Reconnecting report to make once mu is released.
func (m *Mesh) reconnectingLocked(p *peer) func() {
	if p.restartTime != nil {
		return nil // already recovering
	}
	m.log.Info("media interrupted: restarting ICE", "peer", p.id, "offerer", p.offerer)
	m.stepLocked(p)
	if m.cb.Reconnecting == nil {
		return nil
	}
	return m.callbackLocked(func() { m.cb.Reconnecting(p.id) })
}

// retrySoon is the next step's delay after a signal could not be sent:
// the link is redialling, which takes milliseconds to a few hundred.
const retrySoon = 100 * time.Millisecond

// restartTick repeats the restart step while p is not connected.
func (m *Mesh) restartTick(p *peer) {
	cur := p.pc.ConnectionState()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.peers[p.id] != p || m.closed || p.ended || p.restartTime == nil {
		return
	}
	if cur == webrtc.PeerConnectionStateConnected {
		return // its handler is on its way and stops the ticks
	}
	m.stepLocked(p)
}

// stepLocked makes a restart step and arms the next: soon when a signal
// could not be sent, else after restartTick. While it is armed, p is
// recovering.
func (m *Mesh) stepLocked(p *peer) {
	next := restartTick
	if !m.restartStepLocked(p, false) {
		next = retrySoon
	}
	p.restartTime = time.AfterFunc(next, func() { m.restartTick(p) })
}

// restartStepLocked makes one attempt: the offerer (re)offers with an ICE
// restart when the last one is lost or stuck; the answerer asks for one.
// requested says the peer has just asked. It reports false when a signal
// could not be sent (the link is down), to be tried again soon.
func (m *Mesh) restartStepLocked(p *peer, requested bool) bool {
	if !p.offerer {
		if err := m.sendLocked(p.id, Signal{Kind: "restart"}); err != nil {
			m.log.Debug("ask for ICE restart", "peer", p.id, "err", err)
			return false
		}
		return true
	}
	since := time.Since(p.offeredAt)
	switch p.pc.SignalingState() {
	case webrtc.SignalingStateHaveLocalOffer:
		// Unanswered: lost on the way (the peer's link was down), or the
		// peer asks again because it never saw it.
		if since < answerWait && !(requested && since >= crossWait) {
			return true
		}
		return m.resendOfferLocked(p)
	case webrtc.SignalingStateStable:
		// Answered (or not begun): give checks time to finish.
		if p.offeredAt.After(p.lostAt) && since < settleWait {
			return true
		}
	default:
		return true // mid-negotiation: its own answer ends it
	}
	if err := m.restartICELocked(p); err != nil {
		m.log.Info("ICE restart not sent", "peer", p.id, "err", err)
		return false
	}
	return true
}

// resendOfferLocked sends the unanswered offer again, with the candidates
// gathered since (pion puts them in the description): the first copy, or
// the candidates trickled after it, may have gone into a dead link.
func (m *Mesh) resendOfferLocked(p *peer) bool {
	d := p.pc.PendingLocalDescription()
	if d == nil {
		return true
	}
	p.offeredAt = time.Now()
	if err := m.sendLocked(p.id, Signal{Kind: "offer", SDP: d.SDP}); err != nil {
		m.log.Debug("resend restart offer", "peer", p.id, "err", err)
		return false
	}
	m.log.Debug("ICE restart offer sent again", "peer", p.id, "restart", p.restarts)
	return true
}

// restartICELocked sends p an offer with new ICE credentials, gathered on
// the interfaces the host has now. One the signaling link refused stays
// pending, to be sent again by the next step.
func (m *Mesh) restartICELocked(p *peer) error {
	m.refreshInterfaces()
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create restart offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set restart offer: %w", err)
	}
	p.offeredAt = time.Now()
	p.restarts++
	if err := m.sendLocked(p.id, Signal{Kind: "offer", SDP: offer.SDP}); err != nil {
		return err
	}
	m.log.Debug("ICE restart offered", "peer", p.id, "restart", p.restarts)
	return nil
}

// recoveredLocked ends the restart ticks of p, connected again. The
// receivers may have lost frames meanwhile: a keyframe starts them anew.
func (m *Mesh) recoveredLocked(p *peer) func() {
	if p.restartTime == nil {
		return nil
	}
	stopTimer(&p.restartTime)
	m.log.Info("media restored after ICE restart", "peer", p.id, "after", time.Since(p.lostAt).Round(time.Millisecond), "restarts", p.restarts)
	if m.cb.KeyframeRequest == nil {
		return nil
	}
	return m.callbackLocked(func() { m.cb.KeyframeRequest(p.id) })
}

// refreshInterfaces re-reads the host's interfaces, when the mesh runs on
// the real network (pion reads them once per Net).
func (m *Mesh) refreshInterfaces() {
	if m.live == nil {
		return
	}
	if err := m.live.Refresh(); err != nil {
		m.log.Warn("re-read network interfaces", "err", err)
	}
}

// liveNet is the real network with an interface list that can be read
// again. stdnet reads the list once, so a restart after an address change
// would gather on addresses the host no longer has; and stdnet's list is
// not safe to replace while other connections of the mesh read it.
type liveNet struct {
	*stdnet.Net // sockets: stdnet's, untouched

	mu  sync.Mutex
	cur *stdnet.Net // the interface list in use
}

var _ transport.Net = (*liveNet)(nil)

func newLiveNet() (*liveNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network interfaces: %w", err)
	}
	return &liveNet{Net: n, cur: n}, nil
}

// Refresh reads the interfaces again; connections gathering later see them.
func (n *liveNet) Refresh() error {
	fresh, err := stdnet.NewNet()
	if err != nil {
		return fmt.Errorf("network interfaces: %w", err)
	}
	n.mu.Lock()
	n.cur = fresh
	n.mu.Unlock()
	return nil
}

func (n *liveNet) list() *stdnet.Net {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur
}

// Interfaces lists the interfaces as last read.
func (n *liveNet) Interfaces() ([]*transport.Interface, error) { return n.list().Interfaces() }

// InterfaceByIndex looks an interface up in the list as last read.
func (n *liveNet) InterfaceByIndex(i int) (*transport.Interface, error) {
	return n.list().InterfaceByIndex(i)
}

// InterfaceByName looks an interface up in the list as last read.
func (n *liveNet) InterfaceByName(name string) (*transport.Interface, error) {
	return n.list().InterfaceByName(name)
}

package rtc

import (
	"github.com/pion/webrtc/v4"
)

// Path is the network path of a peer's media: the candidate types of the
// selected ICE pair ("host", "srflx", "prflx", "relay") and its transport
// ("udp", "tcp").
type Path struct {
	Local    string
	Remote   string
	Protocol string
}

// Relayed reports whether media goes through a TURN relay on either side.
func (p Path) Relayed() bool { return p.Local == "relay" || p.Remote == "relay" }

// watchPath keeps the peer's selected candidate pair. It is taken from
// pion's callback when ICE selects (or switches) a pair, so that reading
// it never calls into a connection pion may be closing (GetStats races
// with that).
func watchPath(p *peer) {
	sctp := p.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return
	}
	sctp.Transport().ICETransport().OnSelectedCandidatePairChange(func(pair *webrtc.ICECandidatePair) {
		if pair == nil || pair.Local == nil || pair.Remote == nil {
			return
		}
		p.path.Store(&Path{
			Local:    pair.Local.Typ.String(),
			Remote:   pair.Remote.Typ.String(),
			Protocol: pair.Local.Protocol.String(),
		})
	})
}

// Path returns the selected candidate pair with userID, and false before
// ICE has selected one (or for an unknown peer).
func (m *Mesh) Path(userID string) (Path, bool) {
	m.mu.Lock()
	p := m.peers[userID]
	m.mu.Unlock()
	if p == nil {
		return Path{}, false
	}
	path := p.path.Load()
	if path == nil {
		return Path{}, false
	}
	return *path, true
}

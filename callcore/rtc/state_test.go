package rtc

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func peerOf(t *testing.T, m *Mesh, id string) *peer {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peers[id]
	if p == nil {
		t.Fatalf("no peer %s", id)
	}
	return p
}

func connectPair(t *testing.T, sides map[string]*side, a, b string) {
	t.Helper()
	// b joined later: b offers.
	must(t, sides[a].mesh.AddPeer(b, false))
	must(t, sides[b].mesh.AddPeer(a, true))
	waitFor(t, "both peers up", 10*time.Second, func() bool { return sides[a].isUp(b) && sides[b].isUp(a) })
}

// pion calls OnConnectionStateChange in a goroutine per change, so a
// "disconnected" can arrive after the "connected" that followed it. Such
// a stale state must not take down a live peer (it hung up 1:1 calls).
func TestStaleStateKeepsPeerUp(t *testing.T) {
	sides, _ := newMeshes(t, meshOpts{config: func(_ string, c *Config) { c.DownAfter = 200 * time.Millisecond }}, "alice", "bob")
	a := sides["alice"]
	connectPair(t, sides, "alice", "bob")
	p := peerOf(t, a.mesh, "bob")
	if st := p.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Fatalf("state %s, want connected", st)
	}
	// Stale handlers, as pion's goroutines may deliver them late.
	for _, s := range []webrtc.PeerConnectionState{
		webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed,
	} {
		a.mesh.stateChange(p, s)
	}
	a.mesh.mu.Lock()
	armed := p.downTime != nil
	a.mesh.mu.Unlock()
	if armed {
		t.Error("a stale disconnected armed the down timer")
	}
	// A down timer from a real disconnect that fires after the
	// connection recovered (its "connected" handler still on the way)
	// reports nothing either.
	a.mesh.markDown(p)
	a.mesh.connectTimeout(p)
	if a.isDown("bob") || a.failure("bob") != nil {
		t.Fatalf("bob reported down %v / failed %v on stale states", a.isDown("bob"), a.failure("bob"))
	}
	// And media still flows.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pump(sides["bob"].mesh, stop, &wg)
	waitFor(t, "audio after the stale states", 5*time.Second, func() bool { return a.count("bob/audio") > 10 })
	close(stop)
	wg.Wait()
}

// A peer whose signals never reach the other side (a lost relay) is
// reported failed after ConnectTimeout, not down, on both sides.
func TestPeerFailedWhenSignalsLost(t *testing.T) {
	sides, _ := newMeshes(t, meshOpts{
		config: func(_ string, c *Config) { c.ConnectTimeout = 300 * time.Millisecond },
		filter: func(string, string, json.RawMessage) (json.RawMessage, bool) { return nil, false },
	}, "alice", "bob")
	must(t, sides["alice"].mesh.AddPeer("bob", false)) // waits for an offer that never comes
	must(t, sides["bob"].mesh.AddPeer("alice", true))  // its offer is lost
	for _, c := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		s, other := sides[c[0]], c[1]
		waitFor(t, c[0]+" reports "+other+" failed", 5*time.Second, func() bool { return s.failure(other) != nil })
		if err := s.failure(other); !errors.Is(err, ErrConnectTimeout) {
			t.Errorf("%s: failure %v, want ErrConnectTimeout", c[0], err)
		}
		if s.isUp(other) || s.isDown(other) {
			t.Errorf("%s: %s up %v down %v, want neither", c[0], other, s.isUp(other), s.isDown(other))
		}
	}
	t.Logf("bob: %v", sides["bob"].failure("alice"))
}

// DTLS that fails before the peer was ever up (here: the answer carries a
// wrong certificate fingerprint) is a failure, reported at once rather
// than after the timeout, and only once.
func TestPeerFailedOnDTLSFailure(t *testing.T) {
	fp := regexp.MustCompile(`a=fingerprint:sha-256 [0-9A-F:]+`)
	forged := "a=fingerprint:sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	sides, _ := newMeshes(t, meshOpts{
		config: func(_ string, c *Config) { c.ConnectTimeout = time.Minute },
		filter: func(from, to string, payload json.RawMessage) (json.RawMessage, bool) {
			var sig Signal
			if err := json.Unmarshal(payload, &sig); err != nil || sig.Kind != "answer" {
				return payload, true
			}
			sig.SDP = fp.ReplaceAllString(sig.SDP, forged)
			b, _ := json.Marshal(sig)
			return b, true
		},
	}, "alice", "bob")
	a, b := sides["alice"], sides["bob"]
	must(t, a.mesh.AddPeer("bob", false))
	must(t, b.mesh.AddPeer("alice", true)) // bob checks alice's forged fingerprint
	waitFor(t, "bob reports alice failed", 15*time.Second, func() bool { return b.failure("alice") != nil })
	if err := b.failure("alice"); !errors.Is(err, ErrConnectFailed) {
		t.Errorf("failure %v, want ErrConnectFailed", err)
	}
	if b.isUp("alice") {
		t.Error("bob reported alice up")
	}
	t.Logf("bob: %v; alice: up %v down %v failed %v", b.failure("alice"), a.isUp("bob"), a.isDown("bob"), a.failure("bob"))
}

// Close while tracks are arriving: OnTrack's goroutines are counted under
// the lock that guards closed, so no WaitGroup.Add races Close's Wait.
func TestCloseWhileTracksArrive(t *testing.T) {
	for i := range 4 {
		sides, _ := newPair(t, "alice", "bob")
		a, b := sides["alice"], sides["bob"]
		stop := make(chan struct{})
		var wg sync.WaitGroup
		pump(a.mesh, stop, &wg)
		pump(b.mesh, stop, &wg)
		must(t, a.mesh.AddPeer("bob", false))
		must(t, b.mesh.AddPeer("alice", true))
		// Close the moment the first packets come in (tracks are handed
		// over with the first packet), on a different beat each round.
		waitFor(t, "up", 10*time.Second, func() bool { return b.isUp("alice") })
		time.Sleep(time.Duration(i) * 5 * time.Millisecond) // vary the overlap, nothing to wait for
		p := peerOf(t, b.mesh, "alice")
		must(t, b.mesh.Close())
		must(t, a.mesh.Close())
		close(stop)
		wg.Wait()
		// A track pion hands over after Close starts nothing (it would
		// be an Add after Wait); it is not even looked at.
		b.mesh.onTrack(p, nil, nil)
	}
}

package rtc

import (
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/netsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// relay stands in for the signaling server: it delivers payloads in order
// on its own goroutine, as the server's push path does.
type relay struct {
	ch   chan func()
	done chan struct{}
}

func newRelay() *relay {
	r := &relay{ch: make(chan func(), 256), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for f := range r.ch {
			f()
		}
	}()
	return r
}

func (r *relay) stop() { close(r.ch); <-r.done }

type side struct {
	id      string
	mesh    *Mesh
	mu      sync.Mutex
	up      map[string]bool
	down    map[string]bool
	failed  map[string]error
	badCode map[string][]error
	packets map[string]int // by remote user + kind
	seqs    map[string]map[uint16]bool
	kf      int
	sigErrs []error
}

func (s *side) count(key string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.packets[key] }
func (s *side) isUp(id string) bool  { s.mu.Lock(); defer s.mu.Unlock(); return s.up[id] }

// gaps is how many sequence numbers of key's stream never arrived, of how
// many between the first and the last that did (pump's do not wrap).
func (s *side) gaps(key string) (missing, span int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.seqs[key]
	if len(seen) == 0 {
		return 0, 0
	}
	lo, hi := uint16(0xffff), uint16(0)
	for q := range seen {
		lo, hi = min(lo, q), max(hi, q)
	}
	span = int(hi-lo) + 1
	return span - len(seen), span
}
func (s *side) isDown(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[id]
}
func (s *side) failure(id string) error { s.mu.Lock(); defer s.mu.Unlock(); return s.failed[id] }

func newPair(t *testing.T, ids ...string) (map[string]*side, *relay) {
	t.Helper()
	return newPairWith(t, nil, ids...)
}

// newPairWith is newPair with a per-side network (nets may be nil; a side
// without one uses the real network).
func newPairWith(t *testing.T, nets map[string]transport.Net, ids ...string) (map[string]*side, *relay) {
	t.Helper()
	return newMeshes(t, meshOpts{nets: nets}, ids...)
}

// meshOpts vary the meshes newMeshes builds.
type meshOpts struct {
	nets map[string]transport.Net
	// config adjusts each side's Config.
	config func(id string, c *Config)
	// filter sees every relayed payload and returns what to deliver
	// (false: drop it), as a lossy or meddling server would.
	filter func(from, to string, payload json.RawMessage) (json.RawMessage, bool)
}

func newMeshes(t *testing.T, o meshOpts, ids ...string) (map[string]*side, *relay) {
	t.Helper()
	r := newRelay()
	sides := map[string]*side{}
	var wg sync.WaitGroup
	for _, id := range ids {
		s := &side{id: id, up: map[string]bool{}, down: map[string]bool{}, failed: map[string]error{},
			badCode: map[string][]error{}, packets: map[string]int{}, seqs: map[string]map[uint16]bool{}}
		sides[id] = s
	}
	for _, id := range ids {
		s := sides[id]
		cfg := Config{LoopbackOnly: true, StreamID: id, DownAfter: time.Second, Net: o.nets[id]}
		if o.config != nil {
			o.config(id, &cfg)
		}
		m, err := New(cfg, Callbacks{
			Send: func(to string, payload json.RawMessage) error {
				dst, ok := sides[to]
				if !ok {
					return errors.New("no such peer")
				}
				if o.filter != nil {
					if payload, ok = o.filter(s.id, to, payload); !ok {
						return nil
					}
				}
				r.ch <- func() {
					if err := dst.mesh.HandleSignal(s.id, payload); err != nil && !errors.Is(err, ErrClosed) {
						dst.mu.Lock()
						dst.sigErrs = append(dst.sigErrs, err)
						dst.mu.Unlock()
					}
				}
				return nil
			},
			PeerUp:   func(u string) { s.mu.Lock(); s.up[u] = true; s.mu.Unlock() },
			PeerDown: func(u string) { s.mu.Lock(); s.down[u] = true; s.mu.Unlock() },
			PeerFailed: func(u string, err error) {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.failed[u] != nil {
					t.Errorf("%s: %s reported failed twice (%v, then %v)", s.id, u, s.failed[u], err)
				}
				s.failed[u] = err
			},
			UnsupportedCodec: func(u string, err error) {
				s.mu.Lock()
				s.badCode[u] = append(s.badCode[u], err)
				s.mu.Unlock()
			},
			Track: func(u string, tr *webrtc.TrackRemote) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := u + "/" + tr.Kind().String()
					for {
						p, _, err := tr.ReadRTP()
						if err != nil {
							return
						}
						s.mu.Lock()
						s.packets[key]++
						if s.seqs[key] == nil {
							s.seqs[key] = map[uint16]bool{}
						}
						s.seqs[key][p.SequenceNumber] = true
						s.mu.Unlock()
					}
				}()
			},
			KeyframeRequest: func(string) { s.mu.Lock(); s.kf++; s.mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		s.mesh = m
	}
	t.Cleanup(func() {
		for _, s := range sides {
			_ = s.mesh.Close()
		}
		r.stop()
		wg.Wait()
		// Up, then down or failed: never both of the last two.
		for _, s := range sides {
			s.mu.Lock()
			for u := range s.failed {
				if s.down[u] || s.up[u] {
					t.Errorf("%s: %s failed but was also reported up %v / down %v", s.id, u, s.up[u], s.down[u])
				}
			}
			s.mu.Unlock()
		}
	})
	return sides, r
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pump writes samples on a mesh's tracks until stop is closed.
func pump(m *Mesh, stop chan struct{}, done *sync.WaitGroup) {
	done.Add(1)
	go func() {
		defer done.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		// Not real codec data: the transport does not look inside.
		opus := []byte{0xf8, 0xff, 0xfe}
		vp8 := make([]byte, 200)
		vp8[0] = 0x10
		ap := rtp.NewPacketizer(1200, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
		// From 1, so a test's span of sequence numbers does not wrap.
		vp := rtp.NewPacketizer(1200, 0, 0, &codecs.VP8Payloader{}, rtp.NewFixedSequencer(1), 90000)
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				for _, p := range ap.Packetize(opus, 960) {
					_ = m.AudioTrack().WriteRTP(p)
				}
				for _, p := range vp.Packetize(vp8, 1800) {
					_ = m.VideoTrack().WriteRTP(p)
				}
			}
		}
	}()
}

func TestMeshOneToOneCarriesAudioAndVideo(t *testing.T) {
	sides, _ := newPair(t, "alice", "bob")
	a, b := sides["alice"], sides["bob"]
	// bob joined later, so he offers.
	if err := a.mesh.AddPeer("bob", false); err != nil {
		t.Fatal(err)
	}
	if err := b.mesh.AddPeer("alice", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both peers up", 10*time.Second, func() bool { return a.isUp("bob") && b.isUp("alice") })

	stop := make(chan struct{})
	var wg sync.WaitGroup
	pump(a.mesh, stop, &wg)
	pump(b.mesh, stop, &wg)
	waitFor(t, "media both ways", 10*time.Second, func() bool {
		return b.count("alice/audio") > 10 && b.count("alice/video") > 10 &&
			a.count("bob/audio") > 10 && a.count("bob/video") > 10
	})
	close(stop)
	wg.Wait()

	// bob requests a keyframe of alice's video: alice's sender sees the PLI.
	pc, _ := b.mesh.PeerConnection("alice")
	var ssrc uint32
	for _, tr := range pc.GetReceivers() {
		if tr.Track() != nil && tr.Track().Kind() == webrtc.RTPCodecTypeVideo {
			ssrc = uint32(tr.Track().SSRC())
		}
	}
	if ssrc == 0 {
		t.Fatal("bob has no remote video track from alice")
	}
	if err := b.mesh.RequestKeyframe("alice", ssrc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "keyframe request at alice", 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.kf > 0
	})

	// alice leaves: bob sees her go down.
	if err := a.mesh.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice down at bob", 10*time.Second, func() bool { return b.isDown("alice") })
}

func TestMeshThreeWay(t *testing.T) {
	sides, _ := newPair(t, "a", "b", "c")
	// b joins a; then c joins both and offers to each.
	must(t, sides["a"].mesh.AddPeer("b", false))
	must(t, sides["b"].mesh.AddPeer("a", true))
	must(t, sides["a"].mesh.AddPeer("c", false))
	must(t, sides["b"].mesh.AddPeer("c", false))
	must(t, sides["c"].mesh.AddPeer("a", true))
	must(t, sides["c"].mesh.AddPeer("b", true))
	waitFor(t, "full mesh up", 10*time.Second, func() bool {
		for id, s := range sides {
			for other := range sides {
				if other != id && !s.isUp(other) {
					return false
				}
			}
		}
		return true
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sides {
		pump(s.mesh, stop, &wg)
	}
	waitFor(t, "everyone hears everyone", 10*time.Second, func() bool {
		for id, s := range sides {
			for other := range sides {
				if other != id && s.count(other+"/audio") < 5 {
					return false
				}
			}
		}
		return true
	})
	close(stop)
	wg.Wait()
}

func TestMeshBadSignals(t *testing.T) {
	sides, _ := newPair(t, "alice", "bob")
	m := sides["alice"].mesh
	bad := []string{
		`not json`,
		`{"kind":"offer"}`,
		`{"kind":"offer","sdp":"v=0 garbage"}`,
		`{"kind":"answer","sdp":"x"}`,
		`{"kind":"candidate"}`,
		`{"kind":"teleport"}`,
	}
	for _, p := range bad {
		if err := m.HandleSignal("mallory", json.RawMessage(p)); err == nil {
			t.Errorf("HandleSignal(%s) = nil, want error", p)
		}
	}
	// The mesh still works after garbage.
	must(t, sides["alice"].mesh.AddPeer("bob", false))
	must(t, sides["bob"].mesh.AddPeer("alice", true))
	waitFor(t, "peers up after bad input", 10*time.Second, func() bool {
		return sides["alice"].isUp("bob") && sides["bob"].isUp("alice")
	})
}

func TestMeshImpairedInbound(t *testing.T) {
	t.Parallel()
	// bob's inbound path loses 20 % and jitters 30 ms: ICE and DTLS still
	// come up (they retransmit), and part of alice's media is lost.
	aliceNet, bobSockets := newCountingNet(t), newCountingNet(t)
	bobNet, err := netsim.NewNet(bobSockets, netsim.Config{Loss: 0.2, Jitter: 30 * time.Millisecond, Seed: 1})
	must(t, err)
	sides, _ := newPairWith(t, map[string]transport.Net{"alice": aliceNet, "bob": bobNet}, "alice", "bob")
	a, b := sides["alice"], sides["bob"]
	must(t, a.mesh.AddPeer("bob", false))
	must(t, b.mesh.AddPeer("alice", true))
	waitFor(t, "both peers up", 15*time.Second, func() bool { return a.isUp("bob") && b.isUp("alice") })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pump(a.mesh, stop, &wg)
	waitFor(t, "audio at bob", 10*time.Second, func() bool { return b.count("alice/audio") > 50 })
	close(stop)
	wg.Wait()
	st := bobNet.Stats()
	if st.Received == 0 || st.Dropped == 0 || st.Delivered == 0 {
		t.Fatalf("bob's impairment stats %+v, want drops and deliveries", st)
	}
	// Lost video packets are asked for again.
	pc, _ := b.mesh.PeerConnection("alice")
	var nacks uint64
	for _, tr := range pc.GetReceivers() {
		if tr.Track() != nil && tr.Track().Kind() == webrtc.RTPCodecTypeVideo {
			nacks = b.mesh.NACKsSent(uint32(tr.Track().SSRC()))
		}
	}
	if nacks == 0 {
		t.Error("bob sent no NACK for alice's video under 20 % loss")
	}
	// The impairment is bob's alone: each mesh opened its sockets on the
	// network it was given, alice's on her plain one.
	if aliceNet.sockets() == 0 || bobSockets.sockets() == 0 {
		t.Errorf("sockets opened on alice's net %d, on bob's %d: want each mesh on its own",
			aliceNet.sockets(), bobSockets.sockets())
	}
	t.Logf("bob's inbound: %+v; %d NACKs sent", st, nacks)
}

// countingNet is the real network, counting the UDP sockets opened on it.
type countingNet struct {
	transport.Net
	opened atomic.Int64
}

func newCountingNet(t *testing.T) *countingNet {
	t.Helper()
	std, err := stdnet.NewNet()
	must(t, err)
	return &countingNet{Net: std}
}

func (n *countingNet) sockets() int64 { return n.opened.Load() }

func (n *countingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	n.opened.Add(1)
	return n.Net.ListenUDP(network, laddr) //nolint:wrapcheck // a stand-in for the real network
}

func (n *countingNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	n.opened.Add(1)
	return n.Net.DialUDP(network, laddr, raddr) //nolint:wrapcheck // a stand-in for the real network
}

func (n *countingNet) ListenPacket(network, address string) (net.PacketConn, error) {
	n.opened.Add(1)
	return n.Net.ListenPacket(network, address) //nolint:wrapcheck // a stand-in for the real network
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

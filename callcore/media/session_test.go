package media

import (
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/video"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// frameGrab keeps the latest frame a view received.
type frameGrab struct {
	mu   sync.Mutex
	last *video.Frame
	n    int
}

func (g *frameGrab) WriteFrame(f *video.Frame) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last, g.n = f.Clone(), g.n+1
	return nil
}
func (g *frameGrab) Close() error { return nil }
func (g *frameGrab) get() (*video.Frame, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last, g.n
}

// peer is one side of an in-process call: a Session whose relay goes
// straight into the other side, in order, on its own goroutine (as the
// signaling server's push path would).
type peer struct {
	id     string
	sess   *Session
	view   *frameGrab
	mu     sync.Mutex
	up     map[string]bool
	down   map[string]bool
	failed map[string]error
	errs   []mediaError // MediaCall.Error
	volume []map[string]int
	stats  map[string]Stats
	nstats int // OnStats calls
}

type mediaError struct {
	code int
	msg  string
}

func (p *peer) errors() []mediaError {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]mediaError(nil), p.errs...)
}

func (p *peer) failure(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed[id]
}

func (p *peer) latest(id string) (Stats, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.stats[id]
	return s, ok
}

type call struct {
	peers map[string]*peer
	relay chan func()
	done  chan struct{}
	// drop, when set, loses relayed payloads it returns true for.
	drop func(from, to string) bool
}

func newCall(t *testing.T, hz map[string]float64, callType callcore.CallType) *call {
	t.Helper()
	return newCallWith(t, hz, callType, nil)
}

// newCallWith is newCall with a hook that adjusts each side's options.
func newCallWith(t *testing.T, hz map[string]float64, callType callcore.CallType, adjust func(id string, o *Options)) *call {
	t.Helper()
	return newCallFull(t, hz, callType, adjust, nil)
}

// newCallFull is newCallWith with a hook that adjusts each side's
// MediaCall too.
func newCallFull(t *testing.T, hz map[string]float64, callType callcore.CallType, adjust func(id string, o *Options), adjustCall func(id string, c *callcore.MediaCall)) *call {
	t.Helper()
	c := &call{peers: map[string]*peer{}, relay: make(chan func(), 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for f := range c.relay {
			f()
		}
	}()
	for id := range hz {
		c.peers[id] = &peer{id: id, view: &frameGrab{}, up: map[string]bool{}, down: map[string]bool{},
			failed: map[string]error{}, stats: map[string]Stats{}}
	}
	for id, freq := range hz {
		p := c.peers[id]
		tone, err := audio.NewTone(audio.DefaultFormat(), freq, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		pat, err := video.NewPattern(320, 240)
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{
			AudioIn: tone, VideoIn: pat, LoopbackOnly: true,
			ViewSink:   func(string) video.Sink { return p.view },
			OnStats:    func(s Stats) { p.mu.Lock(); p.stats[s.UserID] = s; p.nstats++; p.mu.Unlock() },
			StatsEvery: 500 * time.Millisecond,
		}
		if adjust != nil {
			adjust(id, &opts)
		}
		f, err := NewFactory(opts)
		if err != nil {
			t.Fatal(err)
		}
		mc := callcore.MediaCall{
			RoomID: 1, SelfID: id, CallType: callType,
			Send: func(to string, payload json.RawMessage) error {
				if c.drop != nil && c.drop(id, to) {
					return nil
				}
				dst := c.peers[to]
				c.relay <- func() { dst.sess.HandleSignal(id, payload) }
				return nil
			},
			PeerUp:   func(u string) { p.mu.Lock(); p.up[u] = true; p.mu.Unlock() },
			PeerDown: func(u string) { p.mu.Lock(); p.down[u] = true; p.mu.Unlock() },
			PeerFailed: func(u string, err error) {
				p.mu.Lock()
				p.failed[u] = err
				p.mu.Unlock()
			},
			Error: func(code int, msg string) {
				p.mu.Lock()
				p.errs = append(p.errs, mediaError{code, msg})
				p.mu.Unlock()
			},
			Volume: func(m map[string]int) {
				p.mu.Lock()
				p.volume = append(p.volume, m)
				p.mu.Unlock()
			},
		}
		if adjustCall != nil {
			adjustCall(id, &mc)
		}
		ms, err := f.NewSession(mc)
		if err != nil {
			t.Fatal(err)
		}
		p.sess = ms.(*Session)
	}
	t.Cleanup(func() {
		for _, p := range c.peers {
			if err := p.sess.Close(); err != nil {
				t.Errorf("close %s: %v", p.id, err)
			}
		}
		close(c.relay)
		<-c.done
	})
	return c
}

func (c *call) connect(a, b string) {
	// b joined later: b offers.
	c.peers[a].sess.AddPeer(b, false)
	c.peers[b].sess.AddPeer(a, true)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func within(got, want, frac float64) bool { return math.Abs(got-want) <= want*frac }

func TestOneToOneToneAndPattern(t *testing.T) {
	t.Parallel()
	c := newCall(t, map[string]float64{"alice": 440, "bob": 880}, proto.CallTypeVideo)
	a, b := c.peers["alice"], c.peers["bob"]
	a.sess.SetViews(callcore.ViewTable{Remote: map[string][]string{"bob": {"main"}}})
	b.sess.SetViews(callcore.ViewTable{Remote: map[string][]string{"alice": {"main"}}})
	c.connect("alice", "bob")

	hears := func(p *peer, from string, hz float64) func() bool {
		return func() bool {
			s, ok := p.latest(from)
			return ok && within(s.Audio.FrequencyHz, hz, 0.02) && s.Audio.LevelDBFS > -30
		}
	}
	waitFor(t, "bob hears 440 Hz", 15*time.Second, hears(b, "alice", 440))
	waitFor(t, "alice hears 880 Hz", 15*time.Second, hears(a, "bob", 880))

	waitFor(t, "bob sees alice's video at ~15 fps", 15*time.Second, func() bool {
		s, ok := b.latest("alice")
		return ok && s.Video.Width == 320 && s.Video.Height == 240 && within(s.Video.FPS, 15, 0.2)
	})
	if s, ok := b.latest("alice"); ok {
		t.Logf("bob <- alice: %+v", s)
	}
	fr, n := b.view.get()
	if n == 0 || fr == nil {
		t.Fatal("bob's view got no frames")
	}
	if err := video.CheckPattern(fr, 40); err != nil {
		t.Errorf("decoded frame is not the pattern: %v", err)
	}

	// RTCP receiver reports give the round trip (tiny on loopback, > 0).
	waitFor(t, "RTT from receiver reports", 10*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.RTTMs > 0 && s.RTTMs < 1000
	})
	// The periodic stats carry the selected pair: direct on loopback.
	if s, _ := b.latest("alice"); s.Path == nil || *s.Path != (Path{Local: "host", Remote: "host", Protocol: "udp"}) {
		t.Errorf("bob's path to alice %+v, want host/host udp", s.Path)
	}

	// Mute: bob's level for alice drops to nothing; unmute brings it back.
	a.sess.SetMicMute(true)
	waitFor(t, "alice silent at bob", 10*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.Audio.LevelDBFS < -60
	})
	a.sess.SetMicMute(false)
	waitFor(t, "alice audible again", 10*time.Second, hears(b, "alice", 440))

	// Camera off: bob's fps for alice drops to zero; on again recovers.
	a.sess.SetCamera(false)
	waitFor(t, "alice video stops", 10*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.Video.FPS == 0
	})
	// A stopped video is a freeze that keeps growing.
	waitFor(t, "a freeze of over a second", 10*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.Video.FreezeMs > 1000
	})
	a.sess.SetCamera(true)
	// Back and moving; not necessarily at 15 fps: on a loaded machine the
	// adapter may have taken the call to a 10 fps rung meanwhile.
	waitFor(t, "alice video back", 10*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.Video.FPS >= 5 && s.Video.Width > 0
	})
}

func TestThreePartyEveryoneHearsBoth(t *testing.T) {
	t.Parallel()
	hz := map[string]float64{"a": 440, "b": 660, "c": 990}
	c := newCall(t, hz, proto.CallTypeAudio)
	c.connect("a", "b")
	c.connect("a", "c")
	c.connect("b", "c")
	for id, p := range c.peers {
		for other, f := range hz {
			if other == id {
				continue
			}
			waitFor(t, id+" hears "+other, 20*time.Second, func() bool {
				s, ok := p.latest(other)
				return ok && within(s.Audio.FrequencyHz, f, 0.02) && s.Audio.LevelDBFS > -30
			})
		}
	}
	// An audio call sends no video.
	s, _ := c.peers["a"].latest("b")
	if s.Video.FramesDecoded != 0 {
		t.Errorf("audio call decoded %d video frames", s.Video.FramesDecoded)
	}
}

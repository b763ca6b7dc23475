package media

import (
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/vp8"
)

var twoTones = map[string]float64{"alice": 440, "bob": 880}

func remoteOf(s *Session, id string) *remote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remotes[id]
}

func snapshotOf(s *Session, id string) (Stats, bool) {
	for _, st := range s.Snapshot() {
		if st.UserID == id {
			return st, true
		}
	}
	return Stats{}, false
}

func keyframe(t *testing.T) []byte {
	t.Helper()
	enc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pat, err := video.NewPattern(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	data, key, err := enc.Encode(pat.Frame(0), 0)
	if err != nil || !key {
		t.Fatalf("keyframe: %v (key %v)", err, key)
	}
	return data
}

// A member who leaves (RemovePeer) takes the C decoders of their media
// with them: they leaked ~1 MB per call on the answering side.
func TestRemovePeerClosesDecoders(t *testing.T) {
	c := newCall(t, twoTones, proto.CallTypeVideo)
	a := c.peers["alice"]
	c.connect("alice", "bob")
	waitFor(t, "alice decodes bob's audio and video", 15*time.Second, func() bool {
		st, ok := snapshotOf(a.sess, "bob")
		return ok && st.Video.FramesDecoded > 0 && st.Audio.PacketsReceived > 0
	})
	r := remoteOf(a.sess, "bob")
	r.mu.Lock()
	dec, vdec := r.dec, r.vdec
	r.mu.Unlock()
	if dec == nil || vdec == nil {
		t.Fatalf("decoders %v %v, want both", dec, vdec)
	}
	a.sess.RemovePeer("bob")
	waitFor(t, "the readers give their decoders up", 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.dec == nil && r.vdec == nil
	})
	if _, err := vdec.Decode(keyframe(t)); !errors.Is(err, vp8.ErrClosed) {
		t.Errorf("bob's VP8 decoder after RemovePeer: %v, want ErrClosed", err)
	}
	if remoteOf(a.sess, "bob") != nil {
		t.Error("bob is still a remote")
	}
	if _, ok := snapshotOf(a.sess, "bob"); ok {
		t.Error("bob still in snapshots")
	}
}

// An audio call switched to video (the engine sets the call type, then
// turns the camera on) starts sending video with a keyframe, and the far
// side decodes it.
func TestAudioCallSwitchedToVideo(t *testing.T) {
	t.Parallel()
	c := newCall(t, twoTones, proto.CallTypeAudio)
	a, b := c.peers["alice"], c.peers["bob"]
	// What the engine does for an audio call: the camera starts off.
	a.sess.SetCamera(false)
	b.sess.SetCamera(false)
	b.sess.SetViews(callcore.ViewTable{Remote: map[string][]string{"alice": {"main"}}})
	c.connect("alice", "bob")
	waitFor(t, "bob hears alice", 15*time.Second, func() bool {
		s, ok := b.latest("alice")
		return ok && within(s.Audio.FrequencyHz, 440, 0.02)
	})
	if _, n := b.view.get(); n != 0 {
		t.Fatalf("audio call showed %d frames", n)
	}
	a.sess.SetCallType(proto.CallTypeVideo)
	a.sess.SetCamera(true)
	waitFor(t, "bob sees alice's video", 10*time.Second, func() bool {
		fr, n := b.view.get()
		return n > 0 && fr.Width == 320 && fr.Height == 240
	})
	fr, _ := b.view.get()
	if err := video.CheckPattern(fr, 40); err != nil {
		t.Errorf("decoded frame is not the pattern: %v", err)
	}
	// The first frame was a keyframe: nothing had to be asked for.
	st, _ := snapshotOf(b.sess, "alice")
	if st.Video.Keyframes == 0 || st.Video.PLIsSent != 0 {
		t.Errorf("video stats %+v, want a keyframe first and no PLI", st.Video)
	}
}

// USER_VOICE_VOLUME goes out once a second with periodic stats off.
func TestVolumeEverySecondWithoutStats(t *testing.T) {
	t.Parallel()
	c := newCallWith(t, twoTones, proto.CallTypeAudio, func(_ string, o *Options) { o.StatsEvery = 0 })
	b := c.peers["bob"]
	c.connect("alice", "bob")
	start := time.Now()
	waitFor(t, "three volume reports with alice speaking", 15*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		n := 0
		for _, v := range b.volume {
			if v["alice"] > 0 {
				n++
			}
		}
		return n >= 3
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nstats != 0 {
		t.Errorf("%d periodic stats with StatsEvery 0", b.nstats)
	}
	last := b.volume[len(b.volume)-1]
	if _, ok := last["bob"]; !ok || last["alice"] <= 0 {
		t.Errorf("volume map %v, want bob (self) and alice > 0", last)
	}
	// About once a second: not a burst.
	if el := time.Since(start); len(b.volume) > int(el/time.Second)+2 {
		t.Errorf("%d volume reports in %v", len(b.volume), el)
	}
}

// Snapshots (the stats command, the TUI) carry bitrates, and taking many
// does not disturb the periodic stats.
func TestSnapshotBitrates(t *testing.T) {
	// Not parallel: it judges the frame rate, which a loaded machine lowers.
	c := newCallWith(t, twoTones, proto.CallTypeVideo, func(id string, o *Options) {
		if id == "bob" {
			o.StatsEvery = 0
		}
	})
	a, b := c.peers["alice"], c.peers["bob"]
	c.connect("alice", "bob")
	// The test pattern needs well under its 300 kbit/s (~20 on loopback),
	// Opus ~30.
	plausible := func(kbps float64) bool { return kbps > 20 && kbps < 1000 }
	waitFor(t, "bob's snapshot shows both bitrates", 15*time.Second, func() bool {
		st, ok := snapshotOf(b.sess, "alice")
		return ok && plausible(st.SendKbps) && plausible(st.RecvKbps)
	})
	st, _ := snapshotOf(b.sess, "alice")
	t.Logf("bob's snapshot: send %.0f kbit/s, recv %.0f kbit/s", st.SendKbps, st.RecvKbps)
	// A loopback call is direct.
	if want := (Path{Local: "host", Remote: "host", Protocol: "udp"}); st.Path == nil || *st.Path != want {
		t.Errorf("bob's snapshot path %+v, want %+v", st.Path, want)
	}

	waitFor(t, "alice's periodic stats", 15*time.Second, func() bool {
		s, ok := a.latest("bob")
		return ok && within(s.Video.FPS, 15, 0.3)
	})
	a.mu.Lock()
	from := a.nstats
	a.mu.Unlock()
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		_ = a.sess.Snapshot()
		time.Sleep(10 * time.Millisecond) // a busy stats poller, not a wait
	}
	waitFor(t, "a periodic line after the snapshots", 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.nstats > from
	})
	s, _ := a.latest("bob")
	if !within(s.Video.FPS, 15, 0.3) || !plausible(s.RecvKbps) || !plausible(s.SendKbps) {
		t.Errorf("periodic line after many snapshots: %.1f fps, send %.0f, recv %.0f kbit/s", s.Video.FPS, s.SendKbps, s.RecvKbps)
	}
	// Two ways of counting the same stream agree: what alice's periodic
	// line says she sends is what bob's snapshot says he receives.
	st, _ = snapshotOf(b.sess, "alice")
	if !within(st.RecvKbps, s.SendKbps, 0.3) {
		t.Errorf("bob's snapshot receives %.1f kbit/s, alice's stats send %.1f", st.RecvKbps, s.SendKbps)
	}
	t.Logf("alice sends %.1f kbit/s (periodic), bob receives %.1f (snapshot)", s.SendKbps, st.RecvKbps)
}

func TestRateWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var w rateWindow
	if got := w.kbps(t0, 0); got != 0 {
		t.Errorf("empty window: %v", got)
	}
	w.add(t0, 0)
	if got := w.kbps(t0.Add(50*time.Millisecond), 100); got != 0 {
		t.Errorf("50 ms window: %v, want 0 (too short)", got)
	}
	// Early in a call: from the first sample.
	if got := w.kbps(t0.Add(500*time.Millisecond), 500); !within(got, 8, 0.001) {
		t.Errorf("half a second: %v, want 8", got)
	}
	for i := 1; i <= 4; i++ { // one sample a second; the ring holds 3
		w.add(t0.Add(time.Duration(i)*time.Second), uint64(i)*1000)
	}
	// From the youngest sample at least a second old (t0+3s, 3000 bytes).
	if got := w.kbps(t0.Add(4500*time.Millisecond), 4000+500*4); !within(got, (6000.0-3000)*8/1000/1.5, 0.001) {
		t.Errorf("steady: %v", got)
	}
	// Just after a sample: the one before it.
	if got := w.kbps(t0.Add(4100*time.Millisecond), 4100); !within(got, 1100.0*8/1000/1.1, 0.001) {
		t.Errorf("after a sample: %v", got)
	}
}

// Media that never connects (the relay loses every signal) is reported
// through MediaCall.PeerFailed, on both sides, and never as down.
func TestPeerFailedReachesTheEngine(t *testing.T) {
	c := newCallWith(t, twoTones, proto.CallTypeAudio, func(_ string, o *Options) { o.ConnectTimeout = 300 * time.Millisecond })
	c.drop = func(string, string) bool { return true }
	c.connect("alice", "bob")
	for _, ids := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		p := c.peers[ids[0]]
		waitFor(t, ids[0]+" reports "+ids[1]+" failed", 5*time.Second, func() bool { return p.failure(ids[1]) != nil })
		if err := p.failure(ids[1]); !errors.Is(err, rtc.ErrConnectTimeout) {
			t.Errorf("%s: %v, want ErrConnectTimeout", ids[0], err)
		}
		p.mu.Lock()
		if p.up[ids[1]] || p.down[ids[1]] {
			t.Errorf("%s: %s also up %v / down %v", ids[0], ids[1], p.up[ids[1]], p.down[ids[1]])
		}
		p.mu.Unlock()
	}
}

// ICE servers pion would refuse are each reported once as CodeICEServer,
// configured or from login, and the call connects without them.
func TestBadICEServersReportedCallGoesOn(t *testing.T) {
	c := newCallFull(t, twoTones, proto.CallTypeAudio, func(id string, o *Options) {
		if id == "alice" {
			o.ICEServers = []webrtc.ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}}} // no credentials
		}
	}, func(id string, mc *callcore.MediaCall) {
		if id == "alice" {
			mc.ICEServers = []proto.ICEServer{{URLs: []string{"turns:127.0.0.1:5349", "bogus:x"}, Username: "u", Credential: "p"}}
		}
	})
	a := c.peers["alice"]
	c.connect("alice", "bob")
	waitFor(t, "the call connects", 15*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.up["bob"]
	})
	var got []string
	for _, e := range a.errors() {
		if e.code != callcore.CodeICEServer {
			t.Errorf("error %d %q", e.code, e.msg)
			continue
		}
		got = append(got, e.msg)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "ice server turn:127.0.0.1:3478: ") || !strings.HasPrefix(got[1], "ice server bogus:x: ") {
		t.Errorf("ICE server errors %q, want turn:127.0.0.1:3478 and bogus:x, once each", got)
	}
	if e := c.peers["bob"].errors(); len(e) != 0 {
		t.Errorf("bob's errors %v", e)
	}
	t.Logf("%q", got)
}

// TURN credentials reach pion both from the options (configuration) and
// from the server's login reply: with relays only, the call connects.
func TestTURNCredentialsFromConfigAndLogin(t *testing.T) {
	t.Parallel()
	url := turnServer(t, map[string]string{"alice": "a-secret", "bob": "b-secret"})
	c := newCallFull(t, twoTones, proto.CallTypeAudio, func(id string, o *Options) {
		o.RelayOnly = true
		if id == "alice" {
			o.ICEServers = []webrtc.ICEServer{{URLs: []string{url}, Username: "alice", Credential: "a-secret"}}
		}
	}, func(id string, mc *callcore.MediaCall) {
		if id == "bob" {
			mc.ICEServers = []proto.ICEServer{{URLs: []string{url}, Username: "bob", Credential: "b-secret"}}
		}
	})
	a, b := c.peers["alice"], c.peers["bob"]
	c.connect("alice", "bob")
	waitFor(t, "both hear each other through the relay", 20*time.Second, func() bool {
		sa, ok1 := a.latest("bob")
		sb, ok2 := b.latest("alice")
		return ok1 && ok2 && within(sa.Audio.FrequencyHz, 880, 0.02) && within(sb.Audio.FrequencyHz, 440, 0.02)
	})
	for _, p := range []*peer{a, b} {
		if e := p.errors(); len(e) != 0 {
			t.Errorf("%s: errors %v", p.id, e)
		}
	}
	// The stats say the media is relayed: both sides' own candidate is
	// a relay one, in the periodic stats and in a snapshot alike.
	for _, pair := range [][2]*peer{{a, b}, {b, a}} {
		st, _ := pair[0].latest(pair[1].id)
		snap, _ := snapshotOf(pair[0].sess, pair[1].id)
		for _, path := range []*Path{st.Path, snap.Path} {
			if path == nil || path.Local != "relay" || path.Protocol != "udp" || !path.Relayed() {
				t.Errorf("%s's path to %s = %+v, want local relay over udp", pair[0].id, pair[1].id, path)
			}
		}
	}
}

// turnServer runs a TURN server on 127.0.0.1 for the given users.
func turnServer(t *testing.T, users map[string]string) string {
	t.Helper()
	const realm = "termcall.test"
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			pass, ok := users[ra.Username]
			if !ok {
				return "", nil, false
			}
			return ra.Username, turn.GenerateAuthKey(ra.Username, realm, pass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "turn:127.0.0.1:" + strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)
}

// A peer that offers video only in codecs termcall does not decode is
// reported once as CodeUnsupportedCodec; its audio still gets an answer.
func TestUnsupportedCodecReported(t *testing.T) {
	me := &webrtc.MediaEngine{}
	for _, reg := range []struct {
		kind webrtc.RTPCodecType
		c    webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 98, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}},
	} {
		if err := me.RegisterCodec(reg.c, reg.kind); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	f, err := NewFactory(Options{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []mediaError
	var answered bool
	ms, err := f.NewSession(callcore.MediaCall{SelfID: "bob", CallType: proto.CallTypeVideo,
		Send: func(_ string, p json.RawMessage) error {
			mu.Lock()
			defer mu.Unlock()
			answered = answered || strings.Contains(string(p), `"answer"`)
			return nil
		},
		Error: func(code int, msg string) { mu.Lock(); errs = append(errs, mediaError{code, msg}); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	b, _ := json.Marshal(rtc.Signal{Kind: "offer", SDP: offer.SDP})
	ms.HandleSignal("browser", b)
	ms.HandleSignal("browser", b) // again: still one report
	mu.Lock()
	defer mu.Unlock()
	if !answered || len(errs) != 1 || errs[0].code != callcore.CodeUnsupportedCodec || !strings.Contains(errs[0].msg, "VP9") {
		t.Fatalf("answered %v, errors %v: want an answer and one CodeUnsupportedCodec naming VP9", answered, errs)
	}
	t.Logf("%s", errs[0].msg)
}

// Closing a session while its peer's tracks are being handed over: the
// readers are counted under the lock that guards closed, so no wg.Add
// races Close's Wait (run with -race), and nothing is left running
// (goleak in TestMain).
func TestCloseWhileTracksArrive(t *testing.T) {
	for i := range 4 {
		c := newCall(t, twoTones, proto.CallTypeVideo)
		b := c.peers["bob"]
		c.connect("alice", "bob")
		waitFor(t, "bob's first media", 10*time.Second, func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.up["alice"]
		})
		time.Sleep(time.Duration(i) * 7 * time.Millisecond) // a different overlap each round, nothing to wait for
		for _, id := range []string{"bob", "alice"} {
			if err := c.peers[id].sess.Close(); err != nil {
				t.Errorf("close %s: %v", id, err)
			}
		}
		// A track handed over after Close starts no reader (it would be
		// an Add after Wait); it is not even looked at.
		b.sess.onTrack("alice", nil)
		if r := remoteOf(b.sess, "alice"); r != nil {
			t.Error("a remote was made after Close")
		}
	}
}

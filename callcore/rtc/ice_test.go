package rtc

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

func TestCheckICEServers(t *testing.T) {
	turnOK := webrtc.ICEServer{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com"}, Username: "u", Credential: "p"}
	in := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.com:3478", "stun:stun.example.com?transport=udp"}}, // pion drops a stun query
		turnOK,
		{URLs: []string{"turn:turn.example.com"}},                                                // no username
		{URLs: []string{"turn:turn.example.com"}, Username: "u"},                                 // no credential
		{URLs: []string{"turn:turn.example.com"}, Username: "u", Credential: ""},                 // empty credential
		{URLs: []string{"turn:turn.example.com"}, Username: "u", Credential: 42},                 // not a password
		{URLs: []string{"http://stun.example.com", "stun:ok.example.com"}},                       // one bad URL of two
		{URLs: []string{"stun:host:notaport"}},                                                   // bad port
		{URLs: []string{"turn:turn.example.com?transport=sctp"}, Username: "u", Credential: "p"}, // bad transport
		{},
	}
	usable, problems := CheckICEServers(in)
	want := []webrtc.ICEServer{
		in[0], turnOK, {URLs: []string{"stun:ok.example.com"}},
	}
	if len(usable) != len(want) {
		t.Fatalf("usable %+v, want %+v", usable, want)
	}
	for i := range want {
		if !slices.Equal(usable[i].URLs, want[i].URLs) || usable[i].Username != want[i].Username || usable[i].Credential != want[i].Credential {
			t.Errorf("usable[%d] = %+v, want %+v", i, usable[i], want[i])
		}
	}
	wantProblems := []struct{ url, why string }{
		{"turn:turn.example.com", "username"},
		{"turn:turn.example.com", "credential"},
		{"turn:turn.example.com", "credential"},
		{"turn:turn.example.com", "credential"},
		{"http://stun.example.com", "scheme"},
		{"stun:host:notaport", "port"},
		{"turn:turn.example.com?transport=sctp", "protocol"},
		{"", "no URLs"},
	}
	if len(problems) != len(wantProblems) {
		t.Fatalf("problems %v, want %d", problems, len(wantProblems))
	}
	for i, w := range wantProblems {
		err := problems[i]
		var ie *ICEServerError
		if !errors.Is(err, ErrICEServer) || !errors.As(err, &ie) || ie.URL != w.url || !strings.Contains(err.Error(), w.why) {
			t.Errorf("problem %d: %v, want ErrICEServer for %q mentioning %q", i, err, w.url, w.why)
		}
		if strings.Contains(err.Error(), "p\"") {
			t.Errorf("problem %d shows a credential: %v", i, err)
		}
		t.Logf("%v", err)
	}
	// What CheckICEServers passes, pion accepts.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{ICEServers: usable})
	if err != nil {
		t.Fatalf("pion refuses the usable servers: %v", err)
	}
	_ = pc.Close()
}

// A mesh given a bad server besides a good one still connects (pion
// refuses a whole PeerConnection for one bad server) and says why it left
// the bad one out.
func TestMeshLeavesOutBadICEServers(t *testing.T) {
	bad := webrtc.ICEServer{URLs: []string{"turn:127.0.0.1:1"}} // no credentials
	sides, _ := newMeshes(t, meshOpts{config: func(_ string, c *Config) { c.ICEServers = []webrtc.ICEServer{bad} }}, "alice", "bob")
	for _, s := range sides {
		if p := s.mesh.ICEProblems(); len(p) != 1 || !strings.Contains(p[0].Error(), "turn:127.0.0.1:1") {
			t.Errorf("%s: ICE problems %v", s.id, p)
		}
	}
	connectPair(t, sides, "alice", "bob")
}

// turnServer runs a TURN server on 127.0.0.1 with one user; it counts the
// requests that authenticated.
func turnServer(t *testing.T, user, pass string) (url string, authed *atomic.Int32) {
	t.Helper()
	const realm = "termcall.test"
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(t, err)
	authed = &atomic.Int32{}
	key := turn.GenerateAuthKey(user, realm, pass)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != user {
				return "", nil, false
			}
			authed.Add(1)
			return user, key, true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	must(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return "turn:127.0.0.1:" + strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port) + "?transport=udp", authed
}

// TURN with long-term credentials carries a call whose peers may use
// nothing but relay candidates.
func TestMeshOverTURN(t *testing.T) {
	t.Parallel()
	url, authed := turnServer(t, "alice", "s3cret")
	sides, _ := newMeshes(t, meshOpts{config: func(_ string, c *Config) {
		c.RelayOnly = true
		c.ICEServers = []webrtc.ICEServer{{URLs: []string{url}, Username: "alice", Credential: "s3cret"}}
	}}, "alice", "bob")
	connectPair(t, sides, "alice", "bob")
	pc, _ := sides["alice"].mesh.PeerConnection("bob")
	var pair *webrtc.ICECandidatePair
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Transport() != nil {
			pair, _ = s.Transport().ICETransport().GetSelectedCandidatePair()
		}
	}
	if pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Fatalf("selected pair %v, want a relay candidate", pair)
	}
	if authed.Load() == 0 {
		t.Error("the TURN server authenticated nobody")
	}
	t.Logf("selected %s", pair)
	// Mesh.Path, which the stats report, says the same.
	var path Path
	waitFor(t, "alice's path to bob", 5*time.Second, func() bool {
		var ok bool
		path, ok = sides["alice"].mesh.Path("bob")
		return ok
	})
	if path.Local != "relay" || path.Protocol != "udp" || !path.Relayed() {
		t.Errorf("alice's path to bob = %+v, want a local relay over udp", path)
	}
}

// With a wrong TURN password there is no candidate at all: the peer is
// reported failed, not left hanging.
func TestMeshTURNWrongPasswordFails(t *testing.T) {
	t.Parallel()
	url, _ := turnServer(t, "alice", "s3cret")
	sides, _ := newMeshes(t, meshOpts{config: func(_ string, c *Config) {
		c.RelayOnly = true
		c.ConnectTimeout = 2 * time.Second
		c.ICEServers = []webrtc.ICEServer{{URLs: []string{url}, Username: "alice", Credential: "wrong"}}
	}}, "alice", "bob")
	must(t, sides["alice"].mesh.AddPeer("bob", false))
	must(t, sides["bob"].mesh.AddPeer("alice", true))
	waitFor(t, "alice failed at bob", 10*time.Second, func() bool { return sides["bob"].failure("alice") != nil })
	t.Logf("bob: %v", sides["bob"].failure("alice"))
}

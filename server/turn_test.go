package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testcert"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/relay"
)

// With Options.TURN, each login reply carries the configured ICE servers
// and then the embedded TURN server with a credential for that user,
// signed with the key and expiring a TTL after login.
func TestLoginReplyTURN(t *testing.T) {
	key := []byte("turn-key")
	s := runServer(t, func(o *Options) {
		o.ICEServers = []proto.ICEServer{{URLs: []string{"stun:stun.example.org:3478"}}}
		o.TURN = &relay.Config{Addr: "127.0.0.1:0", Key: key, TTL: time.Hour}
	})
	c := dial(t, s)
	var rep proto.LoginReply
	before := time.Now()
	c.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: sig(t, "alice"), SessionID: "s1"}, &rep)
	if len(rep.ICEServers) != 2 || rep.ICEServers[0].URLs[0] != "stun:stun.example.org:3478" {
		t.Fatalf("ICE servers %+v, want the STUN server then TURN", rep.ICEServers)
	}
	ts := rep.ICEServers[1]
	if !strings.HasPrefix(ts.URLs[0], "turn:127.0.0.1:") || !strings.HasSuffix(ts.URLs[0], "?transport=udp") {
		t.Errorf("TURN URL %v", ts.URLs)
	}
	exp, id, err := relay.ParseUsername(ts.Username)
	if err != nil || id != "alice" {
		t.Fatalf("TURN username %q: %q %v", ts.Username, id, err)
	}
	if d := exp.Sub(before); d < time.Hour-2*time.Second || d > time.Hour+2*time.Second {
		t.Errorf("credential expires %v after login, want 1h", d)
	}
	if ts.Credential != relay.Credential(key, ts.Username) {
		t.Errorf("credential %q is not HMAC-SHA1 of the username", ts.Credential)
	}
	// The configured list is not changed by the per-user entry.
	if len(s.opts.ICEServers) != 1 {
		t.Errorf("Options.ICEServers grew to %d", len(s.opts.ICEServers))
	}
}

// A TURN address that cannot be bound fails Start.
func TestStartTURNBadAddr(t *testing.T) {
	o := testOptions()
	o.TURN = &relay.Config{Addr: "0.0.0.0:0"} // no external IP to announce
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start with an unannounceable TURN address succeeded")
	}
	_ = s.Shutdown(t.Context())
}

// serve --turn-tls-port: the relay serves turns: with the server's own
// certificate, and without one the server refuses to start.
func TestTURNOverTLSUsesTheServersCertificate(t *testing.T) {
	files := testcert.Write(t)
	s := runServer(t, func(o *Options) {
		o.TLSCertFile, o.TLSKeyFile = files.Cert, files.Key
		o.TURN = &relay.Config{Addr: "127.0.0.1:0", WantTLS: true}
	})
	urls := s.turn.ICEServer("alice").URLs
	if len(urls) != 3 || !strings.HasPrefix(urls[2], "turns:localhost:") {
		t.Errorf("TURN URLs %v, want a turns:localhost: one", urls)
	}

	o := testOptions()
	o.TURN = &relay.Config{Addr: "127.0.0.1:0", WantTLS: true}
	plain, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Start(); err == nil || !strings.Contains(err.Error(), "tls-cert") {
		t.Errorf("Start with turns: and no certificate: %v, want an error naming --tls-cert", err)
		_ = plain.Shutdown(context.Background())
	}
}

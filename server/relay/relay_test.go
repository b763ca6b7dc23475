package relay

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/testcert"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeNow is a settable clock for credential expiry.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func startRelay(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// allocate makes one UDP allocation as username/password and returns the
// relayed conn, or the error.
func allocate(t *testing.T, s *Server, username, password string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: s.Addr().String(), STUNServerAddr: s.Addr().String(),
		Username: username, Password: password, Realm: Realm, Conn: conn, RTO: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c.Allocate()
}

func TestCredentials(t *testing.T) {
	clk := &fakeNow{t: time.Now()}
	s := startRelay(t, Config{Now: clk.Now, TTL: time.Hour})
	ice := s.ICEServer("alice")
	want := "turn:" + s.Addr().String() + "?transport=udp"
	if len(ice.URLs) == 0 || ice.URLs[0] != want {
		t.Fatalf("URLs %v, want %s first", ice.URLs, want)
	}
	if _, id, err := ParseUsername(ice.Username); err != nil || id != "alice" {
		t.Fatalf("username %q: %q, %v", ice.Username, id, err)
	}

	relayed, err := allocate(t, s, ice.Username, ice.Credential)
	if err != nil {
		t.Fatalf("valid credential refused: %v", err)
	}
	if a := relayed.LocalAddr().(*net.UDPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("relayed address %v, want on 127.0.0.1", a)
	}
	_ = relayed.Close()

	other := startRelay(t, Config{}) // another key
	forged := other.ICEServer("alice")
	expired := Username(clk.Now().Add(-time.Second), "alice")
	for name, c := range map[string][2]string{
		"wrong credential":   {ice.Username, forged.Credential},
		"empty credential":   {ice.Username, ""},
		"other user's":       {strings.Replace(ice.Username, "alice", "bob", 1), ice.Credential},
		"later expiry":       {Username(clk.Now().Add(2*time.Hour), "alice"), ice.Credential},
		"expired":            {expired, Credential(s.cfg.Key, expired)},
		"no expiry":          {"alice", Credential(s.cfg.Key, "alice")},
		"signed expiry":      {"+" + ice.Username, Credential(s.cfg.Key, "+"+ice.Username)},
		"invalid userID":     {Username(clk.Now().Add(time.Hour), "a b"), Credential(s.cfg.Key, Username(clk.Now().Add(time.Hour), "a b"))},
		"empty username":     {"", ""},
		"two colons":         {ice.Username + ":x", Credential(s.cfg.Key, ice.Username+":x")},
		"expiry not numeric": {"soon:alice", Credential(s.cfg.Key, "soon:alice")},
	} {
		if rc, err := allocate(t, s, c[0], c[1]); err == nil {
			_ = rc.Close()
			t.Errorf("%s (%q): allocation granted", name, c[0])
		}
	}

	// The credential handed out stops working once it expires.
	clk.Add(time.Hour)
	if rc, err := allocate(t, s, ice.Username, ice.Credential); err == nil {
		_ = rc.Close()
		t.Error("credential past its expiry: allocation granted")
	}
}

func TestTCP(t *testing.T) {
	s := startRelay(t, Config{})
	ice := s.ICEServer("carol")
	if len(ice.URLs) != 2 || !strings.HasSuffix(ice.URLs[1], "?transport=tcp") {
		t.Fatalf("URLs %v, want udp and tcp", ice.URLs)
	}
	tc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := allocateOverStream(t, tc, s.Addr().String(), ice.Username, ice.Credential); err != nil {
		t.Fatalf("allocation over TCP: %v", err)
	}
}

// allocateOverStream makes one allocation through a TCP or TLS connection
// to the relay at addr, and frees it.
func allocateOverStream(t *testing.T, stream net.Conn, addr, username, password string) error {
	t.Helper()
	conn := turn.NewSTUNConn(stream)
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: addr, STUNServerAddr: addr,
		Username: username, Password: password, Realm: Realm, Conn: conn,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); _ = conn.Close() }()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Allocate()
	if err != nil {
		return err
	}
	return rc.Close()
}

func TestQuota(t *testing.T) {
	s := startRelay(t, Config{MaxAllocsPerUser: 2})
	ice := s.ICEServer("dave")
	var held []net.PacketConn
	for i := range 2 {
		rc, err := allocate(t, s, ice.Username, ice.Credential)
		if err != nil {
			t.Fatalf("allocation %d: %v", i+1, err)
		}
		held = append(held, rc)
	}
	if n := s.Allocations("dave"); n != 2 {
		t.Fatalf("Allocations = %d, want 2", n)
	}
	if rc, err := allocate(t, s, ice.Username, ice.Credential); err == nil {
		_ = rc.Close()
		t.Fatal("third allocation past a cap of 2 granted")
	}
	// Another user has their own quota.
	eve := s.ICEServer("eve")
	rc, err := allocate(t, s, eve.Username, eve.Credential)
	if err != nil {
		t.Fatalf("another user refused: %v", err)
	}
	_ = rc.Close()

	// Freeing one makes room again.
	_ = held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Allocations("dave") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Allocations = %d after closing one, want 1", s.Allocations("dave"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	rc, err = allocate(t, s, ice.Username, ice.Credential)
	if err != nil {
		t.Fatalf("allocation after freeing one: %v", err)
	}
	_ = rc.Close()
	_ = held[1].Close()
}

func TestStartRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no port":          {Addr: "127.0.0.1"},
		"host name":        {Addr: "localhost:0"},
		"unspecified host": {Addr: "0.0.0.0:0"},
		"empty host":       {Addr: ":0"},
		"half range":       {Addr: "127.0.0.1:0", MinPort: 40000},
		"inverted range":   {Addr: "127.0.0.1:0", MinPort: 40010, MaxPort: 40000},
	} {
		if s, err := Start(cfg); err == nil {
			_ = s.Close()
			t.Errorf("%s: started", name)
		} else if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	// 0.0.0.0 with an external IP is fine.
	s := startRelay(t, Config{Addr: "0.0.0.0:0", ExternalIP: net.IPv4(127, 0, 0, 1), MinPort: 41000, MaxPort: 41100})
	if got := s.ICEServer("x").URLs[0]; !strings.HasPrefix(got, "turn:127.0.0.1:") {
		t.Errorf("URL %s, want the external IP", got)
	}
}

func TestParseUsername(t *testing.T) {
	exp, id, err := ParseUsername("1700000000:alice")
	if err != nil || id != "alice" || exp.Unix() != 1700000000 {
		t.Fatalf("got %v %q %v", exp, id, err)
	}
	for _, bad := range []string{"", ":", "1:", ":alice", "alice", "-1:alice", "+1:alice", " 1:alice",
		"1700000000:al:ice", "99999999999999999999:alice", "1e9:alice", "1700000000:" + strings.Repeat("a", 1000)} {
		if _, _, err := ParseUsername(bad); err == nil {
			t.Errorf("ParseUsername(%q) accepted", bad)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	f.Add("1700000000:alice")
	f.Fuzz(func(t *testing.T, s string) {
		exp, id, err := ParseUsername(s)
		if err != nil {
			return
		}
		// What parses names a valid user and survives a round trip.
		exp2, id2, err := ParseUsername(Username(exp, id))
		if err != nil || id2 != id || !exp2.Equal(exp) {
			t.Fatalf("%q -> %v %q -> %v %q %v", s, exp, id, exp2, id2, err)
		}
	})
}

// With LoggedIn set, a valid credential allocates only while its user is
// logged in.
func TestCredentialNeedsLogin(t *testing.T) {
	var mu sync.Mutex
	online := map[string]bool{"alice": true}
	s := startRelay(t, Config{LoggedIn: func(u string) bool { mu.Lock(); defer mu.Unlock(); return online[u] }})
	ice := s.ICEServer("alice")
	rc, err := allocate(t, s, ice.Username, ice.Credential)
	if err != nil {
		t.Fatalf("logged-in user refused: %v", err)
	}
	_ = rc.Close()
	mu.Lock()
	online["alice"] = false
	mu.Unlock()
	if rc, err := allocate(t, s, ice.Username, ice.Credential); err == nil {
		_ = rc.Close()
		t.Error("credential of a logged-out user: allocation granted")
	}
}

// relayBurst sends n datagrams of size bytes from a user's allocation on s
// to a peer socket and returns how many arrive.
func relayBurst(t *testing.T, s *Server, user string, n, size int) int {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	ice := s.ICEServer(user)
	rc, err := allocate(t, s, ice.Username, ice.Credential)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	msg := make([]byte, size)
	for range n {
		if _, err := rc.WriteTo(msg, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 2048)
	for {
		_ = peer.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, _, err := peer.ReadFrom(buf); err != nil {
			return got
		}
		got++
	}
}

// A user's relayed traffic is capped at UserBitrate: a 100 kB burst through
// a 80 kbit/s budget (a quarter second of burst) mostly does not pass; with
// no cap it all does.
func TestUserBitrateCap(t *testing.T) {
	capped := startRelay(t, Config{UserBitrate: 80_000})
	got := relayBurst(t, capped, "mallory", 100, 1000)
	if got > 10 || got == 0 {
		t.Errorf("%d of 100 1000-byte datagrams relayed under a 10 kB/s cap, want a few (the burst)", got)
	}
	if d := capped.Dropped(); d < 80 {
		t.Errorf("Dropped = %d, want the rest of the 100", d)
	}
	free := startRelay(t, Config{UserBitrate: -1})
	if got := relayBurst(t, free, "alice", 100, 1000); got < 90 {
		t.Errorf("%d of 100 datagrams relayed with no cap", got)
	}
}

// With TLS, the relay also serves turns: on its own port, named in the
// ICE server entry by the certificate's DNS name; an allocation over it
// works for a client that trusts the certificate.
func TestTLS(t *testing.T) {
	files := testcert.Write(t)
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	s := startRelay(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	ice := s.ICEServer("carol")
	port := s.TLSAddr().(*net.TCPAddr).Port
	want := fmt.Sprintf("turns:localhost:%d?transport=tcp", port)
	if len(ice.URLs) != 3 || ice.URLs[2] != want {
		t.Fatalf("URLs %v, want %s last", ice.URLs, want)
	}
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tc, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS to the relay: %v", err)
	}
	if err := allocateOverStream(t, tc, s.TLSAddr().String(), ice.Username, ice.Credential); err != nil {
		t.Fatalf("allocation over TLS: %v", err)
	}
	// A client that does not trust the certificate gets no further.
	if bad, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12}); err == nil {
		_ = bad.Close()
		t.Error("TLS handshake succeeded without trusting the test CA")
	}
}

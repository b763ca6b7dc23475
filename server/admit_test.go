package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/server/proto"
)

// tryDial dials the server from a loopback source address (the whole of
// 127/8 is local on Linux, so each one counts as another IP) with an
// optional resume query. A refused dial returns the HTTP status.
func tryDial(t *testing.T, s *Server, from, user, session string) (*client, int) {
	t.Helper()
	url := s.URL()
	if session != "" {
		var err error
		if url, err = proto.ResumeURL(url, user, session); err != nil {
			t.Fatal(err)
		}
	}
	d := websocket.Dialer{
		HandshakeTimeout: patience,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
	}
	ws, resp, err := d.Dial(url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After")
		}
		return nil, resp.StatusCode
	}
	c := newClient(t, ws)
	c.user, c.session = user, session
	return c, http.StatusSwitchingProtocols
}

func mustDial(t *testing.T, s *Server, from string) *client {
	t.Helper()
	c, code := tryDial(t, s, from, "", "")
	if c == nil {
		t.Fatalf("dial from %s refused with HTTP %d", from, code)
	}
	return c
}

func mustRefuse(t *testing.T, s *Server, from, user, session string) {
	t.Helper()
	if c, code := tryDial(t, s, from, user, session); c != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("dial from %s (%s %q): HTTP %d, want 503", from, user, session, code)
	}
}

func (c *client) loginAs(user, session string) (proto.LoginReply, *proto.Error) {
	c.t.Helper()
	c.user, c.session = user, session
	raw, perr := c.request(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: user, UserSig: sig(c.t, user), SessionID: session})
	var rep proto.LoginReply
	if perr == nil {
		if err := json.Unmarshal(raw, &rep); err != nil {
			c.t.Fatal(err)
		}
	}
	return rep, perr
}

// TestLoginDeadline: sockets that answer pings but never log in are closed
// at the deadline with 4008; logged-in ones stay.
func TestLoginDeadline(t *testing.T) {
	s := runServer(t, func(o *Options) {
		o.LoginTimeout = 200 * time.Millisecond
		o.PingInterval = 50 * time.Millisecond // idle sockets answer pings all along
	})
	idle := []*client{dial(t, s), dial(t, s), dial(t, s)}
	failing := dial(t, s) // failed logins do not stop the clock
	failing.fail(proto.CodeInvalidUserSig, proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: "x"})
	a := login(t, s, "alice")
	// Pings run on real time; answering them is not logging in. (A ping
	// also shows that the server has armed the connection's deadline.)
	for _, c := range append(idle, failing) {
		waitFor(t, "a ping answered", func() bool { return c.pings.Load() > 0 })
	}
	clockOf(t, s).Advance(200 * time.Millisecond)
	for _, c := range append(idle, failing) {
		if code := c.closeCode(); code != proto.CloseLoginTimeout {
			t.Fatalf("idle socket closed with %d, want %d", code, proto.CloseLoginTimeout)
		}
	}
	a.do(proto.TypePing, nil, nil) // past its deadline, and still here
	waitForNoPending(t, s)
}

func waitForNoPending(t *testing.T, s *Server) {
	t.Helper()
	waitFor(t, "no connection waiting to log in", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pendingTotal == 0 && len(s.pendingByAddr) == 0 && s.reserveUsed == 0 && len(s.reserved) == 0
	})
}

// TestPendingCaps: the per-IP and total caps refuse the next socket with
// 503 before the upgrade; logging in frees the slot.
func TestPendingCaps(t *testing.T) {
	s := runServer(t, func(o *Options) { o.MaxPendingPerIP = 2; o.MaxPending = 4 })
	first := mustDial(t, s, "127.0.0.1")
	mustDial(t, s, "127.0.0.1")
	mustRefuse(t, s, "127.0.0.1", "", "") // per IP
	mustDial(t, s, "127.0.0.2")
	mustDial(t, s, "127.0.0.3")
	mustRefuse(t, s, "127.0.0.4", "", "") // in total
	mustRefuse(t, s, "127.0.0.2", "", "")

	// A logged-in connection no longer counts.
	if _, perr := first.loginAs("alice", randomID()); perr != nil {
		t.Fatal(perr)
	}
	mustDial(t, s, "127.0.0.1")
	mustRefuse(t, s, "127.0.0.1", "", "")
	// Neither does a closed one.
	first.close()
	mustRefuse(t, s, "127.0.0.5", "", "")
	// Plain HTTP requests to /ws are not counted and get 400.
	resp, err := http.Get("http" + s.URL()[len("ws"):])
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: HTTP %d", resp.StatusCode)
	}
}

// TestReconnectThroughReserve: while strangers fill the caps, a logged-in
// user whose connection drops reconnects through the real signal client
// (which names its session in the URL) and resumes its call; once the
// deadline reaps the strangers, a fresh login works again.
func TestReconnectThroughReserve(t *testing.T) {
	s := runServer(t, func(o *Options) {
		o.MaxPendingPerIP, o.MaxPending = 2, 2
		o.LoginTimeout = 1500 * time.Millisecond
		o.Grace = 3 * time.Second
	})
	b := login(t, s, "bob")

	const sid = "3f1e0c9a6b2d4e8f9a7c5b3d1e0f2a4c" // 128 bits, as the engine makes them
	req := proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: sig(t, "alice"), SessionID: sid}
	resumed := make(chan proto.LoginReply, 4)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	a, err := signal.Dial(ctx, signal.Config{
		URL:          s.URL(),
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		OnReconnect: func(ctx context.Context, conn *signal.Conn) error {
			return conn.Request(ctx, proto.TypeLogin, req, func(body json.RawMessage) error {
				var rep proto.LoginReply
				if err := json.Unmarshal(body, &rep); err != nil {
					return err
				}
				resumed <- rep
				return nil
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	if err := a.Request(ctx, proto.TypeLogin, req, nil); err != nil {
		t.Fatal(err)
	}
	var rep proto.InviteReply
	if err := a.Request(ctx, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio}, func(body json.RawMessage) error {
		return json.Unmarshal(body, &rep)
	}); err != nil {
		t.Fatal(err)
	}
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)

	// Strangers fill the caps.
	strangers := []*client{mustDial(t, s, "127.0.0.1"), mustDial(t, s, "127.0.0.2")}
	mustRefuse(t, s, "127.0.0.3", "", "")
	// Naming a session does not help without the right sessionID.
	mustRefuse(t, s, "127.0.0.3", "alice", sid[:31]+"0")
	mustRefuse(t, s, "127.0.0.3", "bob", sid)
	mustRefuse(t, s, "127.0.0.3", "nobody", sid)

	a.DropConnection()
	var got proto.LoginReply
	select {
	case got = <-resumed:
	case <-time.After(patience):
		t.Fatal("the signal client did not get back in")
	}
	if !got.Resumed || got.Room == nil || got.Room.RoomID != rep.RoomID {
		t.Fatalf("resume reply %+v", got)
	}
	mustRefuse(t, s, "127.0.0.3", "", "") // the caps were full all along
	b.expectNone(proto.TypeMemberLeft)
	// The reply came inside the hook; the link counts as up once it returns.
	waitFor(t, "alice's link is up", a.Connected)
	if err := a.Request(ctx, proto.TypeRelay, proto.Relay{To: "bob", Payload: json.RawMessage(`"back"`)}, nil); err != nil {
		t.Fatal(err)
	}
	b.expect(proto.TypeRelay, nil)

	// The deadline reaps the strangers; then anyone can log in again.
	for _, c := range strangers {
		c.sync() // its reader runs, so its deadline is armed
	}
	clockOf(t, s).Advance(1500 * time.Millisecond)
	for _, c := range strangers {
		if code := c.closeCode(); code != proto.CloseLoginTimeout {
			t.Fatalf("stranger closed with %d", code)
		}
	}
	waitForNoPending(t, s) // the server frees a slot once the close handshake is done
	carol := mustDial(t, s, "127.0.0.3")
	if _, perr := carol.loginAs("carol", randomID()); perr != nil {
		t.Fatal(perr)
	}
}

// TestReserveAbuse: one reserve slot per session (a newer reconnect
// replaces an older one), the reserve has a total, a reserve connection
// may only resume the session it named, and it has the login deadline too.
func TestReserveAbuse(t *testing.T) {
	s := runServer(t, func(o *Options) {
		o.MaxPendingPerIP, o.MaxPending = 1, 1
		o.ReserveConns = 2
		o.LoginTimeout = time.Second
	})
	aSID, bSID, cSID := randomSessionID(), randomSessionID(), randomSessionID()
	a := loginSession(t, s, "alice", aSID)
	loginSession(t, s, "bob", bSID)
	loginSession(t, s, "carol", cSID)
	loginSession(t, s, "dave", "short")
	mustDial(t, s, "127.0.0.1") // the caps are full
	mustRefuse(t, s, "127.0.0.2", "", "")
	// A short sessionID never qualifies for the reserve.
	mustRefuse(t, s, "127.0.0.2", "dave", "short")

	// Two reserve dials for alice: the newer one replaces the older.
	old, _ := tryDial(t, s, "127.0.0.2", "alice", aSID)
	if old == nil {
		t.Fatal("alice's reconnect refused")
	}
	newer, _ := tryDial(t, s, "127.0.0.2", "alice", aSID)
	if newer == nil {
		t.Fatal("alice's second reconnect refused")
	}
	if code := old.closeCode(); code != websocket.CloseNormalClosure {
		t.Fatalf("superseded reconnect closed with %d", code)
	}
	// The reserve holds two: bob gets the second slot (the superseded one
	// is gone by now), carol finds it full and the caps full too.
	waitFor(t, "superseded slot freed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.reserveUsed == 1
	})
	bobBack, _ := tryDial(t, s, "127.0.0.3", "bob", bSID)
	if bobBack == nil {
		t.Fatal("bob's reconnect refused")
	}
	mustRefuse(t, s, "127.0.0.4", "carol", cSID)

	// A reserve connection resumes the session it named, nothing else.
	if _, perr := bobBack.loginAs("carol", cSID); perr == nil || perr.Code != proto.CodeBadRequest {
		t.Fatalf("login as carol on bob's reserve slot: %v", perr)
	}
	if _, perr := bobBack.loginAs("bob", randomSessionID()); perr == nil || perr.Code != proto.CodeBadRequest {
		t.Fatalf("login with another session on bob's reserve slot: %v", perr)
	}
	if rep, perr := newer.loginAs("alice", aSID); perr != nil || !rep.Resumed {
		t.Fatalf("alice's resume: %+v %v", rep, perr)
	}
	if code := a.closeCode(); code != websocket.CloseNormalClosure {
		t.Fatalf("alice's old connection closed with %d", code)
	}
	// And a reserve connection that never logs in meets the deadline.
	clockOf(t, s).Advance(time.Second)
	if code := bobBack.closeCode(); code != proto.CloseLoginTimeout {
		t.Fatalf("idle reserve connection closed with %d", code)
	}
}

func TestMaxPendingDefault(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		known bool
		want  int
	}{
		{1024, true, 256}, // the machine from the bug report: 768 fds left for users
		{20000, true, 5000},
		{40, true, minDefaultPending},
		{1 << 30, true, maxDefaultPending},
		{1<<63 - 1, true, fallbackMaxPending}, // RLIM_INFINITY
		{0, false, fallbackMaxPending},
	} {
		if got := maxPendingFor(tc.limit, tc.known); got != tc.want {
			t.Errorf("maxPendingFor(%d, %v) = %d, want %d", tc.limit, tc.known, got, tc.want)
		}
	}
	limit, ok := openFileLimit()
	if !ok || limit == 0 {
		t.Fatalf("openFileLimit = %d, %v", limit, ok)
	}
	if d := DefaultOptions(); d.MaxPending != maxPendingFor(limit, ok) || d.MaxPending >= int(min(limit, 1<<20)) {
		t.Fatalf("default MaxPending %d with an fd limit of %d", d.MaxPending, limit)
	}
	o := testOptions()
	o.MaxPending, o.LoginTimeout = -1, 0
	if _, err := New(o); err == nil {
		t.Fatal("negative MaxPending accepted")
	}
	o = testOptions()
	o.LoginTimeout = -time.Second
	if _, err := New(o); err == nil {
		t.Fatal("negative LoginTimeout accepted")
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000":              "127.0.0.1",
		"[::ffff:10.1.2.3]:80":        "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:443":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443":  "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":            "fe80::/64",
		"not an address":              "not an address",
		"[::1]:9":                     "::/64",
		"@":                           "@",
		"10.0.0.1":                    "10.0.0.1",
		"[2001:db8:9::1]:1":           "2001:db8:9::/64",
		"[2001:db8:9:0:0:0:0:2]:1234": "2001:db8:9::/64",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}

package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// refusal dials s (naming a session if session is set) and wants it
// refused: it returns the 503's reason.
func refusal(t *testing.T, s *Server, user, session string) string {
	t.Helper()
	url := s.URL()
	if session != "" {
		var err error
		if url, err = proto.ResumeURL(url, user, session); err != nil {
			t.Fatal(err)
		}
	}
	d := websocket.Dialer{HandshakeTimeout: patience}
	ws, resp, err := d.Dial(url, nil)
	if err == nil {
		_ = ws.Close()
		t.Fatalf("dial (%s %q) admitted, want 503", user, session)
	}
	if resp == nil {
		t.Fatalf("dial (%s %q): %v, want 503", user, session, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("dial (%s %q): HTTP %d Retry-After %q, want 503 and 2", user, session, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	return strings.TrimSpace(string(b))
}

func waitForOpen(t *testing.T, s *Server, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d open sockets", n), func() bool { return int(s.openConns.Load()) == n })
}

// TestMaxConns fills MaxConns with logged-in users and strangers: past
// MaxConns minus the reconnect room strangers are refused, reconnects of
// live sessions still get in up to MaxConns, and closing frees slots.
func TestMaxConns(t *testing.T) {
	const maxConns, room = 8, 2
	s := runServer(t, func(o *Options) {
		o.MaxConns, o.ReserveConns = maxConns, room
		o.Grace = patience
	})
	users := make([]*client, maxConns-room)
	for i := range users {
		users[i] = login(t, s, fmt.Sprintf("u%d", i))
	}
	waitForOpen(t, s, maxConns-room)
	const near = "server near its connection limit"
	if got := refusal(t, s, "", ""); got != near {
		t.Fatalf("stranger refused with %q, want %q", got, near)
	}
	// A session that is not live, or a wrong sessionID, is a stranger.
	if got := refusal(t, s, "u0", strings.Repeat("0", 32)); got != near {
		t.Fatalf("wrong session refused with %q, want %q", got, near)
	}

	// A stranger may take a slot a dropped user freed...
	users[0].drop()
	waitForOpen(t, s, maxConns-room-1)
	stranger := mustDial(t, s, "127.0.0.2")
	defer stranger.close()
	// ...but reconnects of live sessions use the room, up to MaxConns.
	for _, i := range []int{0, 1} {
		if i > 0 {
			users[i].drop()
		}
		waitForGrace(t, s, users[i].user)
		c, code := tryDial(t, s, "127.0.0.1", users[i].user, users[i].session)
		if c == nil {
			t.Fatalf("reconnect of %s refused with HTTP %d", users[i].user, code)
		}
		if _, perr := c.loginAs(users[i].user, users[i].session); perr != nil {
			t.Fatalf("resume %s: %v", users[i].user, perr)
		}
		users[i] = c
		waitForOpen(t, s, maxConns-room+1)
		if got := refusal(t, s, "", ""); got != near {
			t.Fatalf("stranger refused with %q, want %q", got, near)
		}
		// The refused socket counts until the server has closed it,
		// which may be after the client read the 503.
		waitForOpen(t, s, maxConns-room+1)
	}
	// One more reconnect dial reaches MaxConns; past it even reconnects wait.
	extra := mustDialResume(t, s, users[3])
	defer extra.close()
	waitForOpen(t, s, maxConns)
	const at = "server at its connection limit"
	if got := refusal(t, s, users[4].user, users[4].session); got != at {
		t.Fatalf("reconnect past MaxConns refused with %q, want %q", got, at)
	}

	// Logging out and closing frees slots for anyone.
	users[5].do(proto.TypeLogout, struct{}{}, nil)
	users[5].close()
	users[4].close()
	extra.close()
	waitForOpen(t, s, maxConns-room-1)
	mustDial(t, s, "127.0.0.3").close()
	// /healthz is not a websocket: it answers at the cap as well.
	resp, err := http.Get(strings.Replace(strings.TrimSuffix(s.URL(), "/ws"), "ws://", "http://", 1) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: HTTP %d", resp.StatusCode)
	}
}

// mustDialResume dials naming c's session without logging in: a second
// reconnect of a live session, which holds a socket.
func mustDialResume(t *testing.T, s *Server, c *client) *client {
	t.Helper()
	d, code := tryDial(t, s, "127.0.0.1", c.user, c.session)
	if d == nil {
		t.Fatalf("reconnect dial of %s refused with HTTP %d", c.user, code)
	}
	return d
}

func TestMaxConnsDefault(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		known bool
		want  int
	}{
		{0, false, fallbackMaxConns},
		{1 << 63, true, fallbackMaxConns},
		{50, true, minDefaultConns},
		{128, true, 64},
		{256, true, 192},
		{1024, true, 960},
		{1 << 20, true, 1<<20 - 1<<16},
	} {
		if got := maxConnsFor(tc.limit, tc.known); got != tc.want {
			t.Errorf("maxConnsFor(%d, %v) = %d, want %d", tc.limit, tc.known, got, tc.want)
		}
	}
	limit, err := RaiseOpenFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := openFileLimit(); !ok || got != limit {
		t.Fatalf("openFileLimit() = %d %v after raising it to %d", got, ok, limit)
	}
	if got := DefaultMaxConns(); got != maxConnsFor(limit, true) {
		t.Fatalf("DefaultMaxConns() = %d with limit %d", got, limit)
	}
}

type failingListener struct {
	net.Listener
	err error
}

func (l failingListener) Accept() (net.Conn, error) { return nil, l.err }

// TestAcceptEMFILE: a failing accept is returned for net/http to back off
// on, and warned about once, not once per retry.
func TestAcceptEMFILE(t *testing.T) {
	var buf bytes.Buffer
	var open atomic.Int64
	l := &countingListener{
		Listener: failingListener{err: &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}},
		open:     &open,
		log:      slog.New(slog.NewTextHandler(&buf, nil)),
	}
	for range 5 {
		if _, err := l.Accept(); !errors.Is(err, syscall.EMFILE) {
			t.Fatalf("Accept: %v, want EMFILE", err)
		}
	}
	if n := strings.Count(buf.String(), "out of file descriptors"); n != 1 || !strings.Contains(buf.String(), "times=1") {
		t.Fatalf("%d warnings for 5 failed accepts, want 1:\n%s", n, buf.String())
	}
}

// TestHardCap: TCP connections that never send a request are closed at
// accept past the hard cap instead of holding fds; once they go, dials
// get in again.
func TestHardCap(t *testing.T) {
	const maxConns = 8
	s := runServer(t, func(o *Options) { o.MaxConns = maxConns })
	hard := int(s.opts.hardCap())
	if hard != maxConns+hardCapSlack {
		t.Fatalf("hard cap %d, want %d", hard, maxConns+hardCapSlack)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(s.URL(), "ws://"), "/ws")
	var raw []net.Conn
	defer func() {
		for _, c := range raw {
			_ = c.Close()
		}
	}()
	for range hard {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, c)
	}
	waitForOpen(t, s, hard)
	c, err := net.Dial("tcp", addr) // the kernel accepts it; the server cuts it
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a socket past the hard cap: read %v, want it closed", err)
	}
	waitForOpen(t, s, hard) // the cut one is not counted
	for _, c := range raw {
		_ = c.Close()
	}
	raw = nil
	waitForOpen(t, s, 0)
	mustDial(t, s, "127.0.0.1").close()
}

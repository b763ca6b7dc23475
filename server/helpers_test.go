package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

const (
	testAppID  = 1400000001
	testSecret = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	// patience bounds every wait for a frame that must come; on a loaded
	// machine it is generous, and passing tests never wait for it.
	patience = 10 * time.Second
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testGroups are the IM groups of every test server.
func testGroups() map[string][]string {
	return map[string][]string{
		"team":  {"alice", "bob", "carol", "dave"},
		"other": {"erin", "frank"},
	}
}

func testOptions() Options {
	o := DefaultOptions()
	o.Addr = "127.0.0.1:0"
	o.SDKAppID = testAppID
	o.Secret = testSecret
	o.Grace = 300 * time.Millisecond
	o.Groups = testGroups()
	// Timers fire only when a test advances the clock (clockOf), so a
	// test proves that one fired or not without waiting for it.
	o.Clock = newFakeClock()
	if os.Getenv("TERMCALL_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

// runServer starts a real server on a free port; it is shut down when the
// test ends.
func runServer(t testing.TB, mod func(*Options)) *Server {
	t.Helper()
	o := testOptions()
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func sig(t testing.TB, user string) string {
	t.Helper()
	tok, err := usersig.GenerateNow(testSecret, testAppID, user, time.Hour)
	if err != nil {
		t.Fatalf("usersig: %v", err)
	}
	return tok
}

// client is a test websocket client. A reader goroutine queues every frame;
// the test goroutine takes them out by id (replies) or type (pushes).
type client struct {
	t       testing.TB
	ws      *websocket.Conn
	user    string
	session string
	nextID  uint64

	mu      sync.Mutex
	queue   []proto.Frame
	notify  chan struct{}
	done    chan struct{}
	readErr error
	pings   atomic.Int32 // websocket pings answered
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	return dialURL(t, s.URL())
}

func dialURL(t testing.TB, url string) *client {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return newClient(t, ws)
}

// newClient starts the reader of a dialed connection; it is closed when
// the test ends.
func newClient(t testing.TB, ws *websocket.Conn) *client {
	t.Helper()
	c := &client{t: t, ws: ws, notify: make(chan struct{}, 1), done: make(chan struct{})}
	// gorilla's default ping handler, counting (set before the reader runs).
	ws.SetPingHandler(func(data string) error {
		c.pings.Add(1)
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			c.wake()
			return
		}
		var f proto.Frame
		if err := json.Unmarshal(data, &f); err != nil {
			f = proto.Frame{Type: "!undecodable", Body: json.RawMessage(`null`)}
		}
		c.mu.Lock()
		c.queue = append(c.queue, f)
		c.mu.Unlock()
		c.wake()
	}
}

func (c *client) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *client) close() {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = c.ws.Close()
	<-c.done
}

// drop cuts the TCP connection without a close frame, like a network failure.
func (c *client) drop() {
	_ = c.ws.NetConn().Close()
	<-c.done
}

// take waits up to d for the first queued frame that match accepts.
func (c *client) take(d time.Duration, match func(proto.Frame) bool) (proto.Frame, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, f := range c.queue {
			if match(f) {
				c.queue = slices.Delete(c.queue, i, i+1)
				c.mu.Unlock()
				return f, true
			}
		}
		ended := c.readErr != nil
		c.mu.Unlock()
		if ended {
			return proto.Frame{}, false
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return proto.Frame{}, false
		}
	}
}

func (c *client) sendRaw(typ string, id uint64, body any) {
	c.t.Helper()
	b, err := proto.Encode(typ, id, body)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("%s: write %s: %v", c.user, typ, err)
	}
}

// request sends a request and waits for its answer.
func (c *client) request(typ string, body any) (json.RawMessage, *proto.Error) {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	c.sendRaw(typ, id, body)
	return c.answer(id)
}

func (c *client) answer(id uint64) (json.RawMessage, *proto.Error) {
	c.t.Helper()
	f, ok := c.take(patience, func(f proto.Frame) bool {
		return f.ID == id && (f.Type == proto.TypeReply || f.Type == proto.TypeError)
	})
	if !ok {
		c.t.Fatalf("%s: no answer to request %d", c.user, id)
	}
	if f.Type == proto.TypeError {
		var e proto.Error
		if err := json.Unmarshal(f.Body, &e); err != nil {
			c.t.Fatalf("error body: %v", err)
		}
		return nil, &e
	}
	return f.Body, nil
}

// do sends a request that must succeed and decodes its reply into out.
func (c *client) do(typ string, body, out any) {
	c.t.Helper()
	raw, perr := c.request(typ, body)
	if perr != nil {
		c.t.Fatalf("%s: %s failed: %v", c.user, typ, perr)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s: %s reply %s: %v", c.user, typ, raw, err)
		}
	}
}

// fail sends a request that must fail with code.
func (c *client) fail(code int, typ string, body any) {
	c.t.Helper()
	_, perr := c.request(typ, body)
	if perr == nil {
		c.t.Fatalf("%s: %s succeeded, want error %d", c.user, typ, code)
	}
	if perr.Code != code {
		c.t.Fatalf("%s: %s: got error %d (%s), want %d", c.user, typ, perr.Code, perr.Message, code)
	}
}

// expect waits for a push of type typ and decodes its body into out.
func (c *client) expect(typ string, out any) proto.Frame {
	c.t.Helper()
	f, ok := c.take(patience, func(f proto.Frame) bool { return f.Type == typ && f.ID == 0 })
	if !ok {
		c.t.Fatalf("%s: no %s push (queue %s)", c.user, typ, c.pending())
	}
	if out != nil {
		if err := json.Unmarshal(f.Body, out); err != nil {
			c.t.Fatalf("%s: %s body %s: %v", c.user, typ, f.Body, err)
		}
	}
	return f
}

// expectNone checks that no push of type typ has come, after a sync: a
// frame the server would have sent for anything that happened before
// (including timers the fake clock has fired) has arrived by then.
func (c *client) expectNone(typ string) {
	c.t.Helper()
	c.sync()
	if f, ok := c.take(0, func(f proto.Frame) bool { return f.Type == typ && f.ID == 0 }); ok {
		c.t.Fatalf("%s: unexpected %s push: %s", c.user, typ, f.Body)
	}
}

// sync makes a ping round trip. Its reply comes after every frame that
// earlier state changes sent this connection: a transaction queues its
// frames before the next one's (tx.go), the ping is one, and the queue
// is written in order.
func (c *client) sync() {
	c.t.Helper()
	if _, perr := c.request(proto.TypePing, nil); perr != nil {
		c.t.Fatalf("%s: sync ping: %v", c.user, perr)
	}
}

// expectSeq checks the order of the next pushes (presence pushes aside).
func (c *client) expectSeq(types ...string) []proto.Frame {
	c.t.Helper()
	out := make([]proto.Frame, 0, len(types))
	for _, want := range types {
		f, ok := c.take(patience, func(f proto.Frame) bool { return f.ID == 0 && f.Type != proto.TypePresence })
		if !ok {
			c.t.Fatalf("%s: no push, want %s (sequence %v)", c.user, want, types)
		}
		if f.Type != want {
			c.t.Fatalf("%s: got %s %s, want %s (sequence %v)", c.user, f.Type, f.Body, want, types)
		}
		out = append(out, f)
	}
	return out
}

func (c *client) pending() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s string
	for _, f := range c.queue {
		s += f.Type + " "
	}
	return "[" + s + "]"
}

// closeCode waits for the server to close the connection and returns the
// close code it sent (-1 if the socket ended without a close frame).
func (c *client) closeCode() int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(patience):
		c.t.Fatalf("%s: connection not closed", c.user)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce *websocket.CloseError
	if errors.As(c.readErr, &ce) {
		return ce.Code
	}
	return -1
}

// login dials and logs user in with a fresh session.
func login(t testing.TB, s *Server, user string) *client {
	t.Helper()
	return loginSession(t, s, user, randomID())
}

func loginSession(t testing.TB, s *Server, user, session string) *client {
	t.Helper()
	c := dial(t, s)
	c.user, c.session = user, session
	var rep proto.LoginReply
	c.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: user, UserSig: sig(t, user), SessionID: session}, &rep)
	if rep.UserID != user || rep.SessionID != session {
		t.Fatalf("login reply %+v", rep)
	}
	return c
}

func body[T any](t testing.TB, f proto.Frame) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(f.Body, &v); err != nil {
		t.Fatalf("%s body %s: %v", f.Type, f.Body, err)
	}
	return v
}

// invite sends an invitation that must succeed.
func (c *client) invite(req proto.InviteRequest) proto.InviteReply {
	c.t.Helper()
	var rep proto.InviteReply
	c.do(proto.TypeInvite, req, &rep)
	return rep
}

// call sets up an answered 1:1 call from a to b and returns the room ID.
func call(t testing.TB, a, b *client, callType int) uint32 {
	t.Helper()
	rep := a.invite(proto.InviteRequest{Invitees: []string{b.user}, CallType: callType, Timeout: 30})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
	return rep.RoomID
}

// waitForGrace waits until the server has seen user's connection drop
// and started the session's grace period.
func waitForGrace(t testing.TB, s *Server, user string) {
	t.Helper()
	waitFor(t, user+"'s grace period", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		sess := s.sessions[user]
		return sess != nil && sess.conn == nil && sess.grace != nil
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

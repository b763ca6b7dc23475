package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/server/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeServer is a small websocket peer for transport tests only: it
// answers "echo" with the request body, "fail" with error 4090, "hold"
// only when released, "pushme" with a push and then a reply, and "big"
// with a frame over the size limit.
type fakeServer struct {
	srv     *httptest.Server
	conns   atomic.Int32
	mu      sync.Mutex
	live    []*websocket.Conn
	held    chan struct{}
	gotHold chan struct{}
	logins  atomic.Int32
	pingNow bool
	queries []string // each connection's URL query, in order
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	return startFakeServer(t, false)
}

// startFakeServer is newFakeServer, serving wss:// with httptest's
// certificate when tlsOn.
func startFakeServer(t *testing.T, tlsOn bool) *fakeServer {
	t.Helper()
	return startFakeServerOn(t, tlsOn, nil)
}

// startFakeServerOn is startFakeServer on listener ln (nil: a free port).
func startFakeServerOn(t *testing.T, tlsOn bool, ln net.Listener) *fakeServer {
	t.Helper()
	fs := &fakeServer{held: make(chan struct{}), gotHold: make(chan struct{}, 16)}
	up := websocket.Upgrader{}
	fs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		fs.conns.Add(1)
		fs.mu.Lock()
		fs.live = append(fs.live, ws)
		fs.queries = append(fs.queries, r.URL.RawQuery)
		ping := fs.pingNow
		fs.mu.Unlock()
		var wmu sync.Mutex
		send := func(typ string, id uint64, body any) {
			b, _ := proto.Encode(typ, id, body)
			wmu.Lock()
			defer wmu.Unlock()
			_ = ws.WriteMessage(websocket.TextMessage, b)
		}
		if ping {
			pong := make(chan string, 1)
			ws.SetPongHandler(func(s string) error { pong <- s; return nil })
			_ = ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
			go func() {
				select {
				case s := <-pong:
					send("ponged", 0, map[string]string{"data": s})
				case <-time.After(5 * time.Second):
				}
			}()
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				_ = ws.Close()
				return
			}
			f, err := proto.Decode(data)
			if err != nil {
				send(proto.TypeError, 0, proto.Errorf(proto.CodeMalformed, "bad"))
				continue
			}
			switch f.Type {
			case "login":
				fs.logins.Add(1)
				send(proto.TypeReply, f.ID, f.Body)
			case "echo":
				send(proto.TypeReply, f.ID, f.Body)
			case "logout":
				send(proto.TypeReply, f.ID, struct{}{})
			case "fail":
				send(proto.TypeError, f.ID, proto.Errorf(proto.CodeWrongState, "no"))
			case "pushme":
				send(proto.TypeReply, f.ID, map[string]int{"n": 1})
				send("note", 0, map[string]int{"n": 2})
			case "hold":
				fs.gotHold <- struct{}{}
				wg.Add(1)
				go func(id uint64) {
					defer wg.Done()
					<-fs.held
					send(proto.TypeReply, id, map[string]bool{"late": true})
				}(f.ID)
			case "big":
				wmu.Lock()
				_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"x","body":"`+strings.Repeat("a", proto.MaxFrameSize)+`"}`))
				wmu.Unlock()
			case "garbage":
				wmu.Lock()
				_ = ws.WriteMessage(websocket.TextMessage, []byte("not json"))
				_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2})
				wmu.Unlock()
				send(proto.TypeReply, f.ID, nil)
			}
		}
	}))
	if ln != nil {
		_ = fs.srv.Listener.Close()
		fs.srv.Listener = ln
	}
	if tlsOn {
		// The untrusting dial's handshake error is expected; keep it quiet.
		fs.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		fs.srv.StartTLS()
	} else {
		fs.srv.Start()
	}
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeServer) url() string { return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/ws" }

// dropAll closes every server-side connection.
func (fs *fakeServer) dropAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ws := range fs.live {
		_ = ws.Close()
	}
	fs.live = nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRequestReplyAndPush(t *testing.T) {
	fs := newFakeServer(t)
	pushes := make(chan proto.Frame, 10)
	var order []string
	var omu sync.Mutex
	c := dial(t, Config{URL: fs.url(), OnPush: func(f proto.Frame) {
		omu.Lock()
		order = append(order, "push:"+f.Type)
		omu.Unlock()
		pushes <- f
	}})
	ctx := context.Background()

	var got struct{ A int }
	err := c.Request(ctx, "echo", map[string]int{"a": 7}, func(b json.RawMessage) error { return json.Unmarshal(b, &got) })
	if err != nil || got.A != 7 {
		t.Fatalf("echo: %v %+v", err, got)
	}
	err = c.Request(ctx, "fail", nil, nil)
	var perr *proto.Error
	if !errors.As(err, &perr) || perr.Code != proto.CodeWrongState {
		t.Fatalf("fail: %v", err)
	}
	// The reply is applied before the push that followed it.
	err = c.Request(ctx, "pushme", nil, func(json.RawMessage) error {
		omu.Lock()
		order = append(order, "reply")
		omu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := <-pushes; f.Type != "note" {
		t.Fatalf("push %+v", f)
	}
	omu.Lock()
	if strings.Join(order, ",") != "reply,push:note" {
		t.Fatalf("order %v", order)
	}
	omu.Unlock()

	// Concurrent requests are matched to their own replies.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r struct{ I int }
			if err := c.Request(ctx, "echo", map[string]int{"i": i}, func(b json.RawMessage) error { return json.Unmarshal(b, &r) }); err != nil || r.I != i {
				t.Errorf("request %d: %v got %d", i, err, r.I)
			}
		}()
	}
	wg.Wait()

	// Malformed frames from the peer are skipped, not fatal.
	if err := c.Request(ctx, "garbage", nil, nil); err != nil {
		t.Fatalf("garbage: %v", err)
	}
	if err := c.Notify("echo", nil); err != nil {
		t.Fatalf("notify: %v", err)
	}
}

func TestContextEndsWaitButApplyStillRuns(t *testing.T) {
	fs := newFakeServer(t)
	c := dial(t, Config{URL: fs.url()})
	applied := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Request(ctx, "hold", nil, func(json.RawMessage) error { close(applied); return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hold: %v", err)
	}
	close(fs.held)
	select {
	case <-applied:
	case <-time.After(10 * time.Second):
		t.Fatal("late reply was not applied")
	}
}

func TestReadLimit(t *testing.T) {
	fs := newFakeServer(t)
	lost := make(chan error, 1)
	c := dial(t, Config{URL: fs.url(), ReconnectMin: time.Hour, OnDisconnect: func(err error) { lost <- err }})
	err := c.Request(context.Background(), "big", nil, nil)
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("big: %v", err)
	}
	if err := <-lost; !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("disconnect cause: %v", err)
	}
}

func TestReconnectResumeHook(t *testing.T) {
	fs := newFakeServer(t)
	hookRan := make(chan struct{}, 4)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	c := dial(t, Config{
		URL: fs.url(), ReconnectMin: 10 * time.Millisecond, ReconnectMax: 40 * time.Millisecond,
		OnReconnect: func(ctx context.Context, conn *Conn) error {
			// Ordinary requests wait until the hook is done.
			hookRan <- struct{}{}
			<-release
			return conn.Request(ctx, "login", map[string]string{"sessionID": "s1"}, nil)
		},
	})
	// After dial's: cleanups run last first, and the client's close waits
	// for a hook that a failed check would leave blocked.
	t.Cleanup(unblock)
	ctx := context.Background()
	if err := c.Request(ctx, "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	fs.dropAll()
	<-hookRan
	// A request made while resuming (an accept of an invitation pushed in
	// that window) waits for the resume and then goes out, after it.
	waited := make(chan error, 1)
	go func() { waited <- c.Request(ctx, "echo", nil, nil) }()
	select {
	case err := <-waited:
		t.Fatalf("request while resuming returned before the resume: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := c.Request(short, "echo", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request while resuming, its context ending first: %v", err)
	}
	// Notify never blocks: it still fails at once.
	if err := c.Notify("echo", nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("notify while resuming: %v", err)
	}
	unblock()
	if err := <-waited; err != nil {
		t.Fatalf("request made while resuming: %v", err)
	}
	if c.Reconnects() != 1 {
		t.Fatalf("the waiting request was answered before the resume (reconnects %d)", c.Reconnects())
	}
	if err := c.Request(ctx, "echo", nil, nil); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	if fs.logins.Load() != 1 || fs.conns.Load() != 2 {
		t.Fatalf("logins %d conns %d", fs.logins.Load(), fs.conns.Load())
	}
	// A second drop resumes again.
	fs.dropAll()
	eventually(t, "resumed twice", func() bool { return c.Reconnects() == 2 && c.Connected() })
}

func TestBackoffWhileServerDown(t *testing.T) {
	fs := newFakeServer(t)
	c := dial(t, Config{URL: fs.url(), ReconnectMin: 10 * time.Millisecond, ReconnectMax: 30 * time.Millisecond})
	// The client can be up before the server's handler has recorded the
	// socket; drop it only once it is there.
	eventually(t, "server side of the socket", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return len(fs.live) > 0
	})
	fs.srv.Close() // stops listening; hijacked websockets stay open
	fs.dropAll()
	eventually(t, "disconnected", func() bool { return !c.Connected() })
	if err := c.Request(context.Background(), "echo", nil, nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("request while down: %v", err)
	}
	// Close stops the redial loop promptly (goleak checks the goroutines).
	done := make(chan struct{})
	go func() { _ = c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung while redialing")
	}
	if err := c.Request(context.Background(), "echo", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestPingAnswered(t *testing.T) {
	fs := newFakeServer(t)
	fs.pingNow = true
	pushes := make(chan proto.Frame, 1)
	dial(t, Config{URL: fs.url(), OnPush: func(f proto.Frame) { pushes <- f }})
	select {
	case f := <-pushes:
		if f.Type != "ponged" || !strings.Contains(string(f.Body), "hi") {
			t.Fatalf("push %+v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server never got a pong")
	}
}

func TestDialFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Config{URL: "ws://127.0.0.1:1/ws"}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}

func TestPendingFailOnDrop(t *testing.T) {
	fs := newFakeServer(t)
	c := dial(t, Config{URL: fs.url(), ReconnectMin: time.Hour})
	errc := make(chan error, 1)
	go func() { errc <- c.Request(context.Background(), "hold", nil, nil) }()
	<-fs.gotHold
	fs.dropAll()
	if err := <-errc; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("pending request: %v", err)
	}
	close(fs.held)
}

// TestRedialNamesSession: after a login the client names its session in
// the redial URL (the server's reserve for reconnects); before a login and
// after a logout it does not, and a failed login changes nothing.
func TestRedialNamesSession(t *testing.T) {
	fs := newFakeServer(t)
	c := dial(t, Config{URL: fs.url() + "?v=1", ReconnectMin: 10 * time.Millisecond, ReconnectMax: 20 * time.Millisecond})
	ctx := context.Background()
	query := func(n int) string {
		t.Helper()
		eventually(t, fmt.Sprintf("connection %d", n), func() bool { return fs.conns.Load() >= int32(n) && c.Connected() })
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.queries[n-1]
	}
	if q := query(1); q != "v=1" {
		t.Fatalf("first dial query %q", q)
	}
	const sid = "0123456789abcdef0123456789abcdef"
	// The fake server echoes the login body, which fits a LoginReply.
	if err := c.Request(ctx, proto.TypeLogin, proto.LoginRequest{UserID: "bob", SessionID: sid}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Request(ctx, "fail", nil, nil); err == nil { // an error reply is no login
		t.Fatal("fail succeeded")
	}
	fs.dropAll()
	if q, want := query(2), "sessionID="+sid+"&userID=bob&v=1"; q != want {
		t.Fatalf("redial query %q, want %q", q, want)
	}
	if err := c.Request(ctx, proto.TypeLogout, nil, nil); err != nil {
		t.Fatal(err)
	}
	fs.dropAll()
	if q := query(3); q != "v=1" {
		t.Fatalf("redial after logout: query %q", q)
	}
}

// A request waiting for a resume that fails gets ErrNotConnected, not a
// hang, and the client redials.
func TestRequestWaitingForAFailedResume(t *testing.T) {
	fs := newFakeServer(t)
	hookRan := make(chan struct{}, 4)
	fail := make(chan struct{})
	var failOnce sync.Once
	var calls atomic.Int32
	c := dial(t, Config{
		URL: fs.url(), ReconnectMin: 10 * time.Millisecond, ReconnectMax: 40 * time.Millisecond,
		OnReconnect: func(ctx context.Context, conn *Conn) error {
			if calls.Add(1) == 1 {
				hookRan <- struct{}{}
				<-fail
				return errors.New("session gone")
			}
			return nil
		},
	})
	t.Cleanup(func() { failOnce.Do(func() { close(fail) }) }) // after dial's, as above
	fs.dropAll()
	<-hookRan
	waited := make(chan error, 1)
	go func() { waited <- c.Request(context.Background(), "echo", nil, nil) }()
	select {
	case err := <-waited:
		t.Fatalf("request while resuming returned before the resume ended: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	failOnce.Do(func() { close(fail) })
	select {
	case err := <-waited:
		if !errors.Is(err, ErrNotConnected) {
			t.Fatalf("request waiting for a failed resume: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request waiting for a failed resume hung")
	}
	eventually(t, "resumed on a later dial", func() bool { return c.Reconnects() == 1 && c.Connected() })
}

package signal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// closedAddr is a 127.0.0.1 address nothing listens on: a dead node,
// which refuses the TCP connect at once.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func wsURL(addr string) string { return "ws://" + addr + "/ws" }

// waitLive waits until fs holds n connections that dropAll can drop (the
// client can be up before the handler recorded its socket).
func (fs *fakeServer) waitLive(t *testing.T, n int) {
	t.Helper()
	eventually(t, "server side of the socket", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return len(fs.live) == n
	})
}

// kill stops fs as a crashed node does: no more listening, every
// connection dropped.
func (fs *fakeServer) kill() {
	fs.srv.Close()
	fs.dropAll()
}

// logBuffer collects a text logger's output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestDialSkipsDeadServer(t *testing.T) {
	live := newFakeServer(t)
	dead := wsURL(closedAddr(t))
	var logs logBuffer
	c := dial(t, Config{URLs: []string{dead, live.url()}, Logger: logs.logger()})
	if err := c.Request(context.Background(), "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	if c.ServerURL() != live.url() || live.conns.Load() != 1 {
		t.Fatalf("on %s with %d connections to the live server", c.ServerURL(), live.conns.Load())
	}
	if l := logs.String(); !strings.Contains(l, `msg="signaling connected" server=`+live.url()) {
		t.Fatalf("no log of the server reached:\n%s", l)
	}
}

func TestDialConfigAndAllDead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, cfg := range map[string]Config{
		"none":        {},
		"both":        {URL: "ws://a/ws", URLs: []string{"ws://b/ws"}},
		"empty entry": {URLs: []string{"ws://a/ws", ""}},
	} {
		if c, err := Dial(ctx, cfg); !errors.Is(err, ErrBadConfig) {
			if c != nil {
				_ = c.Close()
			}
			t.Errorf("%s: %v", name, err)
		}
	}
	a, b := wsURL(closedAddr(t)), wsURL(closedAddr(t))
	c, err := Dial(ctx, Config{URLs: []string{a, b}})
	if err == nil {
		_ = c.Close()
		t.Fatal("dial to two closed ports succeeded")
	}
	// The user learns what went wrong with each server, on one line.
	if msg := err.Error(); !strings.Contains(msg, "dial "+a+":") || !strings.Contains(msg, "dial "+b+":") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q", msg)
	}
}

// TestRedialSameServerFirst: a dropped connection whose node still runs
// goes back to that node (which holds the session), not to the next.
func TestRedialSameServerFirst(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	c := dial(t, Config{URLs: []string{a.url(), b.url()}, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 20 * time.Millisecond})
	a.waitLive(t, 1)
	a.dropAll()
	eventually(t, "reconnected", func() bool { return a.conns.Load() == 2 && c.Connected() })
	if c.ServerURL() != a.url() || b.conns.Load() != 0 {
		t.Fatalf("on %s, %d connections to the other node", c.ServerURL(), b.conns.Load())
	}
}

// TestFailoverRoundRobin: when its node dies the client goes on to the
// next one in the list, naming its session there too, and from the last
// one it wraps round to the first.
func TestFailoverRoundRobin(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	aAddr := strings.TrimPrefix(a.srv.URL, "http://")
	var logs logBuffer
	c := dial(t, Config{
		URLs:         []string{a.url(), b.url()},
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 20 * time.Millisecond,
		Logger: logs.logger(),
	})
	const sid = "0123456789abcdef0123456789abcdef"
	// The fake server echoes the login body, which fits a LoginReply.
	if err := c.Request(context.Background(), proto.TypeLogin, proto.LoginRequest{UserID: "bob", SessionID: sid}, nil); err != nil {
		t.Fatal(err)
	}
	resume := "sessionID=" + sid + "&userID=bob"

	a.kill()
	eventually(t, "failed over to b", func() bool { return c.ServerURL() == b.url() && c.Connected() })
	b.waitLive(t, 1)
	b.mu.Lock()
	q := b.queries
	b.mu.Unlock()
	if len(q) != 1 || q[0] != resume {
		t.Fatalf("queries on b: %q, want [%q]", q, resume)
	}
	if l := logs.String(); !strings.Contains(l, `msg="signaling failed over to another server" from=`+a.url()+" to="+b.url()) {
		t.Fatalf("no failover log:\n%s", l)
	}

	// a comes back on its address; b dies: the round wraps to a.
	ln, err := net.Listen("tcp", aAddr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", aAddr, err)
	}
	a2 := startFakeServerOn(t, false, ln)
	b.kill()
	eventually(t, "failed over back to a", func() bool { return a2.conns.Load() == 1 && c.Connected() })
	a2.mu.Lock()
	q = a2.queries
	a2.mu.Unlock()
	if c.ServerURL() != a.url() || len(q) != 1 || q[0] != resume {
		t.Fatalf("on %s, queries %q", c.ServerURL(), q)
	}
}

// TestBackoffPerRound: dead nodes in the list cost no backoff each; the
// delay is slept once per round, so the live node is reached within one.
func TestBackoffPerRound(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	const backoff = 800 * time.Millisecond
	urls := []string{a.url(), wsURL(closedAddr(t)), wsURL(closedAddr(t)), wsURL(closedAddr(t)), b.url()}
	c := dial(t, Config{URLs: urls, ReconnectMin: backoff, ReconnectMax: backoff})
	a.waitLive(t, 1)
	start := time.Now()
	a.kill()
	eventually(t, "failed over to b", func() bool { return c.ServerURL() == b.url() && c.Connected() })
	// One round waits backoff/2..backoff; a backoff per dead server would
	// be four of them, 1.6 s at the least.
	if d := time.Since(start); d > 2*backoff-200*time.Millisecond {
		t.Fatalf("failover took %v with a backoff of %v", d, backoff)
	}
}

// TestDialTimeoutOnSilentServer: a node that accepts TCP but never answers
// (hung) holds the client no longer than DialTimeout.
func TestDialTimeoutOnSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		for _, conn := range conns {
			_ = conn.Close()
		}
		mu.Unlock()
	})
	live := newFakeServer(t)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	c := dial(t, Config{URLs: []string{wsURL(ln.Addr().String()), live.url()}, DialTimeout: timeout})
	d := time.Since(start)
	if c.ServerURL() != live.url() || d < timeout || d > timeout+time.Second {
		t.Fatalf("on %s after %v (dial timeout %v)", c.ServerURL(), d, timeout)
	}
}

// TestFailoverPastRefusingNode: a node that takes the connection but
// fails the resume (its hook errs while the link is up) does not hold the
// client: the next round starts with the next node.
func TestFailoverPastRefusingNode(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	var self atomic.Pointer[Client]
	c := dial(t, Config{
		URLs:         []string{a.url(), b.url()},
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 20 * time.Millisecond,
		OnReconnect: func(ctx context.Context, conn *Conn) error {
			if self.Load().ServerURL() == a.url() {
				return conn.Request(ctx, "fail", nil, nil) // a answers with an error frame
			}
			return conn.Request(ctx, "login", map[string]string{"sessionID": "s1"}, nil)
		},
	})
	self.Store(c)
	a.waitLive(t, 1)
	a.dropAll() // a lives on, but will not resume
	eventually(t, "resumed on b", func() bool { return c.ServerURL() == b.url() && c.Reconnects() == 1 && c.Connected() })
	if n := a.conns.Load(); n != 2 {
		t.Fatalf("%d connections to a, want the first and one refused resume", n)
	}
}

package callcore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/internal/testserver"
	"github.com/termcall/termcall/server"
)

const (
	testAppID  = 1400000001
	testSecret = "callcore-test-secret"
	waitLimit  = 10 * time.Second
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs a real signaling server on a free port.
func startServer(t *testing.T, tweak func(*server.Options)) *server.Server {
	t.Helper()
	opts := server.Options{
		Addr:     "127.0.0.1:0",
		SDKAppID: testAppID,
		Secret:   testSecret,
		Groups:   map[string][]string{"team": {"alice", "bob", "carol", "dave"}},
		Grace:    5 * time.Second,
	}
	if tweak != nil {
		tweak(&opts)
	}
	srv := testserver.Start(t, opts)
	return srv
}

// recorder keeps every event an engine emits.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) all(name EventName) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, ev := range r.events {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, ev := range r.events {
		out[i] = string(ev.Name)
	}
	return out
}

// wait polls until the n-th (1-based) event called name arrived.
func (r *recorder) wait(t *testing.T, name EventName, n int) Event {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if evs := r.all(name); len(evs) >= n {
			return evs[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s #%d within %v; events: %v", name, n, waitLimit, r.names())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type client struct {
	*Engine
	rec  *recorder
	user string
}

func newClient(t *testing.T, url, user string, opts ...Option) *client {
	t.Helper()
	return newClientCfg(t, Config{ServerURL: url, SDKAppID: testAppID}, user, opts...)
}

func newClientCfg(t *testing.T, cfg Config, user string, opts ...Option) *client {
	t.Helper()
	e, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rec := &recorder{}
	e.Subscribe(rec.add)
	t.Cleanup(func() { _ = e.Close() })
	c := &client{Engine: e, rec: rec, user: user}
	if user != "" {
		c.login(t)
	}
	return c
}

func sig(t *testing.T, user string) string {
	t.Helper()
	s, err := usersig.GenerateNow(testSecret, testAppID, user, time.Hour)
	if err != nil {
		t.Fatalf("usersig: %v", err)
	}
	return s
}

func (c *client) login(t *testing.T) {
	t.Helper()
	if err := c.Login(ctx(t), c.user, sig(t, c.user)); err != nil {
		t.Fatalf("login %s: %v", c.user, err)
	}
	c.rec.wait(t, EventSDKReady, 1)
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return c
}

// waitState polls the engine's state.
func (c *client) waitState(t *testing.T, want State) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s, want %s; events: %v", c.user, c.State(), want, c.rec.names())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// data asserts an event's payload type.
func data[T any](t *testing.T, ev Event) T {
	t.Helper()
	v, ok := ev.Data.(T)
	if !ok {
		t.Fatalf("%s carries %T", ev.Name, ev.Data)
	}
	return v
}

// proxy is a TCP relay between engines and the server whose connections
// the test can cut, to play a network failure.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	paused bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, serverURL string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimSuffix(strings.TrimPrefix(serverURL, "ws://"), "/ws")
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return fmt.Sprintf("ws://%s/ws", p.ln.Addr()) }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.paused {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
		p.mu.Unlock()
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

// cut closes every relayed connection; paused refuses new ones meanwhile.
func (p *proxy) cut(paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = paused
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.cut(true)
	p.wg.Wait()
}

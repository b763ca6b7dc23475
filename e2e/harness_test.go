package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Settings every end-to-end test shares.
const (
	testSDKAppID = "1400000000"
	testSecret   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	// waitLong bounds an expected event: generous, because a loaded 2-core
	// machine runs several race-enabled processes at once.
	waitLong = 10 * time.Second
	// exitWait bounds how long a process may take to exit once told to.
	exitWait = 10 * time.Second
)

// syncBuffer collects a process's stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWriter splits what a process writes into lines and hands each to fn.
// exec copies the process's output into it and Wait waits for the copy.
type lineWriter struct {
	fn   func(line string)
	rest []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.rest = append(w.rest, p...)
	for {
		i := bytes.IndexByte(w.rest, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.fn(string(w.rest[:i]))
		w.rest = w.rest[i+1:]
	}
}

// proc is a running termcall process with its exit status.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	stdin  io.WriteCloser // nil unless asked for
	exited chan struct{}
	err    error // of Wait; set before exited is closed
}

// startProc starts bin with args. Its stdout goes to stdout; with withStdin
// it gets a stdin pipe (p.stdin), else /dev/null.
func startProc(t *testing.T, name, bin string, stdout io.Writer, withStdin bool, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, nil, name, bin, stdout, withStdin, args...)
}

// startProcEnv is startProc with env (KEY=VALUE) added to the environment.
func startProcEnv(t *testing.T, env []string, name, bin string, stdout io.Writer, withStdin bool, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = stdout
	p.cmd.Stderr = p.stderr
	// The race runtime sleeps 1 s at exit by default (atexit_sleep_ms),
	// which would add seconds to every test; reports still reach stderr.
	p.cmd.Env = append(append(os.Environ(), "GORACE=halt_on_error=0 atexit_sleep_ms=50"), env...)
	if withStdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatalf("stdin of %s: %v", name, err)
		}
		p.stdin = w
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// exitCode waits up to d for the process to exit and returns its status
// (-1 if it is still running).
func (p *proc) exitCode(d time.Duration) int {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// stop ends the process: politely with sig, then killed after d. It reports
// data races the race detector printed, and returns the exit status.
func (p *proc) stop(t *testing.T, sig os.Signal, d time.Duration) int {
	t.Helper()
	if sig != nil {
		_ = p.cmd.Process.Signal(sig) // fails only if it has exited already
	}
	// Not exitCode: a process killed by a signal also reports -1.
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Logf("%s did not exit within %v; killing it", p.name, d)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	code := p.cmd.ProcessState.ExitCode()
	if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
		t.Errorf("%s: the race detector found a data race:\n%s", p.name, p.stderr.String())
	}
	return code
}

// server is a running `termcall serve`.
type server struct {
	URL string
	p   *proc
}

// startServer runs `termcall serve` on a free port with the given IM groups
// and waits for its listening line.
func startServer(t *testing.T, groups map[string][]string) *server {
	t.Helper()
	return startServerArgs(t, groups)
}

// startServerArgs is startServer with extra `termcall serve` flags.
func startServerArgs(t *testing.T, groups map[string][]string, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	var toml strings.Builder
	toml.WriteString("[groups]\n")
	for name, members := range groups {
		q := make([]string, len(members))
		for i, m := range members {
			q[i] = fmt.Sprintf("%q", m)
		}
		fmt.Fprintf(&toml, "%s = [%s]\n", name, strings.Join(q, ", "))
	}
	groupsFile := filepath.Join(dir, "groups.toml")
	if err := os.WriteFile(groupsFile, []byte(toml.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	return runServe(t, "", append([]string{"--addr", "127.0.0.1:0", "--groups", groupsFile}, extra...)...)
}

// inNetns returns how to run the binary with args: directly, or, for a
// network namespace ns, through `ip netns exec` (which execs termcall
// itself, so signals reach it).
func inNetns(t *testing.T, ns string, args ...string) (prog string, argv []string) {
	t.Helper()
	if ns == "" {
		return needBinary(t), args
	}
	return "ip", append([]string{"netns", "exec", ns, needBinary(t)}, args...)
}

// runServe runs `termcall serve` with the test's SDKAppID and secret and
// args (an --addr among them), in namespace ns ("" = this one), and
// waits for its listening line.
func runServe(t *testing.T, ns string, args ...string) *server {
	t.Helper()
	return runServeVia(t, nil, ns, args...)
}

// runServeVia is runServe through a wrapper command that execs the
// binary, such as prlimit (via: its name and flags).
func runServeVia(t *testing.T, via []string, ns string, args ...string) *server {
	t.Helper()
	url := make(chan string, 1)
	listening := regexp.MustCompile(`^listening (wss?://\S+/ws)\s*$`)
	var stdout syncBuffer
	out := &lineWriter{fn: func(line string) {
		_, _ = stdout.Write([]byte(line + "\n"))
		if m := listening.FindStringSubmatch(line); m != nil {
			select {
			case url <- m[1]:
			default:
			}
		}
	}}
	s := &server{}
	prog, argv := inNetns(t, ns, append([]string{"serve", "--sdkappid", testSDKAppID, "--secret", testSecret, "--grace", "500ms"}, args...)...)
	if len(via) > 0 {
		prog, argv = via[0], append(append(via[1:len(via):len(via)], prog), argv...)
	}
	s.p = startProc(t, "server", prog, out, false, argv...)
	t.Cleanup(func() {
		code := s.p.stop(t, syscall.SIGTERM, exitWait)
		if t.Failed() || (code != 0 && code != -1) {
			t.Logf("server exit status %d; stdout:\n%s\nstderr:\n%s", code, stdout.String(), tail(s.p.stderr.String(), 4000))
		}
	})
	select {
	case s.URL = <-url:
		return s
	case <-s.p.exited:
		t.Fatalf("termcall serve %s exited (%v) before listening; stdout:\n%s\nstderr:\n%s", ns, s.p.err, stdout.String(), s.p.stderr.String())
	case <-time.After(waitLong):
		t.Fatalf("termcall serve %s printed no listening line within %v; stdout:\n%s\nstderr:\n%s", ns, waitLong, stdout.String(), s.p.stderr.String())
	}
	return nil
}

// event is one JSON line a headless client printed.
type event map[string]any

// client is one `termcall headless` process.
type client struct {
	user    string
	p       *proc
	stdin   io.WriteCloser
	logFile string

	nextID atomic.Int64 // of the browser bridge's commands (browser_test.go)

	mu      sync.Mutex
	events  []event
	used    []bool   // events an Expect has returned
	bad     []string // stdout lines that are not JSON event objects
	changed chan struct{}
}

// clientOpts adjust how a client starts.
type clientOpts struct {
	args       []string // extra flags
	noReady    bool     // do not wait for SDK_READY (the login is expected to fail)
	noUserSig  bool     // do not pass --secret (args carry a --usersig)
	expectExit int      // exit status expected when the test ends it (default 0)
	media      bool     // real media (ICE on loopback); default signaling only
	noServer   bool     // do not pass --server: headless's default
	netns      string   // run inside this network namespace (the lab); media ICE on its interfaces
}

// startClient runs `termcall headless` as user against s and waits for its SDK_READY.
func (s *server) startClient(t *testing.T, user string, o ...clientOpts) *client {
	t.Helper()
	var opt clientOpts
	if len(o) > 0 {
		opt = o[0]
	}
	c := &client{user: user, changed: make(chan struct{}), logFile: filepath.Join(t.TempDir(), user+".log")}
	args := []string{"headless", "--sdkappid", testSDKAppID, "--user", user, "--log", c.logFile}
	if !opt.noServer {
		args = append(args, "--server", s.URL)
	}
	if !opt.noUserSig {
		args = append(args, "--secret", testSecret)
	}
	switch {
	case !opt.media:
		args = append(args, "--media=false")
	case opt.netns == "":
		args = append(args, "--ice-loopback")
	}
	args = append(args, opt.args...)
	prog, argv := inNetns(t, opt.netns, args...)
	c.p = startProc(t, "headless "+user, prog, &lineWriter{fn: c.addLine}, true, argv...)
	c.stdin = c.p.stdin
	c.endWithTest(t, opt.expectExit, func() {
		if b, err := os.ReadFile(c.logFile); err == nil {
			t.Logf("%s log:\n%s", c.user, tail(string(b), 6000))
		}
	})
	if !opt.noReady {
		c.Expect(t, "SDK_READY", waitLong, func(ev event) bool { return ev["userID"] == user })
	}
	return c
}

// endWithTest ends c when the test does: EOF on its stdin (a headless
// client logs out and exits, the browser bridge closes Chromium), then
// checks its exit status and its stdout; on failure it logs its events and
// whatever onFail adds.
func (c *client) endWithTest(t *testing.T, wantExit int, onFail func()) {
	t.Cleanup(func() {
		_ = c.stdin.Close()
		code := c.p.stop(t, nil, exitWait)
		c.mu.Lock()
		bad := c.bad
		c.mu.Unlock()
		if len(bad) > 0 {
			t.Errorf("%s printed lines on stdout that are not JSON event objects: %q", c.user, bad)
		}
		if code != wantExit {
			t.Errorf("%s exited with status %d, want %d; stderr:\n%s", c.user, code, wantExit, tail(c.p.stderr.String(), 4000))
		}
		if t.Failed() {
			t.Logf("%s events:\n%s", c.user, c.dump())
			onFail()
		}
	})
}

func (c *client) addLine(line string) {
	var ev event
	err := json.Unmarshal([]byte(line), &ev)
	c.mu.Lock()
	defer c.mu.Unlock()
	name, _ := ev["event"].(string)
	_, hasTS := ev["ts"].(float64)
	if err != nil || name == "" || !hasTS {
		c.bad = append(c.bad, line)
		return
	}
	ev[seqKey] = float64(len(c.events)) // arrival order, for after()
	c.events = append(c.events, ev)
	c.used = append(c.used, false)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Send writes one command line to the client's stdin.
func (c *client) Send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatalf("%s: send %q: %v", c.user, line, err)
	}
}

// find returns the index of the first unused event called name that match
// accepts, or -1.
func (c *client) find(name string, match func(event) bool) int {
	for i, ev := range c.events {
		if !c.used[i] && ev["event"] == name && (match == nil || match(ev)) {
			return i
		}
	}
	return -1
}

// Expect waits up to d for an event called name that match accepts (nil:
// any), marks it used so that the next Expect finds a later one, and returns it.
func (c *client) Expect(t *testing.T, name string, d time.Duration, match func(event) bool) event {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if i := c.find(name, match); i >= 0 {
			c.used[i] = true
			ev := c.events[i]
			c.mu.Unlock()
			return ev
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.p.exited:
			c.mu.Lock()
			i := c.find(name, match)
			c.mu.Unlock()
			if i >= 0 {
				continue
			}
			t.Fatalf("%s: exited (%v) without %s; events:\n%s", c.user, c.p.err, name, c.dump())
		case <-deadline.C:
			t.Fatalf("%s: no matching %s within %v; events:\n%s", c.user, name, d, c.dump())
		}
	}
}

// Forget marks every event called name received so far as used, so that
// the next Expect matches only a later one.
func (c *client) Forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ev := range c.events {
		if ev["event"] == name {
			c.used[i] = true
		}
	}
}

// ExpectNone checks that no unused event called name that match accepts
// comes within d.
func (c *client) ExpectNone(t *testing.T, name string, d time.Duration, match func(event) bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		i := c.find(name, match)
		var ev event
		if i >= 0 {
			ev = c.events[i]
		}
		changed := c.changed
		c.mu.Unlock()
		if i >= 0 {
			t.Fatalf("%s: unexpected %s: %v", c.user, name, ev)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		}
	}
}

// ExpectError waits for the ERROR line of the command cmd and checks its code.
func (c *client) ExpectError(t *testing.T, cmd string, code int) event {
	t.Helper()
	ev := c.Expect(t, "ERROR", waitLong, func(ev event) bool { return ev["cmd"] == cmd })
	if got := num(ev, "code"); got != code {
		t.Errorf("%s: ERROR for %q has code %d, want %d: %v", c.user, cmd, got, code, ev)
	}
	if msg, _ := ev["msg"].(string); msg == "" {
		t.Errorf("%s: ERROR for %q has no msg: %v", c.user, cmd, ev)
	}
	return ev
}

// ExitCode waits up to d for the process to exit.
func (c *client) ExitCode(t *testing.T, d time.Duration) int {
	t.Helper()
	code := c.p.exitCode(d)
	if code == -1 {
		t.Fatalf("%s: still running after %v", c.user, d)
	}
	return code
}

func (c *client) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i, ev := range c.events {
		line, _ := json.Marshal(ev)
		mark := " "
		if c.used[i] {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, line)
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// eventsNamed returns the events called name received so far.
func (c *client) eventsNamed(name string) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, ev := range c.events {
		if ev["event"] == name {
			out = append(out, ev)
		}
	}
	return out
}

// seqKey is the harness's own field in each event: its arrival index.
const seqKey = "_seq"

// after returns a matcher for events that arrived after prev and match m.
func after(prev event, m func(event) bool) func(event) bool {
	return func(ev event) bool {
		return num(ev, seqKey) > num(prev, seqKey) && (m == nil || m(ev))
	}
}

// Field accessors for decoded JSON (numbers decode as float64).

func num(ev event, key string) int {
	f, _ := ev[key].(float64)
	return int(f)
}

func str(ev event, key string) string {
	s, _ := ev[key].(string)
	return s
}

func strs(ev event, key string) []string {
	l, _ := ev[key].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// is returns a matcher for events whose fields equal want (numbers as int).
func is(want map[string]any) func(event) bool {
	return func(ev event) bool {
		for k, w := range want {
			switch w := w.(type) {
			case int:
				if _, ok := ev[k].(float64); !ok || num(ev, k) != w {
					return false
				}
			case []string:
				got := strs(ev, k)
				if fmt.Sprint(got) != fmt.Sprint(w) {
					return false
				}
			default:
				if ev[k] != w {
					return false
				}
			}
		}
		return true
	}
}

package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Real-terminal tests: tmux runs the real termcall binary, the test types
// keys with send-keys and reads the screen with capture-pane, as a person
// would.

const (
	cols, rows = 120, 40
	screenWait = 20 * time.Second
)

// tmuxBinary returns the termcall binary for a tmux test; tmux itself must
// be installed (make deps does).
func tmuxBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed (make deps installs it)")
	}
	return needBinary(t)
}

// term is one tmux session on a private tmux server (its own socket), so
// tests never touch the user's tmux.
type term struct {
	t      *testing.T
	socket string
	name   string
}

func newTerm(t *testing.T, env []string, command string) *term {
	t.Helper()
	tm := &term{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "tc"}
	args := []string{"-S", tm.socket, "new-session", "-d", "-s", tm.name, "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, command)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// q quits the TUI cleanly; the server is killed either way.
		_ = exec.Command("tmux", "-S", tm.socket, "send-keys", "-t", tm.name, "q").Run()
		time.Sleep(500 * time.Millisecond)
		_ = exec.Command("tmux", "-S", tm.socket, "kill-server").Run()
	})
	return tm
}

func (tm *term) keys(k ...string) {
	tm.t.Helper()
	args := append([]string{"-S", tm.socket, "send-keys", "-t", tm.name}, k...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		tm.t.Fatalf("send-keys %v: %v\n%s", k, err, out)
	}
}

// screen returns the visible screen, with escape sequences when esc.
func (tm *term) screen(esc bool) string {
	tm.t.Helper()
	args := []string{"-S", tm.socket, "capture-pane", "-p", "-t", tm.name}
	if esc {
		args = append(args, "-e")
	}
	out, err := exec.Command("tmux", args...).Output()
	if err != nil {
		tm.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor polls the screen until cond holds, and returns it.
func (tm *term) waitFor(what string, cond func(plain, esc string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(screenWait)
	for {
		plain, esc := tm.screen(false), tm.screen(true)
		if cond(plain, esc) {
			return plain
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %s; last screen:\n%s", what, plain)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func (tm *term) waitText(s string) string {
	tm.t.Helper()
	return tm.waitFor(fmt.Sprintf("%q", s), func(plain, _ string) bool { return strings.Contains(plain, s) })
}

var trueColorCell = regexp.MustCompile(`\x1b\[[0-9;]*48;2;\d+;\d+;\d+m`)

// videoCells counts background-colour changes in truecolour: video panes
// make hundreds, the rest of the UI almost none.
func videoCells(esc string) int { return len(trueColorCell.FindAllString(esc, -1)) }

func TestDemoCallsEchoInRealTerminal(t *testing.T) {
	bin := tmuxBinary(t)
	state := t.TempDir()
	tm := newTerm(t, []string{"COLORTERM=truecolor", "TERM=xterm-256color", "XDG_STATE_HOME=" + state,
		"XDG_CONFIG_HOME=" + t.TempDir()}, bin+" demo --renderer truecolor")

	tm.waitFor("the echo contact online", func(p, _ string) bool {
		return strings.Contains(p, "echo") && strings.Contains(p, "online")
	})
	// Without a sound card or camera the demo says what it sends instead.
	tm.waitText("no microphone")

	tm.keys("c") // video call to the selected contact
	tm.waitText("In call")
	tm.waitFor("video cells drawn", func(_, esc string) bool { return videoCells(esc) > 200 })
	// The echo is on this host: the quality line says media goes direct.
	tm.waitText("· direct")

	tm.keys("m")
	tm.waitText("mic muted")

	tm.keys("h")
	tm.waitText("Call ended")
	tm.waitText("Contacts")
}

// TestIncomingCallPromptInRealTerminal runs the TUI against a test server
// and calls it from a headless client: the prompt appears, the accept key
// connects the call, and the caller sees the TUI user enter.
func TestIncomingCallPromptInRealTerminal(t *testing.T) {
	bin := tmuxBinary(t)
	const (
		app    = "1400000000"
		secret = "tmux-test-secret"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := serveForTmux(t, ctx, bin, app, secret)

	tm := newTerm(t, []string{"COLORTERM=truecolor", "XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()},
		fmt.Sprintf("%s --server %s --sdkappid %s --user carol --secret %s --ice-loopback --audio-in tone:440 --audio-out null --video-in pattern",
			bin, url, app, secret))
	tm.waitText("carol")

	bob := startHeadless(t, ctx, bin, "--server", url, "--sdkappid", app, "--user", "bob",
		"--secret", secret, "--ice-loopback", "--audio-in", "tone:880", "--stats", "0")
	bob.expect("SDK_READY")
	bob.send("call carol video 30")
	screen := tm.waitText("Incoming video call")
	if !strings.Contains(screen, "from bob") {
		t.Fatalf("prompt does not say who calls:\n%s", screen)
	}
	tm.keys("a")
	bob.expect("USER_ENTER")
	tm.waitText("In call")
	tm.waitFor("bob's video drawn", func(_, esc string) bool { return videoCells(esc) > 200 })
	bob.send("hangup")
	tm.waitText("Call ended")
}

// serveForTmux starts `termcall serve` on a free port until ctx ends (or
// the test does) and returns its URL.
func serveForTmux(t *testing.T, ctx context.Context, bin, app, secret string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--sdkappid", app, "--secret", secret)
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "listening "))
}

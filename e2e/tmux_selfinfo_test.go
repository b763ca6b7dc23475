package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// headlessProc is a `termcall headless` process whose event lines the
// test reads.
type headlessProc struct {
	t      *testing.T
	stdin  io.WriteCloser
	events chan map[string]any
}

func startHeadless(t *testing.T, ctx context.Context, bin string, args ...string) *headlessProc {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"headless"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &headlessProc{t: t, stdin: stdin, events: make(chan map[string]any, 64)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				h.events <- ev
			}
		}
		close(h.events)
	}()
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	return h
}

func (h *headlessProc) send(line string) {
	h.t.Helper()
	if _, err := io.WriteString(h.stdin, line+"\n"); err != nil {
		h.t.Fatal(err)
	}
}

// expect returns the next event called name.
func (h *headlessProc) expect(name string) map[string]any {
	h.t.Helper()
	timeout := time.After(screenWait)
	for {
		select {
		case ev, ok := <-h.events:
			if !ok {
				h.t.Fatalf("headless exited before %s", name)
			}
			if ev["event"] == name {
				return ev
			}
		case <-timeout:
			h.t.Fatalf("headless never printed %s", name)
		}
	}
}

// TestSelfInfoAndICEErrorsInRealTerminal runs the TUI from a config file
// with a nickname and an unusable TURN server: the screen reports the
// server (60102), shows a contact's nickname and the caller's nickname in
// the incoming-call prompt, and others see the configured nickname.
func TestSelfInfoAndICEErrorsInRealTerminal(t *testing.T) {
	bin := tmuxBinary(t)
	const (
		app    = "1400000000"
		secret = "tmux-test-secret"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := serveForTmux(t, ctx, bin, app, secret)

	bob := startHeadless(t, ctx, bin, "--server", url, "--sdkappid", app, "--user", "bob", "--secret", secret,
		"--media=false", "--nickname", "Bobby")
	bob.expect("SDK_READY")

	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`server = %q
sdkappid = %s
user = "carol"
secret = %q
nickname = "Carol_C"
audio_in = "tone:440"
audio_out = "null"
video_in = "pattern"
ice_loopback = true
ice_servers = ["stun:127.0.0.1:3478", { urls = ["turn:127.0.0.1:3478?transport=udp"] }]
contacts = ["bob"]
`, url, app, secret)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := newTerm(t, []string{"XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + dir}, bin+" --config "+cfgFile)

	// The TURN server without credentials is reported; the contact shows
	// with their nickname.
	tm.waitText("60102")
	tm.waitText("turn:127.0.0.1:3478")
	tm.waitFor("bob's nickname in the contacts", func(p, _ string) bool {
		return strings.Contains(p, "Bobby (bob)") && strings.Contains(p, "online")
	})

	// bob calls: the prompt names him by nickname.
	bob.send("call carol audio 30")
	screen := tm.waitText("Incoming audio call")
	if !strings.Contains(screen, "from Bobby (bob)") {
		t.Fatalf("prompt does not show the caller's nickname:\n%s", screen)
	}
	tm.keys("r")
	bob.expect("REJECT")
	tm.waitText("Contacts")

	// carol calls bob: bob sees the nickname of her config file.
	tm.keys("Enter")
	inv := bob.expect("INVITED")
	if inv["sponsor"] != "carol" || inv["sponsorNickName"] != "Carol_C" {
		t.Fatalf("bob's INVITED from carol: %v", inv)
	}
}

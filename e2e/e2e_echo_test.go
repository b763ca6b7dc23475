package e2e_test

import (
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	vid "github.com/termcall/termcall/video"
)

// startEcho runs `termcall echo` against s.
func startEcho(t *testing.T, s *server) *client {
	t.Helper()
	c := &client{user: "echo", changed: make(chan struct{})}
	c.p = startProc(t, "echo", needBinary(t), &lineWriter{fn: c.addLine}, false,
		"echo", "--server", s.URL, "--sdkappid", testSDKAppID, "--secret", testSecret, "--ice-loopback")
	t.Cleanup(func() {
		if code := c.p.stop(t, syscall.SIGTERM, exitWait); code != 0 {
			t.Errorf("echo exited with status %d; stderr:\n%s", code, tail(c.p.stderr.String(), 4000))
		}
	})
	c.Expect(t, "SDK_READY", waitLong, nil)
	return c
}

func TestEchoContactSendsBackWhatItGets(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	startEcho(t, s)
	frames := t.TempDir()
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:523", "--video-in", "pattern",
		"--video-out", "dir:"+frames, "--video-out-fps", "2")
	alice.Send(t, "call echo video 30")
	alice.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == "echo" })
	// Alice hears her own tone back from the echo contact.
	alice.Expect(t, "STATS", mediaWait, hears("echo", 523))

	// And sees her pattern mirrored: bar i of what comes back is bar 6-i.
	dir := filepath.Join(frames, "echo")
	deadline := time.Now().Add(mediaWait)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, "frame-*.png"))
		sort.Strings(names)
		if len(names) > 0 {
			f, err := vid.ReadPNG(names[len(names)-1])
			if err != nil {
				t.Fatal(err)
			}
			if mirroredPattern(f) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mirrored pattern frame from echo in %s (%d frames)", dir, len(names))
		}
		time.Sleep(200 * time.Millisecond)
	}
	alice.Send(t, "hangup")
	alice.Expect(t, "CALL_END", waitLong, nil)
}

func mirroredPattern(f *vid.Frame) bool {
	means := vid.BarMeans(f)
	if len(means) != 7 {
		return false
	}
	for i, m := range means {
		want := vid.PatternBars()[6-i]
		if d(m.R, want.R) > 40 || d(m.G, want.G) > 40 || d(m.B, want.B) > 40 {
			return false
		}
	}
	return true
}

func d(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

package e2e_test

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	vid "github.com/termcall/termcall/video"
)

// Media end-to-end tests: real processes, real pion peers on 127.0.0.1,
// real Opus and VP8. Each side sends a tone; the far side's STATS must show
// that tone's frequency, which it measures on the decoded audio.

const mediaWait = 20 * time.Second

func sub(ev event, key string) map[string]any {
	m, _ := ev[key].(map[string]any)
	return m
}

func fnum(m map[string]any, key string) float64 {
	v, _ := m[key].(float64)
	return v
}

// hears matches a STATS line of from whose audio has the tone hz (±2 %)
// above -30 dBFS.
func hears(from string, hz float64) func(event) bool {
	return func(ev event) bool {
		a := sub(ev, "audio")
		return str(ev, "userID") == from && math.Abs(fnum(a, "frequencyHz")-hz) <= hz*0.02 && fnum(a, "levelDBFS") > -30
	}
}

func silentFrom(from string) func(event) bool {
	return func(ev event) bool { return str(ev, "userID") == from && fnum(sub(ev, "audio"), "levelDBFS") < -60 }
}

// seesVideo matches a STATS line of from with w x h video at fps ±20 %.
func seesVideo(from string, w, h int, fps float64) func(event) bool {
	return func(ev event) bool {
		v := sub(ev, "video")
		return str(ev, "userID") == from && int(fnum(v, "width")) == w && int(fnum(v, "height")) == h &&
			math.Abs(fnum(v, "fps")-fps) <= fps*0.2
	}
}

// directPath matches a STATS line of from whose path is host/host/udp.
func directPath(from string) func(event) bool {
	return func(ev event) bool {
		p := sub(ev, "path")
		return str(ev, "userID") == from && str(p, "local") == "host" && str(p, "remote") == "host" && str(p, "protocol") == "udp"
	}
}

func mediaClient(t *testing.T, s *server, user string, args ...string) *client {
	t.Helper()
	return s.startClient(t, user, clientOpts{media: true, args: args})
}

func TestMediaOneToOneToneAndPattern(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	frames := t.TempDir()
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "pattern",
		"--video-out", "dir:"+frames, "--video-out-fps", "2")

	alice.Send(t, "call bob video 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == "bob" })
	bob.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == "alice" })

	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	bob.Expect(t, "STATS", mediaWait, seesVideo("alice", 320, 240, 15))
	// On one host the call is direct: host candidates over UDP.
	bob.Expect(t, "STATS", mediaWait, directPath("alice"))

	// A saved frame of alice's video (bob's view named after her) is the
	// pattern: the mean colour of each bar is right.
	dir := filepath.Join(frames, "alice")
	var names []string
	deadline := time.Now().Add(mediaWait)
	for len(names) == 0 && time.Now().Before(deadline) {
		names, _ = filepath.Glob(filepath.Join(dir, "frame-*.png"))
		time.Sleep(100 * time.Millisecond)
	}
	if len(names) == 0 {
		t.Fatalf("no frames saved in %s", dir)
	}
	sort.Strings(names)
	f, err := vid.ReadPNG(names[len(names)-1])
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 320 || f.Height != 240 {
		t.Fatalf("saved frame is %dx%d", f.Width, f.Height)
	}
	if err := vid.CheckPattern(f, 40); err != nil {
		t.Fatalf("saved frame: %v", err)
	}

	// Mute: bob is told, and what he hears of alice drops to nothing.
	alice.Send(t, "setMicMute true")
	bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, func(ev event) bool { return ev["isAudioAvailable"] == false })
	bob.Expect(t, "STATS", mediaWait, silentFrom("alice"))
	alice.Send(t, "setMicMute false")
	bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, func(ev event) bool { return ev["isAudioAvailable"] == true })
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))

	// Camera off: told, and alice's frame rate at bob drops to zero.
	alice.Send(t, "closeCamera")
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, func(ev event) bool { return ev["isVideoAvailable"] == false })
	bob.Expect(t, "STATS", mediaWait, func(ev event) bool {
		return str(ev, "userID") == "alice" && fnum(sub(ev, "video"), "fps") == 0
	})
	alice.Send(t, "openCamera")
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, func(ev event) bool { return ev["isVideoAvailable"] == true })
	bob.Expect(t, "STATS", mediaWait, seesVideo("alice", 320, 240, 15))

	// Voice volume arrives about once a second.
	bob.Expect(t, "USER_VOICE_VOLUME", mediaWait, func(ev event) bool {
		m, _ := ev["volumeMap"].(map[string]any)
		return fnum(m, "alice") > 0
	})
	// The stats command answers at once.
	bob.Send(t, "stats")
	bob.Expect(t, "STATS", waitLong, func(ev event) bool { return str(ev, "userID") == "alice" })

	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

func TestMediaGroupEveryoneHearsBoth(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a := mediaClient(t, s, "ann", "--audio-in", "tone:440", "--video-in", "none")
	b := mediaClient(t, s, "ben", "--audio-in", "tone:660", "--video-in", "none", "--auto-accept")
	c := mediaClient(t, s, "cat", "--audio-in", "tone:990", "--video-in", "none", "--auto-accept")
	a.Send(t, "groupCall audio - ben cat")
	tones := map[string]float64{"ann": 440, "ben": 660, "cat": 990}
	for _, cl := range []*client{a, b, c} {
		for who, hz := range tones {
			if who == cl.user {
				continue
			}
			cl.Expect(t, "STATS", mediaWait, hears(who, hz))
		}
	}
}

func TestMediaPeerKilledIsSeenLeaving(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "none")
	bob := s.startClient(t, "bob", clientOpts{media: true, expectExit: -1,
		args: []string{"--audio-in", "tone:880", "--video-in", "none", "--auto-accept"}})
	alice.Send(t, "call bob audio 30")
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))

	killed := time.Now()
	if err := bob.p.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	alice.Expect(t, "USER_LEAVE", 10*time.Second, func(ev event) bool { return str(ev, "userID") == "bob" })
	alice.Expect(t, "CALL_END", 5*time.Second, nil)
	t.Logf("bob's leaving seen %v after SIGKILL", time.Since(killed).Round(time.Millisecond))
}

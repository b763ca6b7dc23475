package e2e_test

import (
	"sort"
	"testing"
	"time"
)

// The in-call echo test of issue 11: bob has no headset. What he plays
// comes back into his microphone through a simulated room (--echo-path:
// 50 ms, reflections, -6 dB; a test aid standing in for a laptop's
// speaker and microphone), so alice hears her own tone back from him.
// With his echo canceller on, that echo must arrive at least 20 dB weaker
// than with it off.
func TestAECRemovesTheEchoOfTheFarEnd(t *testing.T) {
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:880", "--video-in", "none")
	echoBack := func(aec string) float64 {
		t.Helper()
		bob := mediaClient(t, s, "bob-aec-"+aec, "--audio-in", "silence", "--audio-out", "null", "--video-in", "none",
			"--echo-path", "50ms", "--aec="+aec)
		alice.Send(t, "call "+bob.user+" audio 30")
		bob.Expect(t, "INVITED", waitLong, nil)
		bob.Send(t, "accept")
		enter := alice.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == bob.user })
		// bob hears alice's tone: it is what his room echoes.
		bob.Expect(t, "STATS", mediaWait, hears("alice", 880))
		// Give the canceller time to converge (seconds, as in a call),
		// then take the median of what alice hears from bob over 5 s.
		time.Sleep(3 * time.Second)
		alice.Forget("STATS")
		var levels []float64
		for range 5 {
			ev := alice.Expect(t, "STATS", mediaWait, after(enter, func(ev event) bool { return str(ev, "userID") == bob.user }))
			levels = append(levels, fnum(sub(ev, "audio"), "levelDBFS"))
		}
		sort.Float64s(levels)
		t.Logf("--aec=%s: alice hears her tone back from bob at %v dBFS (median %.1f)", aec, levels, levels[2])
		alice.Send(t, "hangup")
		alice.Expect(t, "CALL_END", waitLong, nil)
		bob.Expect(t, "CALL_END", waitLong, nil)
		return levels[2]
	}
	off := echoBack("false")
	// Without the canceller the echo is plainly there: the loop works.
	if off < -40 {
		t.Fatalf("with --aec=false the echo came back at %.1f dBFS: the echo path is not echoing", off)
	}
	on := echoBack("true")
	t.Logf("echo %.1f dBFS with the AEC off, %.1f with it on: %.1f dB weaker", off, on, off-on)
	if off-on < 20 {
		t.Errorf("with --aec=true the echo is %.1f dB weaker than with --aec=false, want >= 20", off-on)
	}
}

package e2e_test

import (
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
)

// When media never connects (here: alice allows only relay candidates and
// there is no TURN server), both sides are told with ERROR 60101 and the
// call ends with reason media_failed within 15 s of the accept, instead of
// a call that looks connected and carries nothing.
func TestMediaNeverConnectsEndsCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--ice-policy", "relay", "--audio-in", "tone:440")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	accepted := time.Now()
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "ERROR", 25*time.Second, is(map[string]any{"code": callcore.CodeMediaFailed}))
		c.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "media_failed"}))
	}
	if d := time.Since(accepted); d > 20*time.Second {
		t.Errorf("media failure reported %v after the accept, want about 15 s", d)
	}
	for _, c := range []*client{alice, bob} {
		c.ExpectNone(t, "USER_ENTER", 0, nil)
	}
}

// The stats command reports the bitrates the periodic lines report, and
// USER_VOICE_VOLUME comes every second even with periodic stats off.
func TestStatsCommandBitratesAndVolumeWithoutStats(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern", "--stats", "0")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "pattern", "--stats", "0")

	alice.Send(t, "call bob video 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "USER_ENTER", mediaWait, nil)

	// Volume once a second: three in a row within about three seconds,
	// each naming both members.
	first := alice.Expect(t, "USER_VOICE_VOLUME", waitLong, nil)
	start := time.Now()
	prev := first
	for range 3 {
		prev = alice.Expect(t, "USER_VOICE_VOLUME", 3*time.Second, after(prev, nil))
	}
	if d := time.Since(start); d > 4500*time.Millisecond {
		t.Errorf("3 more USER_VOICE_VOLUME took %v", d)
	}
	vm := sub(prev, "volumeMap")
	if _, ok := vm["alice"]; !ok || vm["bob"] == nil {
		t.Errorf("volumeMap %v, want alice and bob", vm)
	}
	if n := len(alice.eventsNamed("STATS")); n != 0 {
		t.Fatalf("%d periodic STATS lines with --stats 0", n)
	}

	time.Sleep(2 * time.Second) // a window of media to measure
	alice.Send(t, "stats")
	st := alice.Expect(t, "STATS", waitLong, nil)
	// Opus alone is about 30 kbit/s and the pattern adds some: a stats
	// command that does not measure reports 0.
	if fnum(st, "sendKbps") < 20 || fnum(st, "recvKbps") < 20 {
		t.Fatalf("stats command: sendKbps %v recvKbps %v", st["sendKbps"], st["recvKbps"])
	}
	// The stats command (a snapshot) carries the path too.
	if !directPath("bob")(st) {
		t.Errorf("stats command: path %v, want host/host/udp", st["path"])
	}
}

package e2e_test

import (
	"testing"
)

// An audio call switched to video carries video both ways: the decoded
// frames have the sent size at the sent rate on each side, and each side
// is told the other's camera is on.
func TestMediaAudioCallSwitchedToVideo(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "pattern", "--width", "160", "--height", "120")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))

	alice.Send(t, "switchToVideo")
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "CALL_TYPE_CHANGED", waitLong, is(map[string]any{"oldCallType": 1, "newCallType": 2, "userID": "alice"}))
	}
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isVideoAvailable": true}))
	alice.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isVideoAvailable": true}))
	bob.Expect(t, "STATS", mediaWait, seesVideo("alice", 320, 240, 15))
	alice.Expect(t, "STATS", mediaWait, seesVideo("bob", 160, 120, 15))
	// Audio carried on through the switch.
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))

	bob.Send(t, "switchToAudio")
	alice.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isVideoAvailable": false}))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

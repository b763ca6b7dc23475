package e2e_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/config/usersig"
)

// Call types as the events carry them.
const (
	audio = 1
	video = 2
)

// callStarted waits for the CALL_STARTED line of a call and checks its invitees.
func callStarted(t *testing.T, c *client, invitees ...string) (inviteID string, roomID int) {
	t.Helper()
	ev := c.Expect(t, "CALL_STARTED", waitLong, nil)
	inviteID, roomID = str(ev, "inviteID"), num(ev, "roomID")
	if inviteID == "" || roomID <= 0 {
		t.Fatalf("%s: CALL_STARTED without inviteID/roomID: %v", c.user, ev)
	}
	if got := strs(ev, "invitees"); !slices.Equal(sorted(got), sorted(invitees)) {
		t.Errorf("%s: CALL_STARTED invitees %v, want %v", c.user, got, invitees)
	}
	return inviteID, roomID
}

// expectInvited waits for callee's INVITED for inviteID and checks its fields.
func expectInvited(t *testing.T, callee *client, inviteID, sponsor string, callType int) event {
	t.Helper()
	ev := callee.Expect(t, "INVITED", waitLong, is(map[string]any{"inviteID": inviteID}))
	if str(ev, "sponsor") != sponsor {
		t.Errorf("%s: INVITED sponsor %q, want %q: %v", callee.user, str(ev, "sponsor"), sponsor, ev)
	}
	if !slices.Contains(strs(ev, "userIDList"), callee.user) {
		t.Errorf("%s: INVITED userIDList %v lacks the invitee: %v", callee.user, strs(ev, "userIDList"), ev)
	}
	data, _ := ev["inviteData"].(map[string]any)
	if ct, _ := data["callType"].(float64); int(ct) != callType {
		t.Errorf("%s: INVITED inviteData.callType %v, want %d: %v", callee.user, data["callType"], callType, ev)
	}
	return ev
}

// connect sets up an accepted 1:1 call from caller to callee.
func connect(t *testing.T, caller, callee *client, callType string) (inviteID string, roomID int) {
	t.Helper()
	caller.Send(t, fmt.Sprintf("call %s %s 20", callee.user, callType))
	inviteID, roomID = callStarted(t, caller, callee.user)
	ct := audio
	if callType == "video" {
		ct = video
	}
	inv := expectInvited(t, callee, inviteID, caller.user, ct)
	data, _ := inv["inviteData"].(map[string]any)
	if r, _ := data["roomID"].(float64); int(r) != roomID {
		t.Errorf("INVITED inviteData.roomID %v, want the caller's room %d", data["roomID"], roomID)
	}
	callee.Send(t, "accept")
	caller.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": callee.user}))
	caller.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": callee.user}))
	return inviteID, roomID
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestE2EAcceptThenCallerHangsUp(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")

	alice.Send(t, "call bob video 10")
	inviteID, roomID := callStarted(t, alice, "bob")
	inv := expectInvited(t, bob, inviteID, "alice", video)
	if inv["isFromGroup"] != false || num(inv, "timeout") != 10 {
		t.Errorf("bob: INVITED of a 1:1 call: isFromGroup %v timeout %v, want false and 10", inv["isFromGroup"], inv["timeout"])
	}
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "bob"}))

	alice.Send(t, "hangup")
	bob.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "alice", "reason": "hangup"}))
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup", "roomID": roomID}))
	}
	// The call is over: both can call again.
	bob.Send(t, "call alice audio 5")
	callStarted(t, bob, "alice")
	alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "bob"}))
}

func TestE2ECalleeHangsUpDurationsAgree(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	_, roomID := connect(t, alice, bob, "audio")

	bob.Send(t, "sleep 1100ms")
	bob.Send(t, "hangup")
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "hangup"}))
	a := alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup", "roomID": roomID}))
	b := bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup", "roomID": roomID}))
	if num(a, "callEnd") != num(b, "callEnd") || num(a, "callEnd") < 1 {
		t.Errorf("callEnd durations: alice %v, bob %v; want equal and >= 1 s", a["callEnd"], b["callEnd"])
	}
}

func TestE2EReject(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	alice.Send(t, "call bob audio 10")
	inviteID, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, inviteID, "alice", audio)

	bob.Send(t, "reject "+inviteID)
	alice.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "rejected"}))
	alice.ExpectNone(t, "USER_ENTER", 300*time.Millisecond, nil)
	// The invitation is answered: a second answer is refused.
	bob.Send(t, "accept "+inviteID)
	bob.ExpectError(t, "accept "+inviteID, 4040)
}

func TestE2ELineBusyInCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob, carol := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol")
	connect(t, alice, bob, "video")

	carol.Send(t, "call bob audio 10")
	inviteID, _ := callStarted(t, carol, "bob")
	carol.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"userID": "bob", "inviteID": inviteID}))
	carol.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "busy"}))
	bob.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"sponsor": "carol", "inviteID": inviteID}))
	bob.ExpectNone(t, "INVITED", 300*time.Millisecond, nil)
	// The first call goes on.
	alice.ExpectNone(t, "CALL_END", 300*time.Millisecond, nil)
	bob.ExpectNone(t, "CALL_END", 0, nil)
}

func TestE2ELineBusyRinging(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob, carol := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol")
	alice.Send(t, "call bob video 20")
	first, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, first, "alice", video)

	carol.Send(t, "call bob audio 10")
	second, _ := callStarted(t, carol, "bob")
	carol.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"userID": "bob", "inviteID": second}))
	carol.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "busy"}))
	bob.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"sponsor": "carol"}))

	// Bob is still ringing for alice and can answer her.
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
}

func TestE2ECancelBeforeAnswer(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	alice.Send(t, "call bob video 20")
	inviteID, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, inviteID, "alice", video)

	alice.Send(t, "hangup")
	bob.Expect(t, "CALLING_CANCEL", waitLong, is(map[string]any{"inviteID": inviteID, "sponsor": "alice"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "cancelled"}))
	bob.Send(t, "accept "+inviteID)
	bob.ExpectError(t, "accept "+inviteID, 4040)
}

func TestE2ETimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	alice.Send(t, "call bob audio 1")
	inviteID, _ := callStarted(t, alice, "bob")
	inv := expectInvited(t, bob, inviteID, "alice", audio)
	if num(inv, "timeout") != 1 {
		t.Errorf("INVITED timeout %v, want 1", inv["timeout"])
	}
	alice.Expect(t, "NO_RESP", waitLong, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"bob"}, "userID": "bob"}))
	bob.Expect(t, "CALLING_TIMEOUT", waitLong, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"bob"}}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "no_answer"}))
}

func TestE2ETimeoutZeroRingsUntilCancelled(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	alice.Send(t, "call bob audio 0")
	inviteID, _ := callStarted(t, alice, "bob")
	inv := expectInvited(t, bob, inviteID, "alice", audio)
	if num(inv, "timeout") != 0 {
		t.Errorf("INVITED timeout %v, want 0", inv["timeout"])
	}
	alice.ExpectNone(t, "NO_RESP", 3*time.Second, nil)
	bob.ExpectNone(t, "CALLING_TIMEOUT", 0, nil)
	alice.ExpectNone(t, "CALL_END", 0, nil)

	alice.Send(t, "hangup")
	bob.Expect(t, "CALLING_CANCEL", waitLong, is(map[string]any{"inviteID": inviteID}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "cancelled"}))
}

func TestE2EOfflineInviteeLogsInInTime(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice")
	alice.Send(t, "call bob video 20")
	inviteID, _ := callStarted(t, alice, "bob")

	bob := s.startClient(t, "bob")
	expectInvited(t, bob, inviteID, "alice", video)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "bob"}))
}

func TestE2EOfflineInviteeLogsInTooLate(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice")
	alice.Send(t, "call bob video 1")
	inviteID, _ := callStarted(t, alice, "bob")
	alice.Expect(t, "NO_RESP", waitLong, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"bob"}}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "no_answer"}))

	bob := s.startClient(t, "bob")
	bob.ExpectNone(t, "INVITED", time.Second, nil)
	bob.ExpectNone(t, "CALLING_TIMEOUT", 0, nil)
}

func TestE2EGroupCallViaGroup(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string][]string{"team": {"alice", "bob", "carol"}})
	alice, bob, carol, dave := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol"), s.startClient(t, "dave")

	// dave is not in the group: only members are invited.
	alice.Send(t, "groupCall video team bob carol dave")
	inviteID, roomID := callStarted(t, alice, "bob", "carol")
	for _, c := range []*client{bob, carol} {
		inv := expectInvited(t, c, inviteID, "alice", video)
		if inv["isFromGroup"] != true || str(inv, "groupID") != "team" {
			t.Errorf("%s: INVITED isFromGroup %v groupID %v, want true and team", c.user, inv["isFromGroup"], inv["groupID"])
		}
		if got := sorted(strs(inv, "userIDList")); !slices.Equal(got, []string{"bob", "carol"}) {
			t.Errorf("%s: INVITED userIDList %v, want [bob carol]", c.user, got)
		}
	}
	dave.ExpectNone(t, "INVITED", 500*time.Millisecond, nil)

	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "bob"}))
	carol.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "carol"}))
	bob.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "carol"}))
	for _, c := range []*client{alice, bob, carol} {
		c.ExpectNone(t, "CALL_END", 0, nil)
	}
	_ = roomID
}

func TestE2EGroupCallWholeGroup(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string][]string{"team": {"alice", "bob", "carol"}})
	alice, bob, carol := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol")

	// No user list: every member but the caller.
	alice.Send(t, "groupCall audio team")
	inviteID, _ := callStarted(t, alice, "bob", "carol")
	for _, c := range []*client{bob, carol} {
		inv := expectInvited(t, c, inviteID, "alice", audio)
		if inv["isFromGroup"] != true {
			t.Errorf("%s: INVITED isFromGroup %v, want true", c.user, inv["isFromGroup"])
		}
	}
	// Not a member: refused.
	dave := s.startClient(t, "dave")
	dave.Send(t, "groupCall audio team bob")
	dave.ExpectError(t, "groupCall audio team bob", 4043)
	dave.Send(t, "groupCall audio nosuchgroup bob")
	dave.ExpectError(t, "groupCall audio nosuchgroup bob", 4042)
}

func TestE2EGroupCallUserList(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice", clientOpts{args: []string{"--group-timeout", "2"}})
	bob, carol, dave := s.startClient(t, "bob"), s.startClient(t, "carol"), s.startClient(t, "dave")

	alice.Send(t, "groupCall audio - bob carol dave")
	inviteID, _ := callStarted(t, alice, "bob", "carol", "dave")
	for _, c := range []*client{bob, carol, dave} {
		inv := expectInvited(t, c, inviteID, "alice", audio)
		if inv["isFromGroup"] != false {
			t.Errorf("%s: INVITED isFromGroup %v, want false", c.user, inv["isFromGroup"])
		}
	}
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "GROUP_CALL_INVITEE_LIST_UPDATE", waitLong, is(map[string]any{"userIDList": []string{"carol", "dave"}}))

	carol.Send(t, "reject")
	alice.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "carol"}))
	bob.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "carol"}))
	alice.Expect(t, "GROUP_CALL_INVITEE_LIST_UPDATE", waitLong, is(map[string]any{"userIDList": []string{"dave"}}))

	// dave never answers: the 2 s group timeout runs out.
	alice.Expect(t, "NO_RESP", waitLong, is(map[string]any{"userIDList": []string{"dave"}}))
	dave.Expect(t, "CALLING_TIMEOUT", waitLong, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"dave"}}))
	alice.Expect(t, "GROUP_CALL_INVITEE_LIST_UPDATE", waitLong, is(map[string]any{"userIDList": []string{}}))

	// alice and bob are still in the call.
	alice.ExpectNone(t, "CALL_END", 300*time.Millisecond, nil)
	bob.ExpectNone(t, "CALL_END", 0, nil)
	bob.Send(t, "hangup")
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
}

func TestE2ELastOneLeavingEndsCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob, carol := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol")
	alice.Send(t, "groupCall video - bob carol")
	inviteID, roomID := callStarted(t, alice, "bob", "carol")
	for _, c := range []*client{bob, carol} {
		expectInvited(t, c, inviteID, "alice", video)
		c.Send(t, "accept")
		alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": c.user}))
	}

	bob.Send(t, "hangup")
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "hangup"}))
	carol.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "hangup"}))
	bob.Expect(t, "CALL_END", waitLong, nil) // bob's own call is over
	alice.ExpectNone(t, "CALL_END", 300*time.Millisecond, nil)
	carol.ExpectNone(t, "CALL_END", 0, nil)

	alice.Send(t, "hangup")
	carol.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "alice"}))
	carol.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup", "roomID": roomID}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup", "roomID": roomID}))
}

func TestE2EKickedOutBySecondLogin(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "video")

	s.startClient(t, "bob") // a second bob logs in
	bob.Expect(t, "KICKED_OUT", waitLong, nil)
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "kicked"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "kicked"}))
}

func TestE2ELogoutMidCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "audio")

	bob.Send(t, "logout")
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "logout"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "logout"}))
	// Logged out, bob can log in again and be called.
	bob.Send(t, "login")
	bob.Expect(t, "SDK_READY", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Send(t, "call bob audio 5")
	inviteID, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, inviteID, "alice", audio)
}

func TestE2ESwitchCallType(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "video")

	alice.Send(t, "switchToAudio")
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "CALL_TYPE_CHANGED", waitLong, is(map[string]any{"oldCallType": video, "newCallType": audio, "userID": "alice"}))
	}
	bob.Send(t, "switchToVideo")
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "CALL_TYPE_CHANGED", waitLong, is(map[string]any{"oldCallType": audio, "newCallType": video, "userID": "bob"}))
	}
	// Already video: refused, with TRTCCalling's code.
	bob.Send(t, "switchToVideo")
	if ev := bob.ExpectError(t, "switchToVideo", 60002); !strings.Contains(str(ev, "msg"), "4090") {
		t.Errorf("switchToVideo ERROR msg %q lacks the protocol code 4090", str(ev, "msg"))
	}
}

func TestE2EMicAndCameraState(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "video")

	// Each change must come after the one before: joining the call may
	// already have reported the initial state.
	alice.Send(t, "setMicMute true")
	ev := bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isAudioAvailable": false}))
	alice.Send(t, "setMicMute false")
	ev = bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, after(ev, is(map[string]any{"userID": "alice", "isAudioAvailable": true})))
	alice.Send(t, "closeCamera")
	ev = bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, after(ev, is(map[string]any{"userID": "alice", "isVideoAvailable": false})))
	alice.Send(t, "openCamera")
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, after(ev, is(map[string]any{"userID": "alice", "isVideoAvailable": true})))
	// The changes are the peer's to see, not an error of one's own.
	alice.ExpectNone(t, "ERROR", 0, nil)
}

func TestE2EWrongUserSig(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"garbage", []string{"--usersig", "not-a-usersig"}, 4012},
		{"wrong key", []string{"--secret", "another-key"}, 4012},
		{"expired", []string{"--usersig", expiredUserSig(t, "alice")}, 4013},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.startClient(t, "alice", clientOpts{args: tt.args, noReady: true, noUserSig: true, expectExit: 1})
			ev := c.Expect(t, "ERROR", waitLong, is(map[string]any{"cmd": "login"}))
			if num(ev, "code") != tt.code {
				t.Errorf("login ERROR code %d, want %d: %v", num(ev, "code"), tt.code, ev)
			}
			if code := c.ExitCode(t, exitWait); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			c.ExpectNone(t, "SDK_READY", 0, nil)
		})
	}
}

func TestE2EWrongState(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob, carol := s.startClient(t, "alice"), s.startClient(t, "bob"), s.startClient(t, "carol")

	alice.Send(t, "hangup")
	alice.ExpectError(t, "hangup", 4090)
	alice.Send(t, "accept")
	alice.ExpectError(t, "accept", 4040)
	alice.Send(t, "reject")
	alice.ExpectError(t, "reject", 4040)
	// Switch failures carry TRTCCalling's code; the message keeps the
	// protocol's.
	alice.Send(t, "switchToAudio")
	if ev := alice.ExpectError(t, "switchToAudio", 60001); !strings.Contains(str(ev, "msg"), "4090") {
		t.Errorf("switchToAudio ERROR msg %q lacks the protocol code 4090", str(ev, "msg"))
	}

	connect(t, alice, bob, "audio")
	alice.Send(t, "call carol audio 5")
	alice.ExpectError(t, "call carol audio 5", 4090)
	carol.ExpectNone(t, "INVITED", 300*time.Millisecond, nil)
	alice.Send(t, "call alice audio 5") // oneself
	alice.Expect(t, "ERROR", waitLong, is(map[string]any{"cmd": "call alice audio 5"}))
	// None of it disturbed the call.
	bob.ExpectNone(t, "CALL_END", 0, nil)
	alice.ExpectNone(t, "CALL_END", 0, nil)
}

func TestE2EBadCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")

	for _, tt := range []struct {
		line string
		code int
	}{
		{"dial bob", 4004},
		{"call", 4000},
		{"call bob fax", 4000},
		{"call bob video soon", 4000},
		{"setMicMute maybe", 4000},
		{"wait NOTHING", 4000},
		{"sleep forever", 4000},
	} {
		alice.Send(t, tt.line)
		alice.ExpectError(t, tt.line, tt.code)
	}
	alice.Send(t, "# a comment, then a blank line")
	alice.Send(t, "")
	alice.Send(t, "wait CALL_END 100ms")
	alice.ExpectError(t, "wait CALL_END 100ms", 4080)

	// Still working.
	alice.Send(t, "call bob audio 5")
	inviteID, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, inviteID, "alice", audio)
	// Comments and blank lines print nothing.
	if n := len(alice.eventsNamed("ERROR")); n != 8 {
		t.Errorf("alice printed %d ERROR lines, want 8 (one per bad command):\n%s", n, alice.dump())
	}
}

func TestE2EWaitCommand(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")

	// bob's script runs ahead of the call: accept waits for the invitation.
	bob.Send(t, "wait INVITED 10s")
	bob.Send(t, "accept")
	alice.Send(t, "call bob audio 10")
	callStarted(t, alice, "bob")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))

	// An event printed before the wait satisfies it; each wait uses one.
	alice.Send(t, "wait USER_ACCEPT 1s")
	alice.Send(t, "wait USER_ACCEPT 200ms")
	alice.ExpectError(t, "wait USER_ACCEPT 200ms", 4080)
	alice.ExpectNone(t, "ERROR", 0, is(map[string]any{"cmd": "wait USER_ACCEPT 1s"}))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

func TestE2EAutoAcceptAndReject(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice")
	bob := s.startClient(t, "bob", clientOpts{args: []string{"--auto-accept"}})
	carol := s.startClient(t, "carol", clientOpts{args: []string{"--auto-reject"}})

	alice.Send(t, "call bob video 10")
	callStarted(t, alice, "bob")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "alice"}))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
	alice.Expect(t, "CALL_END", waitLong, nil)

	alice.Send(t, "call carol audio 10")
	callStarted(t, alice, "carol")
	alice.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "carol"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "rejected"}))
	carol.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "alice"}))
}

func TestE2EQuitAndEOF(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "audio")

	// quit logs out: the peer sees it leave.
	bob.Send(t, "quit")
	if code := bob.ExitCode(t, exitWait); code != 0 {
		t.Errorf("bob exit status %d after quit, want 0", code)
	}
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob", "reason": "logout"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "logout"}))

	// EOF does the same.
	carol := s.startClient(t, "carol")
	connect(t, alice, carol, "audio")
	if err := carol.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if code := carol.ExitCode(t, exitWait); code != 0 {
		t.Errorf("carol exit status %d after EOF, want 0", code)
	}
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "carol", "reason": "logout"}))
}

// expiredUserSig makes a userSig for user that expired an hour ago, signed
// with the server's key.
func expiredUserSig(t *testing.T, user string) string {
	t.Helper()
	sig, err := usersig.Generate(testSecret, usersig.Params{
		SDKAppID: 1400000000, Identifier: user, Expire: 60, Time: time.Now().Add(-time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

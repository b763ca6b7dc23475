package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/callcore"
)

func TestMain(m *testing.M) {
	// Plain text on screen, so tests compare what a user reads.
	lipgloss.SetColorProfile(termenv.Ascii)
	// teatest leaves its SIGINT watcher running by design.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2"))
}

func TestLoginAndPresence(t *testing.T) {
	eng := newRecEngine()
	eng.presence = []Presence{{UserID: "bob", Status: callcore.PresenceOnline}, {UserID: "carol", Status: callcore.PresenceBusy}, {UserID: "dave", Status: callcore.PresenceOffline}}
	h := newHarnessOn(t, eng, Options{UserSig: "SIG"})
	h.run(h.m.Init())
	h.requireCall("Login alice SIG")
	h.requireCall("WatchPresence bob,carol,dave")
	v := h.view()
	for _, row := range []string{"bob                  online", "carol                busy", "dave                 offline"} {
		if !strings.Contains(v, row) {
			t.Fatalf("no row %q:\n%s", row, v)
		}
	}
	h.event(EventPresence, Presence{UserID: "dave", Status: callcore.PresenceOnline})
	h.requireView("dave                 online")
	h.event(EventPresence, callcore.Presence{UserID: "bob", Status: callcore.PresenceBusy})
	h.requireView("bob                  busy", "PRESENCE bob busy")
}

func TestContactFilter(t *testing.T) {
	h := newHarness(t, Options{})
	h.key("/", "c", "a", "r")
	h.requireView("carol")
	h.requireNotView("bob ", "dave")
	h.key("enter") // accept the filter; enter again calls the match
	h.key("enter")
	h.requireCall("Call carol 1 30")
}

func TestIncomingInviteAccept(t *testing.T) {
	h := newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeVideo))
	h.requireView("Incoming video call", "from bob", "[a] accept", "[r] reject")
	if !strings.Contains(h.bell.String(), "\a") {
		t.Fatal("no terminal bell for the invitation")
	}
	h.now = h.now.Add(7 * time.Second)
	h.requireView("ringing 00:07")
	h.key("a")
	h.requireCall("Accept inv-1 0 0")
	h.requireView("In call", "video call", "connecting", "bob")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.requireCall("StartRemoteView bob remote:bob")
	h.requireCall("StartLocalView local")
	h.now = h.now.Add(65 * time.Second)
	h.requireView("01:05")
}

func TestIncomingInviteReject(t *testing.T) {
	h := newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("carol", callcore.CallTypeAudio, "dave"))
	h.requireView("Incoming audio call", "from carol", "group call with dave")
	h.key("r")
	h.requireCall("Reject inv-1 false 0")
	h.requireView("Contacts", "You rejected the call")
	h.requireNotView("Incoming")
}

func TestEndReasons(t *testing.T) {
	outgoing := func(h *harness) {
		h.key("enter") // calls bob, the first contact
		h.requireCall("Call bob 1 30")
		h.requireView("Calling audio call to bob", "ringing 00:00")
		h.now = h.now.Add(3 * time.Second)
		h.requireView("ringing 00:03")
	}
	incoming := func(h *harness) {
		h.event(callcore.EventInvited, invited("bob", callcore.CallTypeAudio))
	}
	inCall := func(h *harness) {
		outgoing(h)
		h.event(callcore.EventUserAccept, callcore.UserRef{UserID: "bob"})
		h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
		h.requireView("In call")
	}
	cases := []struct {
		name  string
		setup func(*harness)
		ev    callcore.EventName
		data  any
		want  string
	}{
		{"reject", outgoing, callcore.EventReject, callcore.UserRef{UserID: "bob"}, "Rejected: bob rejected the call"},
		{"line busy", outgoing, callcore.EventLineBusy, callcore.LineBusy{InviteID: "out-1", Sponsor: "alice", UserID: "bob"}, "Line busy: bob is busy"},
		{"no answer", outgoing, callcore.EventNoResp, callcore.NoResp{InviteID: "out-1", Sponsor: "alice", UserID: "bob", UserIDList: []string{"bob"}}, "No answer: no answer from bob"},
		{"cancelled", incoming, callcore.EventCallingCancel, callcore.CallingCancel{InviteID: "inv-1", Sponsor: "bob", Reason: "cancelled"}, "bob cancelled the call"},
		{"timeout", incoming, callcore.EventCallingTimeout, callcore.CallingTimeout{InviteID: "inv-1", Sponsor: "bob"}, "Missed call from bob"},
		{"end hangup", inCall, callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", CallEnd: 75, Reason: "hangup"}, "Call ended: hung up by bob after 01:15"},
		{"end self", inCall, callcore.EventCallEnd, callcore.CallEnd{UserID: "alice", CallEnd: 3, Reason: "hangup"}, "hung up by you"},
		{"end rejected", outgoing, callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", Reason: "rejected"}, "Call ended: rejected"},
		{"end busy", outgoing, callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", Reason: "busy"}, "Call ended: line busy"},
		{"end no answer", outgoing, callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", Reason: "no_answer"}, "Call ended: no answer"},
		{"end cancelled", outgoing, callcore.EventCallEnd, callcore.CallEnd{UserID: "alice", Reason: "cancelled"}, "Call ended: cancelled"},
		{"end disconnected", inCall, callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", Reason: "disconnected"}, "bob lost the connection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			tc.setup(h)
			h.event(tc.ev, tc.data)
			h.requireView(tc.want, "Contacts", "events: ", string(tc.ev))
			h.requireNotView("Calling", "In call", "Incoming")
			// The server's CALL_END after REJECT etc. keeps the specific reason.
			h.event(callcore.EventCallEnd, callcore.CallEnd{UserID: "bob", Reason: "rejected"})
			h.requireView(tc.want)
		})
	}
}

func TestHangupAndCancelKeys(t *testing.T) {
	h := newHarness(t, Options{})
	h.key("enter")
	h.key("h")
	h.requireCall("Hangup")
	h.event(callcore.EventCallEnd, callcore.CallEnd{UserID: "alice", Reason: "cancelled"})
	h.requireView("Call ended: cancelled")
}

func TestInCallEvents(t *testing.T) {
	h := newHarness(t, Options{})
	h.key("c") // video call to bob
	h.requireCall("Call bob 2 30")
	h.event(callcore.EventUserAccept, callcore.UserRef{UserID: "bob"})
	h.requireView("bob accepted")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.requireView("In call video call", "bob joined")
	line := func(user string) string {
		for _, l := range strings.Split(h.view(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), user+" ") {
				return l
			}
		}
		t.Fatalf("no participant line for %s:\n%s", user, h.view())
		return ""
	}
	// No initial availability events exist: mic and camera count as on.
	if l := line("bob"); !strings.Contains(l, "mic ●") || !strings.Contains(l, "cam ●") {
		t.Fatalf("initial bob line %q", l)
	}
	h.event(callcore.EventUserAudioAvailable, callcore.AudioAvailable{UserID: "bob", IsAudioAvailable: false})
	h.event(callcore.EventUserVideoAvailable, callcore.VideoAvailable{UserID: "bob", IsVideoAvailable: false})
	if l := line("bob"); !strings.Contains(l, "mic ✕ muted") || !strings.Contains(l, "cam ○ off") {
		t.Fatalf("bob line after media off %q", l)
	}
	h.event(callcore.EventUserVideoAvailable, callcore.VideoAvailable{UserID: "bob", IsVideoAvailable: true})
	if l := line("bob"); !strings.Contains(l, "mic ✕ muted") || !strings.Contains(l, "cam ●") {
		t.Fatalf("bob line after camera on %q", l)
	}
	h.event(callcore.EventUserVoiceVolume, callcore.VoiceVolume{VolumeMap: map[string]int{"bob": 60}})
	if l := line("bob"); !strings.Contains(l, "▮▮▮▯▯") {
		t.Fatalf("bob volume %q", l)
	}
	// Group: carol joins, dave is still ringing.
	h.event(callcore.EventGroupCallInviteeListUpdate, callcore.InviteeList{UserIDList: []string{"dave"}})
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "carol"})
	h.requireView("ringing: dave")
	line("carol")
	h.event(callcore.EventUserLeave, callcore.UserLeave{UserID: "carol", Reason: "hangup"})
	h.requireView("carol left (hangup)")
	h.requireNotView("  carol ")
	h.event(callcore.EventCallTypeChanged, callcore.CallTypeChanged{OldCallType: 2, NewCallType: 1, UserID: "bob"})
	h.requireView("bob switched to audio", "In call audio call")
	h.event(callcore.EventError, callcore.Error{Code: 4090, Msg: "wrong state"})
	h.requireView("error 4090: wrong state")
	h.event(callcore.EventKickedOut, callcore.KickedOut{Reason: "multipleAccount"})
	h.requireView("Signed out", "multipleAccount", "signed out", "KICKED_OUT")
	h.requireNotView("In call")
}

func TestMuteCameraSwitchKeys(t *testing.T) {
	h := newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeAudio))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.requireView("mic on")
	h.key("m")
	h.requireCall("SetMicMute true")
	h.requireView("mic muted")
	if l := youLine(h.view()); !strings.Contains(l, "mic ✕ muted") {
		t.Fatalf("own line %q", l)
	}
	h.key("m")
	h.requireCall("SetMicMute false")
	h.requireView("mic on")
	h.key("c")
	h.requireCall("OpenCamera")
	h.requireView("cam on")
	h.key("s")
	h.requireCall("SwitchToVideoCall")
	h.key("v") // ascii -> truecolor (no sixel in this terminal)
	h.requireView("Video renderer: truecolor")
}

func youLine(v string) string {
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "you ") {
			return l
		}
	}
	return ""
}

func TestGroupCallFromSelection(t *testing.T) {
	h := newHarness(t, Options{})
	h.key(" ", "down", "down", " ")
	h.requireView("[x]", "2 contacts selected")
	h.key("c")
	h.requireCall(`GroupCall bob,dave 2 ""`)
	h.requireView("Calling video call to bob, dave")
	h.event(callcore.EventReject, callcore.UserRef{UserID: "dave"})
	h.requireView("dave rejected the call", "Calling video call to bob")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.requireView("In call")
}

func TestGroupCallFromIMGroup(t *testing.T) {
	h := newHarness(t, Options{Groups: []string{"team", "ops"}})
	h.key("g", "down", "tab", "enter")
	h.requireCall(`GroupCall  2 "ops"`)
	h.requireView("Calling video call to group ops")
}

func TestDialByName(t *testing.T) {
	h := newHarness(t, Options{})
	h.key("d")
	h.requireView("Dial by name")
	h.key("e", "v", "e", "tab", "enter")
	h.requireCall("Call eve 2 30")
}

func TestEngineErrorIsShown(t *testing.T) {
	h := newHarness(t, Options{})
	h.eng.fail = callcore.ErrWrongState
	h.key("enter")
	h.requireView("call: callcore: wrong state")
	h.requireNotView("Calling")
}

func TestQuitStopsPump(t *testing.T) {
	h := newHarness(t, Options{})
	h.key("q")
	if !h.quit {
		t.Fatal("q did not quit")
	}
	if h.eng.listeners() == 0 {
		t.Fatal("no engine handlers registered")
	}
	h.m.Close()
	if n := h.eng.listeners(); n != 0 {
		t.Fatalf("%d handlers left after Close", n)
	}
}

func TestCameraIndicatorFollowsCallType(t *testing.T) {
	h := newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeAudio))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	bobLine := func() string {
		for _, l := range strings.Split(h.view(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "bob ") {
				return l
			}
		}
		t.Fatalf("no line for bob:\n%s", h.view())
		return ""
	}
	if l := bobLine(); !strings.Contains(l, "cam ○ off") {
		t.Fatalf("audio call: bob's camera should show off: %q", l)
	}
	h.event(callcore.EventCallTypeChanged, callcore.CallTypeChanged{OldCallType: 1, NewCallType: 2, UserID: "bob"})
	if l := bobLine(); !strings.Contains(l, "cam ●") {
		t.Fatalf("after switching to video bob's camera should show on: %q", l)
	}
}

// The quality line says whether media is direct or relayed through TURN,
// and names the relayed members of a group whose paths differ.
func TestQualityLineShowsPath(t *testing.T) {
	h := newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeAudio, "carol"))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "carol"})
	ok := PeerStats{RTT: 20 * time.Millisecond}
	with := func(p Path) PeerStats { s := ok; s.Path = p; return s }

	h.send(statsMsg{"bob": ok, "carol": ok})
	h.requireView("quality ●●● good rtt 20ms loss 0.0%")
	h.requireNotView("direct", "relayed")

	h.send(statsMsg{"bob": with(PathDirect), "carol": with(PathDirect)})
	h.requireView("rtt 20ms loss 0.0% · direct")

	h.send(statsMsg{"bob": with(PathRelayed), "carol": with(PathRelayed)})
	h.requireView("rtt 20ms loss 0.0% · relayed (TURN)")
	h.requireNotView("relayed (TURN) to")

	h.send(statsMsg{"bob": with(PathDirect), "carol": with(PathRelayed)})
	h.requireView("· relayed (TURN) to carol")
}

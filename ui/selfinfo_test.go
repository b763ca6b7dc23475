package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/termcall/termcall/callcore"
)

func TestContactsShowNickname(t *testing.T) {
	eng := newRecEngine()
	eng.presence = []Presence{{UserID: "bob", Status: callcore.PresenceOnline, NickName: "Bobby Tables the Third"}, {UserID: "carol", Status: callcore.PresenceOffline}}
	h := newHarnessOn(t, eng, Options{UserSig: "SIG"})
	h.run(h.m.Init())
	h.requireCall("WatchPresence bob,carol,dave")
	h.requireView("Bobby Tables the Third (bob) online")
	// The name column widens to the longest label, so presence lines up.
	requireAligned(t, h.view(), "Bobby Tables the Third (bob)", "online", "carol", "offline", "dave", "unknown")

	// A presence push brings a new nickname; wide characters line up by cells.
	h.event(EventPresence, callcore.Presence{UserID: "carol", Status: callcore.PresenceOnline, NickName: "王小明"})
	h.requireView("王小明 (carol)")
	requireAligned(t, h.view(), "王小明 (carol)", "online", "Bobby Tables", "online")
	// An empty nickname in presence means they cleared it.
	h.event(EventPresence, callcore.Presence{UserID: "bob", Status: callcore.PresenceBusy})
	h.requireView("bob                  busy")
	h.requireNotView("Bobby")

	// "/" finds a contact by nickname.
	h.key("/", "王")
	h.requireView("王小明 (carol)", "1 contact")
	h.requireNotView("dave", "busy  ")
	h.key("enter", "enter")
	h.requireCall("Call carol 1 30")
}

func TestIncomingPromptShowsSponsorNickname(t *testing.T) {
	h := newHarness(t, Options{})
	inv := invited("bob", callcore.CallTypeAudio)
	inv.SponsorNickName = "Bobby"
	h.event(callcore.EventInvited, inv)
	h.requireView("Incoming audio call", "from Bobby (bob)")

	// Without a nickname: the ID alone.
	h = newHarness(t, Options{})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeAudio))
	h.requireView("from bob ")
	h.requireNotView("(bob)")
}

// requireAligned checks, for pairs of (row marker, column word), that the
// word starts at the same display column in each marked row.
func requireAligned(t *testing.T, screen string, pairs ...string) {
	t.Helper()
	col := -1
	for i := 0; i+1 < len(pairs); i += 2 {
		var row string
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(l, pairs[i]) {
				row = l
				break
			}
		}
		j := strings.LastIndex(row, pairs[i+1])
		if row == "" || j < 0 {
			t.Fatalf("no row with %q and %q:\n%s", pairs[i], pairs[i+1], screen)
		}
		c := lipgloss.Width(row[:j])
		if col >= 0 && c != col {
			t.Fatalf("%q starts at column %d in the %q row, want %d:\n%s", pairs[i+1], c, pairs[i], col, screen)
		}
		col = c
	}
}

func TestSelfInfoSetAfterLogin(t *testing.T) {
	h := newHarness(t, Options{UserSig: "SIG", Self: callcore.SelfInfo{NickName: "Alice A.", Avatar: "https://a/x.png"}})
	if h.eng.called("SetSelfInfo") {
		t.Fatal("SetSelfInfo before the login")
	}
	h.run(h.m.Init())
	calls := strings.Join(h.eng.Calls(), "\n")
	login, self := strings.Index(calls, "Login alice SIG"), strings.Index(calls, `SetSelfInfo "Alice A." "https://a/x.png"`)
	if login < 0 || self < login {
		t.Fatalf("want Login then SetSelfInfo; calls:\n%s", calls)
	}

	// Nothing configured: nothing sent (the server keeps no empty info).
	h = newHarness(t, Options{UserSig: "SIG"})
	h.run(h.m.Init())
	if h.eng.called("SetSelfInfo") {
		t.Fatalf("SetSelfInfo without a nickname: %q", h.eng.Calls())
	}
}

func TestStartErrorsShownAsErrors(t *testing.T) {
	h := newHarness(t, Options{StartErrors: []callcore.Error{
		{Code: callcore.CodeICEServer, Msg: "ICE server turn:t:3478: no credentials"},
	}})
	h.requireView("error 60102: ICE server turn:t:3478: no credentials", "ERROR 60102 ICE server turn:t:3478")
}

package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/termcall/termcall/callcore"
)

// TestIncomingPromptProgram runs the real Bubble Tea program: the invitation
// travels engine handler → pump → Update, the prompt is drawn, and the
// accept key reaches the engine.
func TestIncomingPromptProgram(t *testing.T) {
	eng := newRecEngine()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	bell := &lockedBuffer{}
	m := New(eng, Options{
		UserID: "alice", Contacts: []string{"bob", "carol"}, Bell: bell,
		Now: func() time.Time { return fixed }, Getenv: func(string) string { return "" },
	})
	defer m.Close()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	eng.emit(callcore.EventSDKReady, callcore.SDKReady{UserID: "alice"})
	eng.emit(callcore.EventInvited, invited("bob", callcore.CallTypeVideo))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("Incoming video call")) && bytes.Contains(b, []byte("from bob"))
	}, teatest.WithDuration(10*time.Second))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(bell.String(), "\a") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(bell.String(), "\a") {
		t.Fatal("no bell")
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
	for !eng.called("Accept inv-1") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !eng.called("Accept inv-1") {
		t.Fatalf("accept key did not reach the engine: %q", eng.Calls())
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestIncomingPromptGolden compares the prompt screen at 80x24 with the
// ASCII colour profile against testdata (refresh with -update).
func TestIncomingPromptGolden(t *testing.T) {
	eng := newRecEngine()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := New(eng, Options{
		UserID: "alice", Contacts: []string{"bob", "carol"}, Bell: &lockedBuffer{},
		Now: func() time.Time { return fixed }, Getenv: func(string) string { return "" },
	})
	defer m.Close()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	eng.emit(callcore.EventSDKReady, callcore.SDKReady{UserID: "alice"})
	eng.emit(callcore.EventInvited, invited("bob", callcore.CallTypeVideo, "carol"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("group call with carol"))
	}, teatest.WithDuration(10*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	teatest.RequireEqualOutput(t, []byte(final.View()))
}

package ui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
)

// recEngine is a recording Engine for model tests: it remembers every
// call and lets the test emit events through the handlers the model
// subscribed.
type recEngine struct {
	mu       sync.Mutex
	calls    []string
	handlers map[int]func(callcore.Event)
	next     int
	presence []Presence
	fail     error
}

func newRecEngine() *recEngine {
	return &recEngine{handlers: make(map[int]func(callcore.Event))}
}

func (e *recEngine) rec(format string, args ...any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
	return e.fail
}

func (e *recEngine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

func (e *recEngine) called(prefix string) bool {
	for _, c := range e.Calls() {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func (e *recEngine) emit(name callcore.EventName, data any) {
	e.mu.Lock()
	var hs []func(callcore.Event)
	for _, h := range e.handlers {
		hs = append(hs, h)
	}
	e.mu.Unlock()
	for _, h := range hs {
		h(callcore.Event{Name: name, Time: time.Now(), Data: data})
	}
}

func (e *recEngine) listeners() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.handlers)
}

func (e *recEngine) Subscribe(h func(callcore.Event)) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	id := e.next
	e.handlers[id] = h
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.handlers, id)
	}
}

func (e *recEngine) Login(_ context.Context, u, s string) error { return e.rec("Login %s %s", u, s) }
func (e *recEngine) Call(_ context.Context, u string, t callcore.CallType, to int) (callcore.CallInfo, error) {
	return callcore.CallInfo{InviteID: "out-1", RoomID: 7, Invitees: []string{u}}, e.rec("Call %s %d %d", u, t, to)
}
func (e *recEngine) GroupCall(_ context.Context, us []string, t callcore.CallType, g string) (callcore.CallInfo, error) {
	return callcore.CallInfo{InviteID: "out-g", RoomID: 8, Invitees: us}, e.rec("GroupCall %s %d %q", strings.Join(us, ","), t, g)
}
func (e *recEngine) Accept(_ context.Context, id string, r uint32, t callcore.CallType) error {
	return e.rec("Accept %s %d %d", id, r, t)
}
func (e *recEngine) Reject(_ context.Context, id string, busy bool, t callcore.CallType) error {
	return e.rec("Reject %s %v %d", id, busy, t)
}
func (e *recEngine) Hangup(context.Context) error            { return e.rec("Hangup") }
func (e *recEngine) SwitchToAudioCall(context.Context) error { return e.rec("SwitchToAudioCall") }
func (e *recEngine) SwitchToVideoCall(context.Context) error { return e.rec("SwitchToVideoCall") }
func (e *recEngine) SetVideoQuality(q callcore.VideoQuality) error {
	return e.rec("SetVideoQuality %s", q)
}

func (e *recEngine) SetMicMute(_ context.Context, m bool) error {
	return e.rec("SetMicMute %v", m)
}
func (e *recEngine) OpenCamera(context.Context) error  { return e.rec("OpenCamera") }
func (e *recEngine) CloseCamera(context.Context) error { return e.rec("CloseCamera") }
func (e *recEngine) StartRemoteView(u, v string) error { return e.rec("StartRemoteView %s %s", u, v) }
func (e *recEngine) StopRemoteView(u, v string) error  { return e.rec("StopRemoteView %s %s", u, v) }
func (e *recEngine) StartLocalView(v string) error     { return e.rec("StartLocalView %s", v) }
func (e *recEngine) StopLocalView(v string) error      { return e.rec("StopLocalView %s", v) }
func (e *recEngine) WatchPresence(_ context.Context, us []string) ([]Presence, error) {
	return e.presence, e.rec("WatchPresence %s", strings.Join(us, ","))
}

// lockedBuffer collects bells written from Cmd goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness drives a synchronous-mode Model: Update, then run the returned
// Cmds (engine calls, list filtering) and feed their messages back.
type harness struct {
	t    testing.TB
	eng  *recEngine
	m    *Model
	bell *lockedBuffer
	now  time.Time
	quit bool
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	return newHarnessOn(t, newRecEngine(), opts)
}

func newHarnessOn(t testing.TB, eng *recEngine, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, eng: eng, bell: &lockedBuffer{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts.Bell = h.bell
	opts.Now = func() time.Time { return h.now }
	opts.Getenv = func(string) string { return "" }
	if opts.UserID == "" {
		opts.UserID = "alice"
	}
	if opts.Contacts == nil {
		opts.Contacts = []string{"bob", "carol", "dave"}
	}
	h.m = New(h.eng, opts)
	h.m.c.inline = true // h.run runs each Cmd in place, so no background waits
	t.Cleanup(h.m.Close)
	h.send(tea.WindowSizeMsg{Width: 100, Height: 40})
	h.event(callcore.EventSDKReady, callcore.SDKReady{Name: "ts_im_ready", UserID: "alice"})
	return h
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	default:
		h.send(msg)
	}
}

func (h *harness) event(name callcore.EventName, data any) {
	h.t.Helper()
	h.send(engineEventMsg(callcore.Event{Name: name, Time: h.now, Data: data}))
}

func (h *harness) key(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case " ":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		h.send(msg)
	}
}

func (h *harness) view() string { return h.m.View() }

func (h *harness) requireView(want ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range want {
		if !strings.Contains(v, w) {
			h.t.Fatalf("screen lacks %q:\n%s", w, v)
		}
	}
}

func (h *harness) requireNotView(bad ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range bad {
		if strings.Contains(v, w) {
			h.t.Fatalf("screen shows %q:\n%s", w, v)
		}
	}
}

func (h *harness) requireCall(want string) {
	h.t.Helper()
	for _, c := range h.eng.Calls() {
		if c == want {
			return
		}
	}
	h.t.Fatalf("engine call %q not made; calls: %q", want, h.eng.Calls())
}

func invited(from string, callType callcore.CallType, others ...string) callcore.Invited {
	return callcore.Invited{
		InviteID: "inv-1", Sponsor: from, UserIDList: append([]string{"alice"}, others...),
		InviteData: callcore.InviteData{Version: 4, CallType: callType, RoomID: 42}, Timeout: 30,
	}
}

func teaWindow(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

func (e *recEngine) SetSelfInfo(_ context.Context, info callcore.SelfInfo) error {
	return e.rec("SetSelfInfo %q %q", info.NickName, info.Avatar)
}

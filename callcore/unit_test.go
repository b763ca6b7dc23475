package callcore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/termcall/termcall/server/proto"
)

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		StateUnknown: "unknown", StateIdle: "idle", StateDialing: "dialing",
		StateRinging: "ringing", StateConnected: "connected", State(42): "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
	var zero State
	if zero != StateUnknown {
		t.Fatal("zero State must be StateUnknown")
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{ErrNotLoggedIn, 4010},
		{fmt.Errorf("call: %w", ErrWrongState), 4090},
		{ErrInvalidArgument, 4000},
		{ErrNoInvitation, 4040},
		{fmt.Errorf("accept: %w", proto.Errorf(proto.CodeRoomFull, "full")), 4091},
		{errors.New("boom"), 5000},
		{ErrClosed, 5000},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Config{ServerURL: "ws://127.0.0.1:1/ws", SDKAppID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty URL: %v", err)
	}
	if _, err := New(Config{ServerURL: "ws://x/ws", GroupTimeout: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative group timeout: %v", err)
	}
	e := newTestEngine(t)
	if e.cfg.GroupTimeout != DefaultGroupTimeout || e.cfg.ReconnectMin != DefaultReconnectMin || e.cfg.ReconnectMax != DefaultReconnectMax {
		t.Fatalf("defaults not applied: %+v", e.cfg)
	}
	if e.State() != StateIdle || e.UserID() != "" {
		t.Fatalf("fresh engine: %s %q", e.State(), e.UserID())
	}
	e2 := newTestEngine(t)
	if e.sessionID == e2.sessionID || len(e.sessionID) != 32 {
		t.Fatalf("session IDs %q %q", e.sessionID, e2.sessionID)
	}
}

// Handlers run in registration order on one goroutine; Off removes exactly
// the handler it names.
func TestOnOffOrder(t *testing.T) {
	e := newTestEngine(t)
	got := make(chan string, 10)
	e.On(EventReject, func(ev Event) { got <- "a:" + data[UserRef](t, ev).UserID })
	idB := e.On(EventReject, func(ev Event) { got <- "b:" + data[UserRef](t, ev).UserID })
	e.On(EventReject, func(ev Event) { got <- "c:" + data[UserRef](t, ev).UserID })
	e.On(EventUserAccept, func(Event) { got <- "other" })

	e.mu.Lock()
	e.emit(EventReject, UserRef{UserID: "u1"})
	e.mu.Unlock()
	for _, want := range []string{"a:u1", "b:u1", "c:u1"} {
		if g := <-got; g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
	e.Off(EventReject, idB)
	e.Off(EventReject, 9999) // unknown ids are ignored
	e.mu.Lock()
	e.emit(EventReject, UserRef{UserID: "u2"})
	e.emit(EventReject, UserRef{UserID: "u3"})
	e.mu.Unlock()
	for _, want := range []string{"a:u2", "c:u2", "a:u3", "c:u3"} {
		if g := <-got; g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
	// A handler may register others while events flow (no deadlock).
	done := make(chan struct{})
	e.On(EventNoResp, func(Event) {
		e.On(EventNoResp, func(Event) {})
		close(done)
	})
	e.mu.Lock()
	e.emit(EventNoResp, NoResp{})
	e.mu.Unlock()
	<-done
}

func TestArgumentsAndStateBeforeLogin(t *testing.T) {
	e := newTestEngine(t)
	c := context.Background()
	_, err := e.Call(c, "bad id!", 1, 30)
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.Call(c, "bob", 3, 30)
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.Call(c, "bob", 1, -1)
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.Call(c, "bob", 1, 3601)
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.Call(c, "bob", 1, 30)
	wantErr(t, err, ErrNotLoggedIn)
	_, err = e.GroupCall(c, nil, 1, "")
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.GroupCall(c, []string{"bob"}, 0, "")
	wantErr(t, err, ErrInvalidArgument)
	wantErr(t, e.Accept(c, "", 0, 5), ErrInvalidArgument)
	wantErr(t, e.Accept(c, "", 0, 0), ErrNotLoggedIn)
	wantErr(t, e.Reject(c, "", false, 0), ErrNotLoggedIn)
	wantErr(t, e.Hangup(c), ErrNotLoggedIn)
	wantErr(t, e.Logout(c), ErrNotLoggedIn)
	wantErr(t, e.SwitchToAudioCall(c), ErrNotLoggedIn)
	wantErr(t, e.Login(c, "", "sig"), ErrInvalidArgument)
	wantErr(t, e.Login(c, "bob", ""), ErrInvalidArgument)

	wantErr(t, e.StartRemoteView("", "v"), ErrInvalidArgument)
	wantErr(t, e.StartRemoteView("bob", ""), ErrInvalidArgument)
	wantErr(t, e.StartRemoteView("bob", "v"), ErrWrongState)
	wantErr(t, e.StopRemoteView("bob", ""), ErrInvalidArgument)
	must(t, e.StopRemoteView("bob", "v"))
	wantErr(t, e.StartLocalView(""), ErrInvalidArgument)
	must(t, e.StartLocalView("preview"))
	must(t, e.StartLocalView("preview"))
	if v := e.Views(); len(v.Local) != 1 || v.Local[0] != "preview" {
		t.Fatalf("views %+v", v)
	}
	must(t, e.StopLocalView("preview"))
	if v := e.Views(); len(v.Local) != 0 {
		t.Fatalf("views %+v", v)
	}
	// Local mute/camera state works without a call.
	must(t, e.SetMicMute(c, true))
	must(t, e.OpenCamera(c))
	must(t, e.CloseCamera(c))

	// Dialing a server that is not there fails and leaves the engine usable.
	err = e.Login(c, "bob", "sig")
	if err == nil || e.State() != StateIdle {
		t.Fatalf("login to nowhere: %v, %s", err, e.State())
	}
	must(t, e.Close())
	wantErr(t, e.Login(c, "bob", "sig"), ErrClosed)
}

package callcore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// connectedPair returns alice and bob in a 1:1 call of callType with
// media on both sides through relayMedia.
func connectedPair(t *testing.T, callType CallType) (alice, bob *client, as, bs *relaySession) {
	t.Helper()
	srv := startServer(t, nil)
	am, bm := &relayMedia{}, &relayMedia{}
	alice = newClient(t, srv.URL(), "alice", WithMedia(am))
	bob = newClient(t, srv.URL(), "bob", WithMedia(bm))
	_, err := alice.Call(ctx(t), "bob", callType, 30)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, bob.Accept(ctx(t), "", 0, 0))
	alice.rec.wait(t, EventUserEnter, 1)
	bob.rec.wait(t, EventUserEnter, 1)
	return alice, bob, am.session(0), bm.session(0)
}

// An audio call switched to video must turn the camera on on both sides
// (the room started with it off) and tell the others, and back again.
func TestSwitchToVideoTurnsCameraOn(t *testing.T) {
	alice, bob, as, bs := connectedPair(t, proto.CallTypeAudio)
	as.waitCall(t, "cam-off")
	bs.waitCall(t, "cam-off")

	must(t, alice.SwitchToVideoCall(ctx(t)))
	for _, s := range []*relaySession{as, bs} {
		s.waitCall(t, "type-video")
		s.waitCall(t, "cam-on")
	}
	if v := data[VideoAvailable](t, bob.rec.wait(t, EventUserVideoAvailable, 1)); v != (VideoAvailable{UserID: "alice", IsVideoAvailable: true}) {
		t.Fatalf("bob: %+v", v)
	}
	if v := data[VideoAvailable](t, alice.rec.wait(t, EventUserVideoAvailable, 1)); v != (VideoAvailable{UserID: "bob", IsVideoAvailable: true}) {
		t.Fatalf("alice: %+v", v)
	}

	must(t, bob.SwitchToAudioCall(ctx(t)))
	if v := data[VideoAvailable](t, bob.rec.wait(t, EventUserVideoAvailable, 2)); v.IsVideoAvailable {
		t.Fatalf("bob after switch to audio: %+v", v)
	}
	eventually(t, "alice's camera off again", func() bool {
		c := as.calls()
		return c[len(c)-1] == "cam-off"
	})
}

// A camera the user closed stays closed when the call switches to video.
func TestSwitchToVideoKeepsClosedCamera(t *testing.T) {
	alice, bob, as, _ := connectedPair(t, proto.CallTypeAudio)
	must(t, alice.CloseCamera(ctx(t)))
	must(t, bob.SwitchToVideoCall(ctx(t)))
	alice.rec.wait(t, EventCallTypeChanged, 1)
	as.waitCall(t, "type-video")
	if c := as.calls(); c[len(c)-1] != "cam-off" {
		t.Fatalf("alice's media calls %v: camera turned on after CloseCamera", c)
	}
}

func TestSwitchErrorsCarryTRTCCallingCodes(t *testing.T) {
	alice, _, _, _ := connectedPair(t, proto.CallTypeAudio)
	err := alice.SwitchToAudioCall(ctx(t))
	if ErrorCode(err) != CodeSwitchToAudioFailed || !errors.Is(err, ErrWrongState) {
		t.Fatalf("switch to audio in an audio call: %v (code %d)", err, ErrorCode(err))
	}
	idle := newClient(t, "ws://127.0.0.1:1/ws", "")
	if err := idle.SwitchToVideoCall(ctx(t)); ErrorCode(err) != CodeSwitchToVideoFailed || !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("switch while logged out: %v (code %d)", err, ErrorCode(err))
	}
}

// Media that never connects ends a 1:1 call on both sides with ERROR and
// reason media_failed, whichever side notices first.
func TestPeerFailedEndsCallWithMediaFailed(t *testing.T) {
	srv := startServer(t, nil)
	am, bm := &relayMedia{silent: true}, &relayMedia{silent: true}
	alice := newClient(t, srv.URL(), "alice", WithMedia(am))
	bob := newClient(t, srv.URL(), "bob", WithMedia(bm))
	_, err := alice.Call(ctx(t), "bob", proto.CallTypeVideo, 30)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, bob.Accept(ctx(t), "", 0, 0))
	eventually(t, "bob's media session", func() bool { return bm.session(0) != nil })
	bs := bm.session(0)
	bs.waitCall(t, "add-offer:alice")

	bs.mc.PeerFailed("alice", errors.New("ice failed"))
	for _, c := range []*client{alice, bob} {
		e := data[Error](t, c.rec.wait(t, EventError, 1))
		if e.Code != CodeMediaFailed {
			t.Fatalf("%s: ERROR %+v", c.user, e)
		}
		end := data[CallEnd](t, c.rec.wait(t, EventCallEnd, 1))
		if end.Reason != proto.ReasonMediaFailed {
			t.Fatalf("%s: CALL_END %+v", c.user, end)
		}
		c.waitState(t, StateIdle)
	}
	// The far side's own late failure report changes nothing.
	am.session(0).mc.PeerFailed("bob", errors.New("late"))
	time.Sleep(50 * time.Millisecond)
	if n := len(alice.rec.all(EventError)); n != 1 {
		t.Fatalf("alice got %d ERROR events", n)
	}
	if n := len(alice.rec.all(EventUserEnter)) + len(bob.rec.all(EventUserEnter)); n != 0 {
		t.Fatalf("USER_ENTER without media: %d", n)
	}
}

// In a group call one member's failed media is reported, but the call goes
// on with the others.
func TestPeerFailedInGroupKeepsCall(t *testing.T) {
	srv := startServer(t, nil)
	am := &relayMedia{}
	alice := newClient(t, srv.URL(), "alice", WithMedia(am))
	bob := newClient(t, srv.URL(), "bob", WithMedia(&relayMedia{}))
	carol := newClient(t, srv.URL(), "carol", WithMedia(&relayMedia{silent: true})) // never offers
	_, err := alice.GroupCall(ctx(t), []string{"bob", "carol"}, proto.CallTypeAudio, "")
	must(t, err)
	for _, c := range []*client{bob, carol} {
		c.rec.wait(t, EventInvited, 1)
		must(t, c.Accept(ctx(t), "", 0, 0))
	}
	if u := data[UserRef](t, alice.rec.wait(t, EventUserEnter, 1)); u.UserID != "bob" {
		t.Fatalf("USER_ENTER %+v", u)
	}
	eventually(t, "carol in alice's call", func() bool { return am.session(0).has("add-answer:carol") })

	am.session(0).mc.PeerFailed("carol", errors.New("ice failed"))
	if e := data[Error](t, alice.rec.wait(t, EventError, 1)); e.Code != CodeMediaFailed || !strings.Contains(e.Msg, "carol") {
		t.Fatalf("ERROR %+v", e)
	}
	// A report for a member whose media is up is stale: ignored.
	am.session(0).mc.PeerFailed("bob", errors.New("stale"))
	time.Sleep(50 * time.Millisecond)
	if n := len(alice.rec.all(EventError)); n != 1 || alice.State() != StateConnected || len(alice.rec.all(EventCallEnd)) != 0 {
		t.Fatalf("after failures: state %v, events %v", alice.State(), alice.rec.names())
	}
}

// After lost media was reported (USER_LEAVE media_lost), the server's
// later memberLeft for the same member is not reported again.
func TestUserLeaveOnceAfterMediaLost(t *testing.T) {
	srv := startServer(t, nil)
	am := &relayMedia{}
	alice := newClient(t, srv.URL(), "alice", WithMedia(am))
	bob := newClient(t, srv.URL(), "bob", WithMedia(&relayMedia{}))
	carol := newClient(t, srv.URL(), "carol", WithMedia(&relayMedia{}))
	_, err := alice.GroupCall(ctx(t), []string{"bob", "carol"}, proto.CallTypeAudio, "")
	must(t, err)
	for _, c := range []*client{bob, carol} {
		c.rec.wait(t, EventInvited, 1)
		must(t, c.Accept(ctx(t), "", 0, 0))
	}
	alice.rec.wait(t, EventUserEnter, 2)

	am.session(0).mc.PeerDown("bob")
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: "bob", Reason: "media_lost"}) {
		t.Fatalf("USER_LEAVE %+v", l)
	}
	must(t, bob.Hangup(ctx(t)))
	must(t, carol.Hangup(ctx(t)))
	alice.rec.wait(t, EventUserLeave, 2) // carol's
	alice.rec.wait(t, EventCallEnd, 1)
	var leaves []UserLeave
	for _, ev := range alice.rec.all(EventUserLeave) {
		leaves = append(leaves, ev.Data.(UserLeave))
	}
	if len(leaves) != 2 || leaves[1].UserID != "carol" {
		t.Fatalf("USER_LEAVE events %+v, want bob once (media_lost) and carol", leaves)
	}
}

// Login racing Close must leave no client and no server session behind.
func TestLoginRacingClose(t *testing.T) {
	srv := startServer(t, nil)
	watcher := newClient(t, srv.URL(), "watcher")
	for i := range 20 {
		e, err := New(Config{ServerURL: srv.URL(), SDKAppID: testAppID})
		must(t, err)
		done := make(chan error, 1)
		go func() { done <- e.Login(context.Background(), "racer", sig(t, "racer")) }()
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		must(t, e.Close())
		lerr := <-done
		if lerr == nil {
			// Login finished before Close: Close logged it out.
			t.Logf("round %d: login won", i)
		} else if !errors.Is(lerr, ErrClosed) {
			t.Logf("round %d: login: %v", i, lerr)
		}
		// Well within the server's 5 s resume grace: a session left
		// waiting for its owner would still count as online here.
		eventually(t, "racer offline", func() bool {
			ps, err := watcher.WatchPresence(ctx(t), []string{"racer"})
			return err == nil && len(ps) == 1 && ps[0].Status == proto.PresenceOffline
		})
		if e.UserID() != "" {
			t.Fatalf("round %d: engine logged in after Close", i)
		}
	}
}

func TestCallingEndAlias(t *testing.T) {
	alice, bob, _, _ := connectedPair(t, proto.CallTypeAudio)
	got := make(chan Event, 1)
	id := alice.On(EventCallingEnd, func(ev Event) { got <- ev })
	must(t, bob.Hangup(ctx(t)))
	select {
	case ev := <-got:
		if ev.Name != EventCallEnd {
			t.Fatalf("CALLING_END handler got %s", ev.Name)
		}
	case <-time.After(waitLimit):
		t.Fatal("no CALL_END through CALLING_END")
	}
	alice.Off(EventCallingEnd, id)
}

func TestSetLogLevel(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})
	e, err := New(Config{ServerURL: "ws://127.0.0.1:1/ws", SDKAppID: testAppID}, WithLogger(slog.New(h)))
	must(t, err)
	defer e.Close()
	e.log.Info("before")
	e.SetLogLevel(slog.LevelError)
	e.log.Warn("dropped")
	e.log.Error("kept")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "before") || strings.Contains(out, "dropped") || !strings.Contains(out, "kept") {
		t.Fatalf("log:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SetSelfInfo travels with our invitations and our presence, and is sent
// again to a server session that forgot it.
func TestSetSelfInfo(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	_, err := bob.WatchPresence(ctx(t), []string{"alice"})
	must(t, err)
	must(t, alice.SetSelfInfo(ctx(t), SelfInfo{NickName: "Alice Liddell", Avatar: "https://example.invalid/a.png"}))
	eventually(t, "bob sees alice's nickname", func() bool {
		for _, ev := range bob.rec.all(EventPresence) {
			if p := ev.Data.(Presence); p.UserID == "alice" && p.NickName == "Alice Liddell" && p.Avatar == "https://example.invalid/a.png" {
				return true
			}
		}
		return false
	})
	_, err = alice.Call(ctx(t), "bob", proto.CallTypeAudio, 30)
	must(t, err)
	inv := data[Invited](t, bob.rec.wait(t, EventInvited, 1))
	if inv.SponsorNickName != "Alice Liddell" || inv.SponsorAvatar != "https://example.invalid/a.png" {
		t.Fatalf("INVITED %+v", inv)
	}
	if err := alice.SetSelfInfo(ctx(t), SelfInfo{NickName: strings.Repeat("x", proto.MaxNickName+1)}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("long nickname: %v", err)
	}
}

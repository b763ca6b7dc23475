package callcore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/clock"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/proto"
)

// connect sets up a 1:1 call from a to b and waits until both are in it.
func connect(t *testing.T, a, b *client, callType CallType) CallInfo {
	t.Helper()
	n := len(b.rec.all(EventInvited)) + 1
	info, err := a.Call(ctx(t), b.user, callType, 30)
	must(t, err)
	b.rec.wait(t, EventInvited, n)
	must(t, b.Accept(ctx(t), "", 0, 0))
	a.waitState(t, StateConnected)
	b.waitState(t, StateConnected)
	return info
}

func TestOneToOneAcceptHangup(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake()
	srv := startServer(t, func(o *server.Options) { o.Clock = clk })
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	if alice.UserID() != "alice" || alice.State() != StateIdle {
		t.Fatalf("after login: %q %s", alice.UserID(), alice.State())
	}
	if r := data[SDKReady](t, alice.rec.wait(t, EventSDKReady, 1)); r.Name != "ts_im_ready" || r.UserID != "alice" {
		t.Fatalf("SDK_READY %+v", r)
	}

	info, err := alice.Call(ctx(t), "bob", proto.CallTypeVideo, 30)
	must(t, err)
	if info.InviteID == "" || info.RoomID == 0 || !slices.Equal(info.Invitees, []string{"bob"}) {
		t.Fatalf("call info %+v", info)
	}
	if alice.State() != StateDialing {
		t.Fatalf("caller state %s", alice.State())
	}
	inv := data[Invited](t, bob.rec.wait(t, EventInvited, 1))
	want := Invited{
		InviteID: info.InviteID, Sponsor: "alice", UserIDList: []string{"bob"},
		InviteData: InviteData{Version: 4, CallType: 2, CallEnd: 0, RoomID: info.RoomID}, Timeout: 30,
	}
	if inv.InviteID != want.InviteID || inv.Sponsor != want.Sponsor || !slices.Equal(inv.UserIDList, want.UserIDList) ||
		inv.InviteData != want.InviteData || inv.Timeout != 30 || inv.IsFromGroup {
		t.Fatalf("INVITED %+v, want %+v", inv, want)
	}
	bob.waitState(t, StateRinging)

	must(t, bob.Accept(ctx(t), "", 0, 0))
	if bob.State() != StateConnected {
		t.Fatalf("accepter state %s", bob.State())
	}
	if u := data[UserRef](t, alice.rec.wait(t, EventUserAccept, 1)); u.UserID != "bob" {
		t.Fatalf("USER_ACCEPT %+v (must be the accepter)", u)
	}
	if u := data[UserRef](t, alice.rec.wait(t, EventUserEnter, 1)); u.UserID != "bob" {
		t.Fatalf("alice USER_ENTER %+v", u)
	}
	if u := data[UserRef](t, bob.rec.wait(t, EventUserEnter, 1)); u.UserID != "alice" {
		t.Fatalf("bob USER_ENTER %+v", u)
	}
	alice.waitState(t, StateConnected)
	if n := len(bob.rec.all(EventUserAccept)); n != 0 {
		t.Fatalf("the accepter got %d USER_ACCEPT", n)
	}

	// Let the call last over a second (on the server's clock, which
	// measures it) so that the duration is not zero.
	clk.Advance(1100 * time.Millisecond)
	must(t, bob.Hangup(ctx(t)))
	if bob.State() != StateIdle {
		t.Fatalf("after hangup: %s", bob.State())
	}
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l.UserID != "bob" || l.Reason != "hangup" {
		t.Fatalf("USER_LEAVE %+v", l)
	}
	ea := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1))
	eb := data[CallEnd](t, bob.rec.wait(t, EventCallEnd, 1))
	if ea != eb || ea.CallEnd < 1 || ea.UserID != "bob" || ea.Reason != "hangup" || ea.RoomID != info.RoomID {
		t.Fatalf("CALL_END alice %+v bob %+v", ea, eb)
	}
	alice.waitState(t, StateIdle)
	if n := len(bob.rec.all(EventCallEnd)); n != 1 {
		t.Fatalf("bob got %d CALL_END", n)
	}

	// The engines are reusable for the next call.
	connect(t, alice, bob, proto.CallTypeAudio)
	must(t, alice.Hangup(ctx(t)))
	bob.rec.wait(t, EventCallEnd, 2)
	bob.waitState(t, StateIdle)
}

func TestReject(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 30)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, bob.Reject(ctx(t), info.InviteID, false, 1))
	if bob.State() != StateIdle {
		t.Fatalf("rejecter state %s", bob.State())
	}
	if u := data[UserRef](t, alice.rec.wait(t, EventReject, 1)); u.UserID != "bob" {
		t.Fatalf("REJECT %+v", u)
	}
	if e := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1)); e.Reason != "rejected" || e.CallEnd != 0 {
		t.Fatalf("CALL_END %+v", e)
	}
	alice.waitState(t, StateIdle)
	// A second answer to the same invitation is refused locally.
	wantErr(t, bob.Reject(ctx(t), info.InviteID, false, 0), ErrNoInvitation)
	wantErr(t, bob.Accept(ctx(t), "", 0, 0), ErrNoInvitation)
	if names := bob.rec.names(); !slices.Equal(names, []string{"SDK_READY", "INVITED"}) {
		t.Fatalf("rejecter events %v", names)
	}
}

func TestBusy(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	carol := newClient(t, srv.URL(), "carol")
	connect(t, alice, bob, proto.CallTypeAudio)

	info, err := carol.Call(ctx(t), "bob", proto.CallTypeAudio, 30)
	must(t, err)
	lb := data[LineBusy](t, carol.rec.wait(t, EventLineBusy, 1))
	if lb != (LineBusy{InviteID: info.InviteID, Sponsor: "carol", UserID: "bob"}) {
		t.Fatalf("caller LINE_BUSY %+v", lb)
	}
	if e := data[CallEnd](t, carol.rec.wait(t, EventCallEnd, 1)); e.Reason != "busy" {
		t.Fatalf("CALL_END %+v", e)
	}
	carol.waitState(t, StateIdle)
	if lb := data[LineBusy](t, bob.rec.wait(t, EventLineBusy, 1)); lb != (LineBusy{InviteID: info.InviteID, Sponsor: "carol", UserID: "bob"}) {
		t.Fatalf("busy user LINE_BUSY %+v", lb)
	}
	if bob.State() != StateConnected || len(bob.rec.all(EventCallEnd)) != 0 || len(bob.rec.all(EventInvited)) != 1 {
		t.Fatalf("busy user's call disturbed: %s %v", bob.State(), bob.rec.names())
	}
}

func TestCancel(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeVideo, 0)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, alice.Hangup(ctx(t)))
	if alice.State() != StateIdle {
		t.Fatalf("caller state %s", alice.State())
	}
	cc := data[CallingCancel](t, bob.rec.wait(t, EventCallingCancel, 1))
	if cc != (CallingCancel{InviteID: info.InviteID, Sponsor: "alice", Reason: "cancelled"}) {
		t.Fatalf("CALLING_CANCEL %+v", cc)
	}
	bob.waitState(t, StateIdle)
	// Hangup returns after CALL_END is queued.
	if e := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1)); e.Reason != "cancelled" || e.UserID != "alice" || e.RoomID != info.RoomID {
		t.Fatalf("CALL_END %+v", e)
	}
	if n := len(alice.rec.all(EventCallEnd)); n != 1 {
		t.Fatalf("%d CALL_END", n)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake()
	srv := startServer(t, func(o *server.Options) { o.Clock = clk })
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 1)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	clk.Advance(time.Second) // the server's ringing timer
	ct := data[CallingTimeout](t, bob.rec.wait(t, EventCallingTimeout, 1))
	if ct.InviteID != info.InviteID || ct.Sponsor != "alice" || !slices.Equal(ct.UserIDList, []string{"bob"}) {
		t.Fatalf("CALLING_TIMEOUT %+v", ct)
	}
	nr := data[NoResp](t, alice.rec.wait(t, EventNoResp, 1))
	if nr.InviteID != info.InviteID || nr.Sponsor != "alice" || nr.UserID != "bob" || !slices.Equal(nr.UserIDList, []string{"bob"}) {
		t.Fatalf("NO_RESP %+v", nr)
	}
	if e := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1)); e.Reason != "no_answer" {
		t.Fatalf("CALL_END %+v", e)
	}
	alice.waitState(t, StateIdle)
	bob.waitState(t, StateIdle)
	if len(bob.rec.all(EventNoResp)) != 0 || len(alice.rec.all(EventCallingTimeout)) != 0 {
		t.Fatal("timeout events on the wrong side")
	}
}

func TestGroupCall(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake()
	srv := startServer(t, func(o *server.Options) { o.Clock = clk })
	alice := newClientCfg(t, Config{ServerURL: srv.URL(), SDKAppID: testAppID, GroupTimeout: 2}, "alice")
	bob := newClient(t, srv.URL(), "bob")
	carol := newClient(t, srv.URL(), "carol")
	dave := newClient(t, srv.URL(), "dave")
	all := []string{"bob", "carol", "dave"}

	info, err := alice.GroupCall(ctx(t), all, proto.CallTypeAudio, "")
	must(t, err)
	for _, c := range []*client{bob, carol, dave} {
		inv := data[Invited](t, c.rec.wait(t, EventInvited, 1))
		if inv.InviteID != info.InviteID || !slices.Equal(inv.UserIDList, all) || inv.Timeout != 2 || inv.InviteData.RoomID != info.RoomID {
			t.Fatalf("%s INVITED %+v", c.user, inv)
		}
	}
	must(t, bob.Accept(ctx(t), info.InviteID, info.RoomID, 1))
	if u := data[UserRef](t, alice.rec.wait(t, EventUserEnter, 1)); u.UserID != "bob" {
		t.Fatalf("USER_ENTER %+v", u)
	}
	if l := data[InviteeList](t, alice.rec.wait(t, EventGroupCallInviteeListUpdate, 1)); !slices.Equal(l.UserIDList, []string{"carol", "dave"}) {
		t.Fatalf("invitee list %+v", l)
	}
	must(t, carol.Reject(ctx(t), "", false, 0))
	if u := data[UserRef](t, alice.rec.wait(t, EventReject, 1)); u.UserID != "carol" {
		t.Fatalf("REJECT %+v", u)
	}
	if l := data[InviteeList](t, alice.rec.wait(t, EventGroupCallInviteeListUpdate, 2)); !slices.Equal(l.UserIDList, []string{"dave"}) {
		t.Fatalf("invitee list %+v", l)
	}
	// bob, a member, sees the same changes.
	bob.rec.wait(t, EventReject, 1)
	// dave lets it time out.
	clk.Advance(2 * time.Second)
	dave.rec.wait(t, EventCallingTimeout, 1)
	if nr := data[NoResp](t, alice.rec.wait(t, EventNoResp, 1)); nr.UserID != "dave" {
		t.Fatalf("NO_RESP %+v", nr)
	}
	if l := data[InviteeList](t, alice.rec.wait(t, EventGroupCallInviteeListUpdate, 3)); len(l.UserIDList) != 0 {
		t.Fatalf("invitee list %+v", l)
	}
	if alice.State() != StateConnected || bob.State() != StateConnected {
		t.Fatalf("states %s %s", alice.State(), bob.State())
	}
	// Switching is for 1:1 calls only.
	wantErr(t, alice.SwitchToVideoCall(ctx(t)), ErrWrongState)

	must(t, alice.Hangup(ctx(t)))
	eb := data[CallEnd](t, bob.rec.wait(t, EventCallEnd, 1))
	ea := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1))
	if ea != eb || ea.UserID != "alice" {
		t.Fatalf("CALL_END %+v %+v", ea, eb)
	}
	bob.waitState(t, StateIdle)
}

func TestGroupCallThreeWayLeave(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	carol := newClient(t, srv.URL(), "carol")
	info, err := alice.GroupCall(ctx(t), []string{"bob", "carol"}, proto.CallTypeAudio, "team")
	must(t, err)
	for _, c := range []*client{bob, carol} {
		if inv := data[Invited](t, c.rec.wait(t, EventInvited, 1)); !inv.IsFromGroup || inv.GroupID != "team" {
			t.Fatalf("INVITED %+v", inv)
		}
		must(t, c.Accept(ctx(t), info.InviteID, 0, 0))
	}
	alice.rec.wait(t, EventUserEnter, 2)
	carol.rec.wait(t, EventUserEnter, 2) // alice and bob
	bob.rec.wait(t, EventUserEnter, 2)   // alice, then carol joining

	// bob leaves; the call goes on for alice and carol, bob gets a local CALL_END.
	must(t, bob.Hangup(ctx(t)))
	if e := data[CallEnd](t, bob.rec.wait(t, EventCallEnd, 1)); e.UserID != "bob" || e.Reason != "hangup" || e.RoomID != info.RoomID {
		t.Fatalf("leaver CALL_END %+v", e)
	}
	for _, c := range []*client{alice, carol} {
		if l := data[UserLeave](t, c.rec.wait(t, EventUserLeave, 1)); l.UserID != "bob" {
			t.Fatalf("%s USER_LEAVE %+v", c.user, l)
		}
		if c.State() != StateConnected || len(c.rec.all(EventCallEnd)) != 0 {
			t.Fatalf("%s: %s %v", c.user, c.State(), c.rec.names())
		}
	}
	must(t, carol.Hangup(ctx(t)))
	alice.rec.wait(t, EventCallEnd, 1)
	alice.waitState(t, StateIdle)
}

func TestKicked(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	connect(t, alice, bob, proto.CallTypeAudio)

	bob2 := newClient(t, srv.URL(), "bob")
	if k := data[KickedOut](t, bob.rec.wait(t, EventKickedOut, 1)); k.Reason != "multipleAccount" {
		t.Fatalf("KICKED_OUT %+v", k)
	}
	bob.waitState(t, StateIdle)
	eventually(t, "old session logged out", func() bool { return bob.UserID() == "" })
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: "bob", Reason: "kicked"}) {
		t.Fatalf("USER_LEAVE %+v", l)
	}
	if e := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1)); e.Reason != "kicked" {
		t.Fatalf("CALL_END %+v", e)
	}
	wantErr(t, bob.Hangup(ctx(t)), ErrNotLoggedIn)
	// The new session works and was not kicked back by a reconnect.
	connect(t, alice, bob2, proto.CallTypeAudio)
	if len(bob2.rec.all(EventKickedOut)) != 0 {
		t.Fatal("new session kicked")
	}
	// The old engine can log in again (kicking bob2 in turn).
	bob.login(t)
	bob2.rec.wait(t, EventKickedOut, 1)
}

func TestReconnectResumesCall(t *testing.T) {
	srv := startServer(t, nil)
	px := newProxy(t, srv.URL())
	alice := newClientCfg(t, Config{ServerURL: px.url(), SDKAppID: testAppID, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}, "alice")
	bob := newClient(t, srv.URL(), "bob")
	connect(t, alice, bob, proto.CallTypeVideo)

	alice.mu.Lock()
	c := alice.link.c
	alice.mu.Unlock()
	px.cut(false)
	eventually(t, "reconnected", func() bool { return c.Reconnects() == 1 && c.Connected() })
	// Wait until the resume finished (requests accepted again), then use the call.
	eventually(t, "mute accepted after resume", func() bool { return alice.SetMicMute(ctx(t), true) == nil })
	if a := data[AudioAvailable](t, bob.rec.wait(t, EventUserAudioAvailable, 1)); a != (AudioAvailable{UserID: "alice", IsAudioAvailable: false}) {
		t.Fatalf("USER_AUDIO_AVAILABLE %+v", a)
	}
	if alice.State() != StateConnected || bob.State() != StateConnected {
		t.Fatalf("states %s %s", alice.State(), bob.State())
	}
	for _, n := range []EventName{EventUserLeave, EventCallEnd, EventSDKReady} {
		if len(alice.rec.all(n)) != map[EventName]int{EventSDKReady: 1}[n] || len(bob.rec.all(n)) != map[EventName]int{EventSDKReady: 1}[n] {
			t.Fatalf("resume was not silent: alice %v bob %v", alice.rec.names(), bob.rec.names())
		}
	}
	must(t, bob.Hangup(ctx(t)))
	ea := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1))
	if ea.Reason != "hangup" {
		t.Fatalf("CALL_END %+v", ea)
	}
}

func TestReconnectRingingNotDuplicated(t *testing.T) {
	srv := startServer(t, nil)
	px := newProxy(t, srv.URL())
	alice := newClient(t, srv.URL(), "alice")
	bob := newClientCfg(t, Config{ServerURL: px.url(), SDKAppID: testAppID, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}, "bob")
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 0)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	bob.mu.Lock()
	c := bob.link.c
	bob.mu.Unlock()
	px.cut(false)
	eventually(t, "reconnected", func() bool { return c.Reconnects() == 1 && c.Connected() })
	// The server re-delivered the invitation: it is still there, once.
	must(t, bob.Accept(ctx(t), info.InviteID, 0, 0))
	alice.waitState(t, StateConnected)
	if n := len(bob.rec.all(EventInvited)); n != 1 {
		t.Fatalf("%d INVITED for one invitation", n)
	}
}

func TestReconnectAfterGraceEndsCall(t *testing.T) {
	srv := startServer(t, func(o *server.Options) { o.Grace = 200 * time.Millisecond })
	px := newProxy(t, srv.URL())
	alice := newClientCfg(t, Config{ServerURL: px.url(), SDKAppID: testAppID, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 50 * time.Millisecond}, "alice")
	bob := newClient(t, srv.URL(), "bob")
	info := connect(t, alice, bob, proto.CallTypeAudio)

	px.cut(true) // refuse reconnects for longer than the grace period
	if l := data[UserLeave](t, bob.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: "alice", Reason: "disconnected"}) {
		t.Fatalf("bob USER_LEAVE %+v", l)
	}
	bob.rec.wait(t, EventCallEnd, 1)
	px.resume()
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: "bob", Reason: "disconnected"}) {
		t.Fatalf("alice USER_LEAVE %+v", l)
	}
	if e := data[CallEnd](t, alice.rec.wait(t, EventCallEnd, 1)); e.Reason != "disconnected" || e.RoomID != info.RoomID {
		t.Fatalf("alice CALL_END %+v", e)
	}
	alice.waitState(t, StateIdle)
	// alice is logged in again on a fresh server session and can call.
	eventually(t, "alice usable", func() bool {
		_, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 0)
		return err == nil
	})
	bob.rec.wait(t, EventInvited, 2)
}

func TestWrongState(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	c := ctx(t)
	wantErr(t, alice.Hangup(c), ErrWrongState)
	wantErr(t, alice.Accept(c, "", 0, 0), ErrNoInvitation)
	wantErr(t, alice.Reject(c, "nope", false, 0), ErrNoInvitation)
	wantErr(t, alice.SwitchToVideoCall(c), ErrWrongState)
	wantErr(t, alice.Login(c, "alice", sig(t, "alice")), ErrWrongState)
	_, err := alice.Call(c, "alice", 1, 0)
	wantErr(t, err, ErrInvalidArgument)
	_, err = alice.GroupCall(c, []string{"bob", "bob"}, 1, "")
	wantErr(t, err, ErrInvalidArgument)

	info, err := alice.Call(c, "bob", proto.CallTypeAudio, 0)
	must(t, err)
	_, err = alice.Call(c, "carol", proto.CallTypeAudio, 0)
	wantErr(t, err, ErrWrongState)
	bob.rec.wait(t, EventInvited, 1)
	_, err = bob.Call(c, "carol", proto.CallTypeAudio, 0)
	wantErr(t, err, ErrWrongState)
	_, err = bob.GroupCall(c, []string{"carol"}, proto.CallTypeAudio, "")
	wantErr(t, err, ErrWrongState)
	wantErr(t, bob.Accept(c, info.InviteID, info.RoomID+1, 0), ErrInvalidArgument)
	wantErr(t, bob.StartRemoteView("alice", "v1"), ErrWrongState)

	// Errors the server decides come back as *proto.Error.
	carol := newClient(t, srv.URL(), "")
	err = carol.Login(c, "carol", sig(t, "dave"))
	var perr *proto.Error
	if !errors.As(err, &perr) || perr.Code != proto.CodeIdentifierMatch || ErrorCode(err) != proto.CodeIdentifierMatch {
		t.Fatalf("login with another user's sig: %v", err)
	}
	if carol.UserID() != "" || carol.State() != StateIdle {
		t.Fatal("failed login left state behind")
	}
	carol.user = "carol"
	carol.login(t) // the failed attempt left the engine usable
	_, err = carol.GroupCall(c, []string{"bob"}, 1, "nosuchgroup")
	if ErrorCode(err) != proto.CodeUnknownGroup || carol.State() != StateIdle {
		t.Fatalf("unknown group: %v, state %s", err, carol.State())
	}
	// A failed request leaves no state behind: carol can still call.
	_, err = carol.Call(c, "dave", proto.CallTypeAudio, 0)
	must(t, err)
	if carol.State() != StateDialing {
		t.Fatalf("state %s", carol.State())
	}
}

func TestMuteCameraEvents(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	connect(t, alice, bob, proto.CallTypeVideo)
	c := ctx(t)
	must(t, alice.SetMicMute(c, true))
	if a := data[AudioAvailable](t, bob.rec.wait(t, EventUserAudioAvailable, 1)); a != (AudioAvailable{"alice", false}) {
		t.Fatalf("audio %+v", a)
	}
	must(t, alice.SetMicMute(c, true)) // no change, no event
	must(t, alice.CloseCamera(c))
	if v := data[VideoAvailable](t, bob.rec.wait(t, EventUserVideoAvailable, 1)); v != (VideoAvailable{"alice", false}) {
		t.Fatalf("video %+v", v)
	}
	must(t, alice.OpenCamera(c))
	if v := data[VideoAvailable](t, bob.rec.wait(t, EventUserVideoAvailable, 2)); v != (VideoAvailable{"alice", true}) {
		t.Fatalf("video %+v", v)
	}
	must(t, alice.SetMicMute(c, false))
	if a := data[AudioAvailable](t, bob.rec.wait(t, EventUserAudioAvailable, 2)); a != (AudioAvailable{"alice", true}) {
		t.Fatalf("audio %+v", a)
	}
	if n := len(bob.rec.all(EventUserAudioAvailable)); n != 2 {
		t.Fatalf("%d audio events for two changes", n)
	}
	// Nothing on the sender's side, and no initial events for anyone.
	if len(alice.rec.all(EventUserAudioAvailable))+len(alice.rec.all(EventUserVideoAvailable)) != 0 {
		t.Fatalf("alice events %v", alice.rec.names())
	}
	// Views bind to members of the call only.
	must(t, bob.StartRemoteView("alice", "main"))
	wantErr(t, bob.StartRemoteView("carol", "main"), ErrWrongState)
	if v := bob.Views(); !slices.Equal(v.Remote["alice"], []string{"main"}) {
		t.Fatalf("views %+v", v)
	}
	must(t, alice.Hangup(c))
	bob.waitState(t, StateIdle)
	if v := bob.Views(); len(v.Remote) != 0 {
		t.Fatalf("remote views survive the call: %+v", v)
	}
}

func TestSwitchCallType(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	connect(t, alice, bob, proto.CallTypeVideo)
	wantErr(t, alice.SwitchToVideoCall(ctx(t)), ErrWrongState)
	must(t, alice.SwitchToAudioCall(ctx(t)))
	want := CallTypeChanged{OldCallType: 2, NewCallType: 1, UserID: "alice"}
	for _, c := range []*client{alice, bob} {
		if ch := data[CallTypeChanged](t, c.rec.wait(t, EventCallTypeChanged, 1)); ch != want {
			t.Fatalf("%s CALL_TYPE_CHANGED %+v", c.user, ch)
		}
	}
	eventually(t, "bob sees audio", func() bool { return bob.SwitchToAudioCall(ctx(t)) != nil })
	must(t, bob.SwitchToVideoCall(ctx(t)))
	if ch := data[CallTypeChanged](t, alice.rec.wait(t, EventCallTypeChanged, 2)); ch != (CallTypeChanged{1, 2, "bob"}) {
		t.Fatalf("CALL_TYPE_CHANGED %+v", ch)
	}
}

func TestLogoutMidCall(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	bob := newClient(t, srv.URL(), "bob")
	connect(t, alice, bob, proto.CallTypeAudio)
	before := len(bob.rec.names())
	must(t, bob.Logout(ctx(t)))
	if bob.State() != StateIdle || bob.UserID() != "" {
		t.Fatalf("after logout: %s %q", bob.State(), bob.UserID())
	}
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l.Reason != "logout" {
		t.Fatalf("USER_LEAVE %+v", l)
	}
	alice.rec.wait(t, EventCallEnd, 1)
	if n := len(bob.rec.names()); n != before {
		t.Fatalf("logout emitted events: %v", bob.rec.names()[before:])
	}
	// Logging in again works.
	bob.login(t)
	if bob.rec.wait(t, EventSDKReady, 2).Name != EventSDKReady {
		t.Fatal("no second SDK_READY")
	}
}

func TestReconnectDropsInvitationThatEndedMeanwhile(t *testing.T) {
	srv := startServer(t, nil)
	px := newProxy(t, srv.URL())
	alice := newClient(t, srv.URL(), "alice")
	bob := newClientCfg(t, Config{ServerURL: px.url(), SDKAppID: testAppID, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 50 * time.Millisecond}, "bob")
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 0)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	bob.mu.Lock()
	c := bob.link.c
	bob.mu.Unlock()
	px.cut(true)
	must(t, alice.Hangup(ctx(t))) // cancels while bob cannot hear it
	px.resume()
	eventually(t, "reconnected", func() bool { return c.Reconnects() == 1 && c.Connected() })
	cc := data[CallingCancel](t, bob.rec.wait(t, EventCallingCancel, 1))
	if cc.InviteID != info.InviteID || cc.Sponsor != "alice" {
		t.Fatalf("CALLING_CANCEL %+v", cc)
	}
	bob.waitState(t, StateIdle)
	if n := len(bob.rec.all(EventCallingCancel)); n != 1 {
		t.Fatalf("%d CALLING_CANCEL", n)
	}
}

// After Logout nothing of the login is left running: only the engine's
// own dispatcher and media goroutines, which end at Close.
func TestNoGoroutinesAfterLogout(t *testing.T) {
	srv := startServer(t, nil)
	bob := newClient(t, srv.URL(), "bob")
	alice := newClient(t, srv.URL(), "")
	snapshot := goleak.IgnoreCurrent()
	alice.user = "alice"
	alice.login(t)
	connect(t, alice, bob, proto.CallTypeAudio)
	must(t, alice.Logout(ctx(t)))
	bob.waitState(t, StateIdle)
	goleak.VerifyNone(t, snapshot)
	must(t, alice.Close())
	wantErr(t, alice.Login(ctx(t), "alice", sig(t, "alice")), ErrClosed)
}

func TestWatchPresence(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClient(t, srv.URL(), "alice")
	c := ctx(t)
	got, err := alice.WatchPresence(c, []string{"bob", "carol"})
	must(t, err)
	want := []Presence{{UserID: "bob", Status: proto.PresenceOffline}, {UserID: "carol", Status: proto.PresenceOffline}}
	if !slices.Equal(got, want) {
		t.Fatalf("initial presence %+v, want %+v", got, want)
	}
	_, err = alice.WatchPresence(c, []string{"not valid!"})
	wantErr(t, err, ErrInvalidArgument)

	bob := newClient(t, srv.URL(), "bob")
	if p := data[Presence](t, alice.rec.wait(t, EventPresence, 1)); p != (Presence{UserID: "bob", Status: proto.PresenceOnline}) {
		t.Fatalf("presence %+v", p)
	}
	carol := newClient(t, srv.URL(), "carol")
	_, err = carol.Call(c, "bob", proto.CallTypeAudio, 30)
	must(t, err)
	eventually(t, "bob busy", func() bool {
		for _, ev := range alice.rec.all(EventPresence) {
			if p := ev.Data.(Presence); p == (Presence{UserID: "bob", Status: proto.PresenceBusy}) {
				return true
			}
		}
		return false
	})
	must(t, bob.Logout(c))
	eventually(t, "bob offline", func() bool {
		evs := alice.rec.all(EventPresence)
		for _, ev := range evs {
			if p := ev.Data.(Presence); p == (Presence{UserID: "bob", Status: proto.PresenceOffline}) {
				return true
			}
		}
		return false
	})
}

package server

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
)

func TestOneToOneAcceptHangup(t *testing.T) {
	for _, hangerIsCaller := range []bool{true, false} {
		name := "callee hangs up"
		if hangerIsCaller {
			name = "caller hangs up"
		}
		t.Run(name, func(t *testing.T) {
			s := runServer(t, nil)
			a, b := login(t, s, "alice"), login(t, s, "bob")
			rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeVideo, Timeout: 30})
			if rep.InviteID == "" || rep.RoomID < 1 || rep.RoomID > 100_000_000 || !slices.Equal(rep.Invitees, []string{"bob"}) {
				t.Fatalf("invite reply %+v", rep)
			}
			var inv proto.Invited
			b.expect(proto.TypeInvited, &inv)
			if inv.InviteID != rep.InviteID || inv.Sponsor != "alice" || inv.RoomID != rep.RoomID ||
				inv.CallType != proto.CallTypeVideo || inv.IsFromGroup || inv.Timeout != 30 ||
				inv.Data == nil || inv.Data.Cmd != "videoCall" || inv.Data.RoomID != rep.RoomID || inv.Data.Version != proto.Version {
				t.Fatalf("invited %+v data %+v", inv, inv.Data)
			}
			var acc proto.AcceptReply
			b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, &acc)
			if acc.Room.RoomID != rep.RoomID || len(acc.Room.Members) != 2 || acc.Room.StartedAt == 0 {
				t.Fatalf("accept reply %+v", acc)
			}
			fs := a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
			if ia := body[proto.InviteAnswer](t, fs[0]); ia.UserID != "bob" || ia.InviteID != rep.InviteID {
				t.Fatalf("inviteAccepted %+v", ia)
			}
			if mj := body[proto.MemberEvent](t, fs[1]); mj.UserID != "bob" || mj.RoomID != rep.RoomID || !mj.Audio || !mj.Video {
				t.Fatalf("memberJoined %+v", mj)
			}
			clockOf(t, s).Advance(1100 * time.Millisecond) // let the call last at least one second
			hanger, other := b, a
			if hangerIsCaller {
				hanger, other = a, b
			}
			hanger.do(proto.TypeHangup, nil, nil)
			fs = other.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
			if ml := body[proto.MemberEvent](t, fs[0]); ml.UserID != hanger.user || ml.Reason != proto.ReasonHangup {
				t.Fatalf("memberLeft %+v", ml)
			}
			ce1 := body[proto.CallEnded](t, fs[1])
			var ce2 proto.CallEnded
			hanger.expect(proto.TypeCallEnded, &ce2)
			for _, ce := range []proto.CallEnded{ce1, ce2} {
				if ce.Reason != proto.ReasonHangup || ce.By != hanger.user || ce.Duration < 1 || ce.RoomID != rep.RoomID ||
					ce.Data == nil || ce.Data.CallEnd == nil || *ce.Data.CallEnd != ce.Duration || ce.Data.Cmd != "hangup" {
					t.Fatalf("callEnded %+v", ce)
				}
			}
			// Both are idle again: a new call works, a hangup does not.
			a.fail(proto.CodeWrongState, proto.TypeHangup, nil)
			call(t, b, a, proto.CallTypeAudio)
		})
	}
}

func TestReject(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	b.do(proto.TypeReject, proto.RejectRequest{InviteID: inv.InviteID}, nil)
	fs := a.expectSeq(proto.TypeInviteRejected, proto.TypeCallEnded)
	if r := body[proto.InviteAnswer](t, fs[0]); r.UserID != "bob" || r.Busy || r.InviteID != rep.InviteID {
		t.Fatalf("inviteRejected %+v", r)
	}
	if ce := body[proto.CallEnded](t, fs[1]); ce.Reason != proto.ReasonRejected || ce.Duration != 0 {
		t.Fatalf("callEnded %+v", ce)
	}
	b.expectNone(proto.TypeCallEnded)
}

func TestBusyInCall(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	call(t, a, b, proto.CallTypeAudio)
	rep := c.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	fs := c.expectSeq(proto.TypeInviteRejected, proto.TypeCallEnded)
	if r := body[proto.InviteAnswer](t, fs[0]); r.UserID != "bob" || !r.Busy || r.Data == nil || r.Data.LineBusy != "line_busy" {
		t.Fatalf("inviteRejected %+v", r)
	}
	if ce := body[proto.CallEnded](t, fs[1]); ce.Reason != proto.ReasonBusy || ce.RoomID != rep.RoomID {
		t.Fatalf("callEnded %+v", ce)
	}
	var miss proto.InviteEnd
	b.expect(proto.TypeInviteMissed, &miss)
	if miss.Sponsor != "carol" || miss.Reason != proto.ReasonBusy || miss.InviteID != rep.InviteID {
		t.Fatalf("inviteMissed %+v", miss)
	}
	b.expectNone(proto.TypeInvited)
	// The existing call is untouched.
	b.do(proto.TypeRelay, proto.Relay{To: "alice", Payload: json.RawMessage(`"still here"`)}, nil)
	a.expect(proto.TypeRelay, nil)
}

func TestBusyRinging(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	b.expect(proto.TypeInvited, nil)
	c.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeVideo, Timeout: 30})
	fs := c.expectSeq(proto.TypeInviteRejected, proto.TypeCallEnded)
	if r := body[proto.InviteAnswer](t, fs[0]); !r.Busy {
		t.Fatalf("inviteRejected %+v", r)
	}
	var miss proto.InviteEnd
	b.expect(proto.TypeInviteMissed, &miss)
	if miss.Sponsor != "carol" {
		t.Fatalf("inviteMissed %+v", miss)
	}
	// A ringing user cannot invite either.
	b.fail(proto.CodeWrongState, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"dave"}, CallType: 1})
}

func TestCancel(t *testing.T) {
	for _, how := range []string{proto.TypeCancel, proto.TypeHangup} {
		t.Run(how, func(t *testing.T) {
			s := runServer(t, nil)
			a, b := login(t, s, "alice"), login(t, s, "bob")
			rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
			b.expect(proto.TypeInvited, nil)
			if how == proto.TypeCancel {
				a.do(proto.TypeCancel, proto.InviteRef{InviteID: rep.InviteID}, nil)
			} else {
				a.do(proto.TypeHangup, nil, nil)
			}
			var ic proto.InviteEnd
			b.expect(proto.TypeInviteCancelled, &ic)
			if ic.Reason != proto.ReasonCancelled || ic.Sponsor != "alice" || ic.InviteID != rep.InviteID {
				t.Fatalf("inviteCancelled %+v", ic)
			}
			var ce proto.CallEnded
			a.expect(proto.TypeCallEnded, &ce)
			if ce.Reason != proto.ReasonCancelled || ce.Duration != 0 || ce.By != "alice" {
				t.Fatalf("callEnded %+v", ce)
			}
			b.fail(proto.CodeUnknownInvite, proto.TypeAccept, proto.InviteRef{InviteID: rep.InviteID})
		})
	}
}

func TestTimeout(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 1})
	b.expect(proto.TypeInvited, nil)
	clockOf(t, s).Advance(time.Second)
	var bt proto.InviteEnd
	b.expect(proto.TypeInviteTimeout, &bt)
	if !slices.Equal(bt.UserIDs, []string{"bob"}) || bt.InviteID != rep.InviteID {
		t.Fatalf("invitee's inviteTimeout %+v", bt)
	}
	fs := a.expectSeq(proto.TypeInviteTimeout, proto.TypeCallEnded)
	if at := body[proto.InviteEnd](t, fs[0]); !slices.Equal(at.UserIDs, []string{"bob"}) {
		t.Fatalf("inviter's inviteTimeout %+v", at)
	}
	if ce := body[proto.CallEnded](t, fs[1]); ce.Reason != proto.ReasonNoAnswer {
		t.Fatalf("callEnded %+v", ce)
	}
	b.fail(proto.CodeUnknownInvite, proto.TypeAccept, proto.InviteRef{InviteID: rep.InviteID})
}

func TestTimeoutZeroRingsOn(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 0})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	// Longer than any timeout an invitation may have (the userSigs are
	// older now, but nobody logs in again).
	clockOf(t, s).Advance(proto.MaxTimeout*time.Second + time.Second)
	a.expectNone(proto.TypeInviteTimeout)
	b.expectNone(proto.TypeInviteTimeout)
	b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
}

func TestOfflineInvitee(t *testing.T) {
	t.Run("login before timeout", func(t *testing.T) {
		s := runServer(t, nil)
		a := login(t, s, "alice")
		rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeVideo, Timeout: 30})
		b := login(t, s, "bob")
		var inv proto.Invited
		b.expect(proto.TypeInvited, &inv)
		if inv.InviteID != rep.InviteID || inv.Sponsor != "alice" || inv.SentAt == 0 {
			t.Fatalf("invited %+v", inv)
		}
		b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
		a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
	})
	t.Run("login after timeout", func(t *testing.T) {
		s := runServer(t, nil)
		a := login(t, s, "alice")
		a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeVideo, Timeout: 1})
		clockOf(t, s).Advance(time.Second)
		var at proto.InviteEnd
		a.expect(proto.TypeInviteTimeout, &at)
		if !slices.Equal(at.UserIDs, []string{"bob"}) {
			t.Fatalf("inviteTimeout %+v", at)
		}
		a.expect(proto.TypeCallEnded, nil)
		b := login(t, s, "bob")
		b.expectNone(proto.TypeInvited)
	})
}

func TestGroupByGroupID(t *testing.T) {
	s := runServer(t, nil)
	a, b, c, e := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol"), login(t, s, "erin")
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob", "erin", "carol"}, GroupID: "team", CallType: 1, Timeout: 30})
	if !slices.Equal(rep.Invitees, []string{"bob", "carol"}) {
		t.Fatalf("invitees after group filtering: %v", rep.Invitees)
	}
	for _, cl := range []*client{b, c} {
		var inv proto.Invited
		cl.expect(proto.TypeInvited, &inv)
		if !inv.IsFromGroup || inv.GroupID != "team" || !slices.Equal(inv.Invitees, []string{"bob", "carol"}) {
			t.Fatalf("%s invited %+v", cl.user, inv)
		}
	}
	e.expectNone(proto.TypeInvited)
	a.do(proto.TypeHangup, nil, nil)
	b.expect(proto.TypeInviteCancelled, nil)
	c.expect(proto.TypeInviteCancelled, nil)

	// An empty list means the whole group but the inviter.
	rep = a.invite(proto.InviteRequest{GroupID: "team", CallType: 1, Timeout: 30})
	if !slices.Equal(rep.Invitees, []string{"bob", "carol", "dave"}) {
		t.Fatalf("whole group: %v", rep.Invitees)
	}
	a.do(proto.TypeHangup, nil, nil)

	a.fail(proto.CodeUnknownGroup, proto.TypeInvite, proto.InviteRequest{GroupID: "nope", CallType: 1})
	e.fail(proto.CodeNotGroupMember, proto.TypeInvite, proto.InviteRequest{GroupID: "team", CallType: 1})
	a.fail(proto.CodeBadRequest, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"erin"}, GroupID: "team", CallType: 1})
}

func TestGroupByList(t *testing.T) {
	s := runServer(t, nil)
	a, b, c, d := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol"), login(t, s, "dave")
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol", "dave"}, CallType: 2, Timeout: 2})
	ids := map[string]string{}
	for _, cl := range []*client{b, c, d} {
		var inv proto.Invited
		cl.expect(proto.TypeInvited, &inv)
		if inv.IsFromGroup || inv.GroupID != "" || len(inv.Invitees) != 3 {
			t.Fatalf("invited %+v", inv)
		}
		ids[cl.user] = inv.InviteID
	}
	// bob accepts
	var acc proto.AcceptReply
	b.do(proto.TypeAccept, proto.InviteRef{InviteID: ids["bob"]}, &acc)
	if !acc.Room.IsGroup || !slices.Equal(acc.Room.Pending, []string{"carol", "dave"}) {
		t.Fatalf("accept reply %+v", acc.Room)
	}
	fs := a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined, proto.TypeInviteeList)
	if l := body[proto.InviteeList](t, fs[2]); !slices.Equal(l.Pending, []string{"carol", "dave"}) || l.RoomID != rep.RoomID {
		t.Fatalf("inviteeList %+v", l)
	}
	var l proto.InviteeList
	b.expect(proto.TypeInviteeList, &l)
	// carol rejects
	c.do(proto.TypeReject, proto.RejectRequest{InviteID: ids["carol"]}, nil)
	for _, cl := range []*client{a, b} {
		fs := cl.expectSeq(proto.TypeInviteRejected, proto.TypeInviteeList)
		if r := body[proto.InviteAnswer](t, fs[0]); r.UserID != "carol" {
			t.Fatalf("inviteRejected %+v", r)
		}
		if l := body[proto.InviteeList](t, fs[1]); !slices.Equal(l.Pending, []string{"dave"}) {
			t.Fatalf("%s inviteeList %+v", cl.user, l)
		}
	}
	// dave times out
	clockOf(t, s).Advance(2 * time.Second)
	var dt proto.InviteEnd
	d.expect(proto.TypeInviteTimeout, &dt)
	if !slices.Equal(dt.UserIDs, []string{"dave"}) {
		t.Fatalf("dave inviteTimeout %+v", dt)
	}
	fs = a.expectSeq(proto.TypeInviteTimeout, proto.TypeInviteeList)
	if at := body[proto.InviteEnd](t, fs[0]); !slices.Equal(at.UserIDs, []string{"dave"}) {
		t.Fatalf("alice inviteTimeout %+v", at)
	}
	if l := body[proto.InviteeList](t, fs[1]); len(l.Pending) != 0 {
		t.Fatalf("inviteeList %+v", l)
	}
	b.expectSeq(proto.TypeInviteeList)
	a.expectNone(proto.TypeCallEnded)
	// alice and bob are still connected
	a.do(proto.TypeRelay, proto.Relay{To: "bob", Payload: json.RawMessage(`{"sdp":"x"}`)}, nil)
	b.expect(proto.TypeRelay, nil)
	// bob hangs up: alice is alone, the call ends for both
	b.do(proto.TypeHangup, nil, nil)
	a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
	var ce proto.CallEnded
	b.expect(proto.TypeCallEnded, &ce)
	if ce.Reason != proto.ReasonHangup || ce.By != "bob" {
		t.Fatalf("callEnded %+v", ce)
	}
}

func TestLastMemberLeavingEndsCall(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol"}, CallType: 1, Timeout: 30})
	for _, cl := range []*client{b, c} {
		var inv proto.Invited
		cl.expect(proto.TypeInvited, &inv)
		cl.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	}
	a.do(proto.TypeHangup, nil, nil)
	for _, cl := range []*client{b, c} {
		var ml proto.MemberEvent
		cl.expect(proto.TypeMemberLeft, &ml)
		if ml.UserID != "alice" {
			t.Fatalf("memberLeft %+v", ml)
		}
	}
	a.expectNone(proto.TypeCallEnded)
	c.do(proto.TypeHangup, nil, nil)
	var ceB, ceC proto.CallEnded
	b.expect(proto.TypeCallEnded, &ceB)
	c.expect(proto.TypeCallEnded, &ceC)
	if ceB.By != "carol" || ceC.By != "carol" || ceB.Reason != proto.ReasonHangup {
		t.Fatalf("callEnded %+v %+v", ceB, ceC)
	}
}

func TestCallerHangupCancelsGroupInvitees(t *testing.T) {
	t.Run("before any answer", func(t *testing.T) {
		s := runServer(t, nil)
		a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
		a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol"}, CallType: 1, Timeout: 30})
		b.expect(proto.TypeInvited, nil)
		c.expect(proto.TypeInvited, nil)
		a.do(proto.TypeHangup, nil, nil)
		for _, cl := range []*client{b, c} {
			var ic proto.InviteEnd
			cl.expect(proto.TypeInviteCancelled, &ic)
			if ic.Reason != proto.ReasonCancelled {
				t.Fatalf("inviteCancelled %+v", ic)
			}
		}
		var ce proto.CallEnded
		a.expect(proto.TypeCallEnded, &ce)
		if ce.Reason != proto.ReasonCancelled {
			t.Fatalf("callEnded %+v", ce)
		}
	})
	t.Run("last member leaves while one rings", func(t *testing.T) {
		s := runServer(t, nil)
		a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
		a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol"}, CallType: 1, Timeout: 30})
		var inv proto.Invited
		b.expect(proto.TypeInvited, &inv)
		c.expect(proto.TypeInvited, nil)
		b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
		a.do(proto.TypeHangup, nil, nil)
		b.expect(proto.TypeMemberLeft, nil)
		b.expectNone(proto.TypeCallEnded) // carol still rings
		b.do(proto.TypeHangup, nil, nil)
		var ic proto.InviteEnd
		c.expect(proto.TypeInviteCancelled, &ic)
		if ic.Reason != proto.ReasonCallEnded {
			t.Fatalf("inviteCancelled %+v", ic)
		}
		var ce proto.CallEnded
		b.expect(proto.TypeCallEnded, &ce)
		if ce.Reason != proto.ReasonHangup || ce.By != "bob" {
			t.Fatalf("callEnded %+v", ce)
		}
	})
}

func TestAddInviteeToCall(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	room := call(t, a, b, proto.CallTypeAudio)
	a.fail(proto.CodeWrongState, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"carol"}, CallType: 1, RoomID: room + 1})
	a.fail(proto.CodeBadRequest, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"bob"}, CallType: 1})
	rep := a.invite(proto.InviteRequest{Invitees: []string{"carol"}, CallType: 1, RoomID: room})
	if rep.RoomID != room {
		t.Fatalf("reply room %d, want %d", rep.RoomID, room)
	}
	for _, cl := range []*client{a, b} {
		var l proto.InviteeList
		cl.expect(proto.TypeInviteeList, &l)
		if !slices.Equal(l.Pending, []string{"carol"}) {
			t.Fatalf("inviteeList %+v", l)
		}
	}
	var inv proto.Invited
	c.expect(proto.TypeInvited, &inv)
	var acc proto.AcceptReply
	c.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, &acc)
	if len(acc.Room.Members) != 3 || !acc.Room.IsGroup {
		t.Fatalf("room %+v", acc.Room)
	}
	b.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined, proto.TypeInviteeList)
	// A group call cannot switch type.
	a.fail(proto.CodeWrongState, proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: 2})
}

func TestKick(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, a, b, proto.CallTypeAudio)
	b2 := login(t, s, "bob") // another session ID
	var k proto.Kicked
	b.expect(proto.TypeKicked, &k)
	if k.Reason != proto.ReasonMultiLogin {
		t.Fatalf("kicked %+v", k)
	}
	if code := b.closeCode(); code != 1000 {
		t.Fatalf("old session closed with %d", code)
	}
	fs := a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
	if ml := body[proto.MemberEvent](t, fs[0]); ml.UserID != "bob" || ml.Reason != proto.ReasonKicked || ml.RoomID != room {
		t.Fatalf("memberLeft %+v", ml)
	}
	if ce := body[proto.CallEnded](t, fs[1]); ce.Reason != proto.ReasonKicked {
		t.Fatalf("callEnded %+v", ce)
	}
	b2.fail(proto.CodeWrongState, proto.TypeHangup, nil)

	// A ringing invitation follows the user to the new session.
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: 1, Timeout: 30})
	b2.expect(proto.TypeInvited, nil)
	b3 := login(t, s, "bob")
	b2.expect(proto.TypeKicked, nil)
	var inv proto.Invited
	b3.expect(proto.TypeInvited, &inv)
	if inv.InviteID != rep.InviteID {
		t.Fatalf("re-delivered %+v", inv)
	}
	b3.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
}

func TestResumeWithinGrace(t *testing.T) {
	s := runServer(t, func(o *Options) { o.Grace = 3 * time.Second })
	a, b := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, a, b, proto.CallTypeVideo)
	b.drop()
	waitForGrace(t, s, "bob")
	clk := clockOf(t, s)
	clk.Advance(s.opts.Grace - time.Millisecond) // just within the grace
	b2 := dial(t, s)
	b2.user = "bob"
	var rep proto.LoginReply
	b2.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "bob", UserSig: sig(t, "bob"), SessionID: b.session}, &rep)
	if !rep.Resumed || rep.Room == nil || rep.Room.RoomID != room || len(rep.Room.Members) != 2 {
		t.Fatalf("resume reply %+v", rep)
	}
	clk.Advance(time.Second) // past the grace the resume stopped
	a.expectNone(proto.TypeMemberLeft)
	b2.do(proto.TypeRelay, proto.Relay{To: "alice", Payload: json.RawMessage(`1`)}, nil)
	var rl proto.Relay
	a.expect(proto.TypeRelay, &rl)
	if rl.From != "bob" {
		t.Fatalf("relay %+v", rl)
	}
}

func TestResumeRedeliversInvitation(t *testing.T) {
	s := runServer(t, func(o *Options) { o.Grace = 3 * time.Second })
	a, b := login(t, s, "alice"), login(t, s, "bob")
	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: 1, Timeout: 30})
	b.expect(proto.TypeInvited, nil)
	b.drop()
	b2 := loginSession(t, s, "bob", b.session)
	var inv proto.Invited
	b2.expect(proto.TypeInvited, &inv)
	if inv.InviteID != rep.InviteID {
		t.Fatalf("invited %+v", inv)
	}
}

func TestDisconnectPastGrace(t *testing.T) {
	s := runServer(t, nil) // grace 300 ms
	a, b := login(t, s, "alice"), login(t, s, "bob")
	call(t, a, b, proto.CallTypeAudio)
	b.drop()
	waitForGrace(t, s, "bob")
	clockOf(t, s).Advance(s.opts.Grace)
	fs := a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
	if ml := body[proto.MemberEvent](t, fs[0]); ml.Reason != proto.ReasonDisconnected || ml.UserID != "bob" {
		t.Fatalf("memberLeft %+v", ml)
	}
	if ce := body[proto.CallEnded](t, fs[1]); ce.Reason != proto.ReasonDisconnected {
		t.Fatalf("callEnded %+v", ce)
	}
	// The old session is gone: the same session ID starts afresh.
	var rep proto.LoginReply
	b2 := dial(t, s)
	b2.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "bob", UserSig: sig(t, "bob"), SessionID: b.session}, &rep)
	if rep.Resumed || rep.Room != nil {
		t.Fatalf("login after grace %+v", rep)
	}
}

func TestLogoutMidCall(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	call(t, a, b, proto.CallTypeAudio)
	b.do(proto.TypeLogout, nil, nil)
	var ce proto.CallEnded
	b.expect(proto.TypeCallEnded, &ce)
	if ce.Reason != proto.ReasonLogout {
		t.Fatalf("callEnded %+v", ce)
	}
	if code := b.closeCode(); code != 1000 {
		t.Fatalf("close code %d", code)
	}
	fs := a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
	if ml := body[proto.MemberEvent](t, fs[0]); ml.Reason != proto.ReasonLogout {
		t.Fatalf("memberLeft %+v", ml)
	}
}

func TestSwitchCallType(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, a, b, proto.CallTypeVideo)
	a.do(proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: proto.CallTypeAudio}, nil)
	for _, cl := range []*client{a, b} {
		var ct proto.CallTypeChanged
		cl.expect(proto.TypeCallTypeChanged, &ct)
		if ct.CallType != proto.CallTypeAudio || ct.UserID != "alice" || ct.RoomID != room {
			t.Fatalf("callTypeChanged %+v", ct)
		}
	}
	b.fail(proto.CodeWrongState, proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: proto.CallTypeAudio})
	b.fail(proto.CodeBadRequest, proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: 7})
	c := login(t, s, "carol")
	c.fail(proto.CodeWrongState, proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: 2})
}

func TestRelay(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	call(t, a, b, proto.CallTypeVideo)
	payload := json.RawMessage(`{"type":"offer","sdp":"v=0\r\n"}`)
	a.do(proto.TypeRelay, proto.Relay{To: "bob", Payload: payload}, nil)
	var rl proto.Relay
	b.expect(proto.TypeRelay, &rl)
	var got, want any
	_ = json.Unmarshal(rl.Payload, &got)
	_ = json.Unmarshal(payload, &want)
	if rl.From != "alice" || rl.To != "" || got.(map[string]any)["sdp"] != want.(map[string]any)["sdp"] {
		t.Fatalf("relay %+v", rl)
	}
	a.fail(proto.CodeNotInSameRoom, proto.TypeRelay, proto.Relay{To: "carol", Payload: payload})
	c.fail(proto.CodeNotInSameRoom, proto.TypeRelay, proto.Relay{To: "alice", Payload: payload})
	a.fail(proto.CodeNotInSameRoom, proto.TypeRelay, proto.Relay{To: "alice", Payload: payload})
	a.fail(proto.CodeBadRequest, proto.TypeRelay, proto.Relay{To: "bob"})
	c.expectNone(proto.TypeRelay)
}

func TestMediaState(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, a, b, proto.CallTypeVideo)
	a.do(proto.TypeMediaState, proto.MediaState{Audio: false, Video: true}, nil)
	var ms proto.MediaState
	b.expect(proto.TypeMediaState, &ms)
	if ms.UserID != "alice" || ms.RoomID != room || ms.Audio || !ms.Video {
		t.Fatalf("mediaState %+v", ms)
	}
	a.expectNone(proto.TypeMediaState)
	c := login(t, s, "carol")
	c.fail(proto.CodeWrongState, proto.TypeMediaState, proto.MediaState{})
}

func TestPresenceWatch(t *testing.T) {
	s := runServer(t, nil)
	w, a := login(t, s, "watcher"), login(t, s, "alice")
	var rep proto.WatchReply
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"alice", "bob"}}, &rep)
	want := []proto.Presence{{UserID: "alice", Status: "online"}, {UserID: "bob", Status: "offline"}}
	if !slices.Equal(rep.Presence, want) {
		t.Fatalf("watch reply %+v", rep.Presence)
	}
	expectPresence := func(user, status string) {
		t.Helper()
		var p proto.Presence
		w.expect(proto.TypePresence, &p)
		if p.UserID != user || p.Status != status {
			t.Fatalf("presence %+v, want %s %s", p, user, status)
		}
	}
	b := login(t, s, "bob")
	expectPresence("bob", "online")
	a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: 1, Timeout: 30})
	expectPresence("alice", "busy")
	expectPresence("bob", "busy")
	a.do(proto.TypeHangup, nil, nil)
	expectPresence("alice", "online")
	expectPresence("bob", "online")
	b.do(proto.TypeLogout, nil, nil)
	expectPresence("bob", "offline")
	// A new list replaces the old one.
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"bob"}}, nil)
	a.do(proto.TypeLogout, nil, nil)
	w.expectNone(proto.TypePresence)
	too := make([]string, proto.MaxWatch+1)
	for i := range too {
		too[i] = "u" + string(rune('a'+i%26))
	}
	w.fail(proto.CodeBadRequest, proto.TypeWatch, proto.WatchRequest{Users: too})
	w.fail(proto.CodeBadRequest, proto.TypeWatch, proto.WatchRequest{Users: []string{"bad user"}})
}

// TestBusyBySameRule: the server's automatic busy answer and a callee's
// `reject busy` end the call with the same callEnded: reason busy, by =
// the busy invitee (the engine's CALL_END.userID comes from by).
func TestBusyBySameRule(t *testing.T) {
	s := runServer(t, nil)
	a, b, c, d := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol"), login(t, s, "dave")
	call(t, c, d, proto.CallTypeAudio) // carol and dave are busy

	// Automatic: alice calls dave, who is in a call.
	a.invite(proto.InviteRequest{Invitees: []string{"dave"}, CallType: proto.CallTypeAudio, Timeout: 30})
	auto := body[proto.CallEnded](t, a.expectSeq(proto.TypeInviteRejected, proto.TypeCallEnded)[1])

	// Explicit: alice calls bob, who rejects with busy.
	a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	b.do(proto.TypeReject, proto.RejectRequest{InviteID: inv.InviteID, Busy: true}, nil)
	manual := body[proto.CallEnded](t, a.expectSeq(proto.TypeInviteRejected, proto.TypeCallEnded)[1])

	if auto.Reason != proto.ReasonBusy || auto.By != "dave" {
		t.Errorf("automatic busy: callEnded %+v, want reason busy by dave", auto)
	}
	if manual.Reason != proto.ReasonBusy || manual.By != "bob" {
		t.Errorf("reject busy: callEnded %+v, want reason busy by bob", manual)
	}

	// A group invitation where everyone is busy ends by the last of them.
	a.invite(proto.InviteRequest{Invitees: []string{"carol", "dave"}, CallType: proto.CallTypeAudio, Timeout: 30})
	fs := a.expectSeq(proto.TypeInviteRejected, proto.TypeInviteRejected, proto.TypeCallEnded)
	if ce := body[proto.CallEnded](t, fs[2]); ce.Reason != proto.ReasonBusy || ce.By != "dave" {
		t.Errorf("all busy: callEnded %+v, want reason busy by dave", ce)
	}
}

// TestHangupMediaFailed: hangup {reason:"media_failed"} ends a 1:1 call
// with that reason, by the hanger; in a group call the others see
// memberLeft media_failed; any other reason is refused and changes nothing.
func TestHangupMediaFailed(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	room := call(t, a, b, proto.CallTypeVideo)

	b.fail(proto.CodeBadRequest, proto.TypeHangup, proto.HangupRequest{Reason: "bored"})
	b.fail(proto.CodeBadRequest, proto.TypeHangup, proto.HangupRequest{Reason: proto.ReasonHangup})
	b.fail(proto.CodeBadRequest, proto.TypeHangup, json.RawMessage(`"media_failed"`))
	a.expectNone(proto.TypeMemberLeft) // the refused hangups left no trace

	b.do(proto.TypeHangup, proto.HangupRequest{Reason: proto.ReasonMediaFailed}, nil)
	fs := a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)
	if ml := body[proto.MemberEvent](t, fs[0]); ml.UserID != "bob" || ml.Reason != proto.ReasonMediaFailed {
		t.Fatalf("memberLeft %+v", ml)
	}
	var mine proto.CallEnded
	b.expect(proto.TypeCallEnded, &mine)
	for _, ce := range []proto.CallEnded{body[proto.CallEnded](t, fs[1]), mine} {
		if ce.RoomID != room || ce.Reason != proto.ReasonMediaFailed || ce.By != "bob" {
			t.Fatalf("callEnded %+v", ce)
		}
	}

	// Group call: carol's media failed; alice and bob carry on.
	a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol"}, CallType: proto.CallTypeAudio, Timeout: 30})
	for _, cl := range []*client{b, c} {
		var inv proto.Invited
		cl.expect(proto.TypeInvited, &inv)
		cl.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	}
	c.do(proto.TypeHangup, proto.HangupRequest{Reason: proto.ReasonMediaFailed}, nil)
	for _, cl := range []*client{a, b} {
		var ml proto.MemberEvent
		cl.expect(proto.TypeMemberLeft, &ml)
		if ml.UserID != "carol" || ml.Reason != proto.ReasonMediaFailed {
			t.Fatalf("%s: memberLeft %+v", cl.user, ml)
		}
	}
	a.expectNone(proto.TypeCallEnded) // the call goes on without carol
	// An empty body is a plain hangup, as before.
	var ce proto.CallEnded
	a.do(proto.TypeHangup, json.RawMessage(`{}`), nil)
	b.expect(proto.TypeCallEnded, &ce)
	if ce.Reason != proto.ReasonHangup || ce.By != "alice" {
		t.Fatalf("callEnded %+v", ce)
	}
}

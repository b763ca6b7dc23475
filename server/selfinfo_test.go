package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// TestSetSelfInfo: setSelfInfo shows in watch replies, presence pushes and
// the invitations the user sends; it survives a resume and ends at logout.
func TestSetSelfInfo(t *testing.T) {
	s := runServer(t, func(o *Options) { o.Grace = 3 * time.Second })
	w, a, b := login(t, s, "watcher"), login(t, s, "alice"), login(t, s, "bob")
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"alice"}}, nil)
	expectPresence := func(want proto.Presence) {
		t.Helper()
		var p proto.Presence
		w.expect(proto.TypePresence, &p)
		if p != want {
			t.Fatalf("presence %+v, want %+v", p, want)
		}
	}
	nick := strings.Repeat("é", proto.MaxNickName/2) // exactly the limit, in bytes
	info := proto.SelfInfo{NickName: nick, Avatar: "https://avatars.example/alice.png"}
	a.do(proto.TypeSetSelfInfo, info, nil)
	online := proto.Presence{UserID: "alice", Status: proto.PresenceOnline, NickName: info.NickName, Avatar: info.Avatar}
	expectPresence(online)
	a.do(proto.TypeSetSelfInfo, info, nil) // unchanged: no push
	w.expectNone(proto.TypePresence)

	var rep proto.WatchReply
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"alice", "bob"}}, &rep)
	if want := []proto.Presence{online, {UserID: "bob", Status: proto.PresenceOnline}}; !slices.Equal(rep.Presence, want) {
		t.Fatalf("watch reply %+v", rep.Presence)
	}

	a.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	if inv.SponsorNickName != info.NickName || inv.SponsorAvatar != info.Avatar {
		t.Fatalf("invited %+v", inv)
	}
	busy := online
	busy.Status = proto.PresenceBusy
	expectPresence(busy)
	bobBusy := proto.Presence{UserID: "bob", Status: proto.PresenceBusy}
	expectPresence(bobBusy)

	// The info lives on the server session: a resume keeps it.
	a.drop()
	a2 := loginSession(t, s, "alice", a.session)
	w.expectNone(proto.TypePresence)
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"alice"}}, &rep)
	if want := []proto.Presence{busy}; !slices.Equal(rep.Presence, want) {
		t.Fatalf("watch reply after resume %+v", rep.Presence)
	}
	a2.do(proto.TypeHangup, nil, nil)
	expectPresence(online)

	// Clearing it is a change too.
	a2.do(proto.TypeSetSelfInfo, proto.SelfInfo{Avatar: info.Avatar}, nil)
	expectPresence(proto.Presence{UserID: "alice", Status: proto.PresenceOnline, Avatar: info.Avatar})

	// Logout ends it: offline carries no info, and a new login starts bare.
	a2.do(proto.TypeLogout, nil, nil)
	expectPresence(proto.Presence{UserID: "alice", Status: proto.PresenceOffline})
	a3 := login(t, s, "alice")
	expectPresence(proto.Presence{UserID: "alice", Status: proto.PresenceOnline})
	a3.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	inv = proto.Invited{} // Unmarshal keeps fields the push leaves out
	b.expect(proto.TypeInvited, &inv)
	if inv.SponsorNickName != "" || inv.SponsorAvatar != "" {
		t.Fatalf("invited after a new login %+v", inv)
	}
}

func TestSetSelfInfoInvalid(t *testing.T) {
	s := runServer(t, nil)
	w, a := login(t, s, "watcher"), login(t, s, "alice")
	w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"alice"}}, nil)
	a.do(proto.TypeSetSelfInfo, proto.SelfInfo{NickName: "Alice"}, nil)
	w.expect(proto.TypePresence, nil)
	for name, info := range map[string]proto.SelfInfo{
		"nick too long":   {NickName: strings.Repeat("a", proto.MaxNickName+1)},
		"avatar too long": {Avatar: strings.Repeat("a", proto.MaxAvatar+1)},
		"bell":            {NickName: "Al\aice"},
		"escape":          {NickName: "\x1b[2Jalice"},
		"newline":         {NickName: "ali\nce"},
		"nul in avatar":   {Avatar: "x\x00"},
		"C1 control":      {NickName: "a\u009bb"},
		"line separator":  {NickName: "a\u2028b"},
		"bidi override":   {NickName: "\u202Eecila"},
		"replacement":     {NickName: "a\uFFFDb"},
	} {
		t.Run(name, func(t *testing.T) {
			a.t = t
			a.fail(proto.CodeBadRequest, proto.TypeSetSelfInfo, info)
		})
	}
	a.t = t
	raw := func(frame string) {
		t.Helper()
		if err := a.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if _, perr := a.answer(99); perr == nil || perr.Code != proto.CodeBadRequest {
			t.Fatalf("%q: answer %v, want 4000", frame, perr)
		}
	}
	raw("{\"type\":\"setSelfInfo\",\"id\":99,\"body\":{\"nickName\":\"a\xffb\"}}") // invalid UTF-8
	raw(`{"type":"setSelfInfo","id":99,"body":{"nickName":"a\ud800b"}}`)           // lone surrogate
	raw(`{"type":"setSelfInfo","id":99,"body":{"nickName":7}}`)
	raw(`{"type":"setSelfInfo","id":99,"body":[]}`)
	w.expectNone(proto.TypePresence) // nothing changed

	c := dial(t, s)
	c.fail(proto.CodeNotLoggedIn, proto.TypeSetSelfInfo, proto.SelfInfo{NickName: "x"})
}

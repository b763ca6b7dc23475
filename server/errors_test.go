package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

func TestLoginErrors(t *testing.T) {
	s := runServer(t, nil)
	c := dial(t, s)
	gen := func(secret string, app uint32, user string) string {
		tok, err := usersig.GenerateNow(secret, app, user, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name string
		req  proto.LoginRequest
		code int
	}{
		{"wrong secret", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: gen("other-secret", testAppID, "alice")}, proto.CodeInvalidUserSig},
		{"garbage", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: "eJyrVspMSc0rycxLV7JSMDQyNjEyMDA0MDAAAACIJAYs"}, proto.CodeInvalidUserSig},
		{"empty sig", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice"}, proto.CodeInvalidUserSig},
		{"huge sig", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: strings.Repeat("A", 20000)}, proto.CodeInvalidUserSig},
		{"foreign sdkappid in sig", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: gen(testSecret, 1400000002, "alice")}, proto.CodeSDKAppIDMatch},
		{"foreign sdkappid in login", proto.LoginRequest{SDKAppID: 1400000002, UserID: "alice", UserSig: gen(testSecret, 1400000002, "alice")}, proto.CodeSDKAppIDMatch},
		{"sig of another user", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: gen(testSecret, testAppID, "bob")}, proto.CodeIdentifierMatch},
		{"invalid userID", proto.LoginRequest{SDKAppID: testAppID, UserID: "al ice", UserSig: gen(testSecret, testAppID, "al ice")}, proto.CodeInvalidUserID},
		{"empty userID", proto.LoginRequest{SDKAppID: testAppID, UserSig: "x"}, proto.CodeInvalidUserID},
		{"long userID", proto.LoginRequest{SDKAppID: testAppID, UserID: strings.Repeat("a", 33), UserSig: "x"}, proto.CodeInvalidUserID},
		{"long sessionID", proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: gen(testSecret, testAppID, "alice"), SessionID: strings.Repeat("s", 200)}, proto.CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.fail(tc.code, proto.TypeLogin, tc.req)
		})
	}
	c.t = t
	// The connection stays open for another try.
	c.user = "alice"
	c.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: sig(t, "alice")}, nil)
	c.fail(proto.CodeAlreadyLoggedIn, proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: sig(t, "alice")})
}

func TestLoginExpiredUserSig(t *testing.T) {
	s := runServer(t, nil)
	tok, err := usersig.Generate(testSecret, usersig.Params{
		SDKAppID: testAppID, Identifier: "alice", Expire: 60, Time: time.Now().Add(-2 * time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	c.fail(proto.CodeUserSigExpired, proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: tok})
}

func TestRequestsBeforeLogin(t *testing.T) {
	s := runServer(t, nil)
	c := dial(t, s)
	for _, typ := range []string{proto.TypeInvite, proto.TypeLogout, proto.TypeAccept, proto.TypeHangup, proto.TypeRelay, proto.TypeWatch} {
		c.fail(proto.CodeNotLoggedIn, typ, nil)
	}
	var p proto.PingReply
	c.do(proto.TypePing, nil, &p)
	if p.ServerTime == 0 {
		t.Fatal("ping without server time")
	}
}

func TestMalformedFrames(t *testing.T) {
	s := runServer(t, nil)
	c := login(t, s, "alice")
	expectErr := func(code int, id uint64) {
		t.Helper()
		f, ok := c.take(patience, func(f proto.Frame) bool { return f.Type == proto.TypeError && f.ID == id })
		if !ok {
			t.Fatalf("no error frame for id %d", id)
		}
		if e := body[proto.Error](t, f); e.Code != code {
			t.Fatalf("error %+v, want %d", e, code)
		}
	}
	raw := func(s string) {
		t.Helper()
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	raw(`not json`)
	expectErr(proto.CodeMalformed, 0)
	raw(`{"id":5}`)
	expectErr(proto.CodeMalformed, 0)
	raw(`{"type":"invite","id":6,"body":{"invitees":"bob"}}`)
	expectErr(proto.CodeBadRequest, 6)
	raw(`{"type":"invite","id":7,"body":{"invitees":["bob"],"callType":"video"}}`)
	expectErr(proto.CodeBadRequest, 7)
	raw(`{"type":"frobnicate","id":8}`)
	expectErr(proto.CodeUnknownType, 8)
	raw(`{"type":"reply","id":9}`)
	expectErr(proto.CodeUnknownType, 9)
	raw(`{"type":"ping","id":10} {"type":"ping"}`)
	expectErr(proto.CodeMalformed, 0)
	raw(`{"type":"frobnicate"}`) // id 0: errors are still sent
	expectErr(proto.CodeUnknownType, 0)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	expectErr(proto.CodeMalformed, 0)
	// Nothing changed and the connection still works.
	c.do(proto.TypePing, nil, nil)
	c.fail(proto.CodeWrongState, proto.TypeHangup, nil)
}

func TestOversizedFrame(t *testing.T) {
	s := runServer(t, nil)
	c := login(t, s, "alice")
	big := fmt.Sprintf(`{"type":"relay","id":1,"body":{"to":"bob","payload":"%s"}}`, strings.Repeat("x", proto.MaxFrameSize))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	// Others are unaffected.
	login(t, s, "bob").do(proto.TypePing, nil, nil)
}

func TestRateLimit(t *testing.T) {
	s := runServer(t, func(o *Options) { o.RatePerSec = 1; o.RateBurst = 10 })
	c := login(t, s, "alice") // the login used one token
	const n = 30
	for i := 1; i <= n; i++ {
		c.sendRaw(proto.TypePing, uint64(1000+i), nil)
	}
	replies, limited := 0, 0
	for i := 1; i <= n; i++ {
		_, perr := c.answer(uint64(1000 + i))
		switch {
		case perr == nil:
			replies++
		case perr.Code == proto.CodeRateLimited:
			limited++
		default:
			t.Fatalf("unexpected error %v", perr)
		}
	}
	if limited == 0 || replies < 9 || replies+limited != n {
		t.Fatalf("%d replies, %d rate-limited", replies, limited)
	}
	// Keep going past 100 errors: the server hangs up.
	for i := 0; i < maxRateErrors+20; i++ {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			break
		}
	}
	if code := c.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestAnswerErrors(t *testing.T) {
	s := runServer(t, nil)
	a, b, c := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")
	b.fail(proto.CodeUnknownInvite, proto.TypeAccept, proto.InviteRef{InviteID: "nope"})
	b.fail(proto.CodeUnknownInvite, proto.TypeReject, proto.InviteRef{InviteID: "nope"})
	a.fail(proto.CodeUnknownInvite, proto.TypeCancel, proto.InviteRef{InviteID: "nope"})

	rep := a.invite(proto.InviteRequest{Invitees: []string{"bob", "carol"}, CallType: 1, Timeout: 30})
	var inv proto.Invited
	b.expect(proto.TypeInvited, &inv)
	b.fail(proto.CodeNotPermitted, proto.TypeCancel, proto.InviteRef{InviteID: rep.InviteID})
	a.fail(proto.CodeUnknownInvite, proto.TypeAccept, proto.InviteRef{InviteID: rep.InviteID}) // not addressed to alice
	b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
	b.fail(proto.CodeUnknownInvite, proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID})
	b.fail(proto.CodeUnknownInvite, proto.TypeReject, proto.InviteRef{InviteID: inv.InviteID})
	c.do(proto.TypeReject, proto.RejectRequest{InviteID: inv.InviteID}, nil)
	c.fail(proto.CodeUnknownInvite, proto.TypeReject, proto.RejectRequest{InviteID: inv.InviteID})
	a.do(proto.TypeHangup, nil, nil)

	d := login(t, s, "dave")
	bad := []struct {
		name string
		req  proto.InviteRequest
	}{
		{"self", proto.InviteRequest{Invitees: []string{"dave"}, CallType: 1}},
		{"duplicates", proto.InviteRequest{Invitees: []string{"erin", "erin"}, CallType: 1}},
		{"empty", proto.InviteRequest{CallType: 1}},
		{"invalid userID", proto.InviteRequest{Invitees: []string{"e rin"}, CallType: 1}},
		{"call type", proto.InviteRequest{Invitees: []string{"erin"}, CallType: 3}},
		{"negative timeout", proto.InviteRequest{Invitees: []string{"erin"}, CallType: 1, Timeout: -1}},
		{"timeout too long", proto.InviteRequest{Invitees: []string{"erin"}, CallType: 1, Timeout: proto.MaxTimeout + 1}},
		{"too many", proto.InviteRequest{Invitees: manyUsers(proto.MaxInvitees + 1), CallType: 1}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			d.t = t
			d.fail(proto.CodeBadRequest, proto.TypeInvite, tc.req)
		})
	}
	d.t = t
	d.fail(proto.CodeWrongState, proto.TypeInvite, proto.InviteRequest{Invitees: []string{"erin"}, CallType: 1, RoomID: 42})
	// None of that left a trace: dave is idle and can call.
	d.fail(proto.CodeWrongState, proto.TypeHangup, nil)
	rep = d.invite(proto.InviteRequest{Invitees: manyUsers(proto.MaxInvitees), CallType: 1})
	if len(rep.Invitees) != proto.MaxInvitees {
		t.Fatalf("reply %+v", rep)
	}
}

func manyUsers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%02d", i)
	}
	return out
}

func TestPongTimeout(t *testing.T) {
	s := runServer(t, func(o *Options) { o.PingInterval = 100 * time.Millisecond; o.PongWait = 300 * time.Millisecond })
	silent := dial(t, s)
	silent.ws.SetPingHandler(func(string) error { return nil }) // never answers
	live := dial(t, s)
	if code := silent.closeCode(); code == 0 {
		t.Fatalf("close code %d", code)
	}
	// A client that answers pings (gorilla does so while reading) stays.
	// Pings and the pong deadline run on real time (conn.go), so this
	// test waits for real.
	time.Sleep(500 * time.Millisecond)
	live.do(proto.TypePing, nil, nil)
}

func TestShutdownClosesClients(t *testing.T) {
	s := runServer(t, nil)
	a, b := login(t, s, "alice"), login(t, s, "bob")
	call(t, a, b, proto.CallTypeAudio)
	c := login(t, s, "carol")
	c.invite(proto.InviteRequest{Invitees: []string{"dave"}, CallType: 1, Timeout: 60})
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{a, b, c} {
		if code := cl.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("%s close code %d", cl.user, code)
		}
	}
	if _, _, err := websocket.DefaultDialer.Dial(s.URL(), nil); err == nil {
		t.Fatal("dial after shutdown succeeded")
	}
}

package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

// fuzzSession is an in-process logged-in connection: frames go straight to
// the server's dispatch and answers are read from the send queue.
type fuzzSession struct {
	t *testing.T
	s *Server
	c *conn
}

func newFuzzSession(t *testing.T, s *Server, user string, sigs map[string]string) *fuzzSession {
	fs := &fuzzSession{t: t, s: s, c: newConn(s, nil)}
	raw, _ := proto.Encode(proto.TypeLogin, 1, proto.LoginRequest{SDKAppID: testAppID, UserID: user, UserSig: sigs[user], SessionID: user + "-s"})
	s.handleFrame(fs.c, raw)
	if f := fs.answer(1); f.Type != proto.TypeReply {
		t.Fatalf("fuzz login %s: %s %s", user, f.Type, f.Body)
	}
	return fs
}

// answer drains the queue up to the answer with id.
func (fs *fuzzSession) answer(id uint64) proto.Frame {
	for _, b := range fs.c.queued() {
		f, err := proto.Decode(b)
		if err != nil {
			fs.t.Fatalf("server sent an undecodable frame %q: %v", b, err)
		}
		if f.ID == id && (f.Type == proto.TypeReply || f.Type == proto.TypeError) {
			return f
		}
	}
	fs.t.Fatalf("no answer to request %d", id)
	return proto.Frame{}
}

func (fs *fuzzSession) ping(id uint64) {
	raw, _ := proto.Encode(proto.TypePing, id, nil)
	fs.s.handleFrame(fs.c, raw)
	if f := fs.answer(id); f.Type != proto.TypeReply {
		fs.t.Fatalf("ping answered with %s %s", f.Type, f.Body)
	}
}

// FuzzHandleFrame feeds arbitrary frames to a logged-in session (alice, in a
// call that is ringing for bob) and checks that the server still answers.
func FuzzHandleFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hangup","id":5}`,
		`{"type":"hangup","id":5,"body":{"reason":"media_failed"}}`,
		`{"type":"hangup","id":5,"body":{"reason":7}}`,
		`{"type":"setSelfInfo","id":5,"body":{"nickName":"Al\u0000","avatar":"https://a.example/x.png"}}`,
		`{"type":"setSelfInfo","id":5,"body":"x"}`,
		`{"type":"cancel","id":5,"body":{"inviteID":"x"}}`,
		`{"type":"invite","id":5,"body":{"invitees":["carol"],"callType":1,"timeout":1}}`,
		`{"type":"invite","id":5,"body":{"groupID":"team","callType":2}}`,
		`{"type":"accept","id":5,"body":{"inviteID":"x"}}`,
		`{"type":"reject","id":5,"body":{"inviteID":"x","busy":true}}`,
		`{"type":"relay","id":5,"body":{"to":"bob","payload":{"a":[1,2,{}]}}}`,
		`{"type":"mediaState","body":{"audio":false,"video":true}}`,
		`{"type":"switchCallType","id":5,"body":{"callType":1}}`,
		`{"type":"watch","id":5,"body":{"users":["bob","alice"]}}`,
		`{"type":"logout","id":5}`,
		`{"type":"login","id":5,"body":{"sdkAppID":1,"userID":"bob"}}`,
		`{"type":"reply","id":5}`,
		`{"type":"invite","id":5,"body":{"invitees":null,"callType":1e400}}`,
		"\x00\xff",
	} {
		f.Add([]byte(seed), uint8(0), false)
	}
	f.Add([]byte(`{"type":"accept","id":5,"body":{"inviteID":"x"}}`), uint8(1), false)
	f.Add([]byte{1, 2, 3}, uint8(0), true)

	sigs := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol"} {
		tok, err := usersig.GenerateNow(testSecret, testAppID, u, 24*time.Hour)
		if err != nil {
			f.Fatal(err)
		}
		sigs[u] = tok
	}
	f.Fuzz(func(t *testing.T, data []byte, who uint8, binary bool) {
		o := testOptions()
		o.Logger = nil
		s, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}()
		alice := newFuzzSession(t, s, "alice", sigs)
		bob := newFuzzSession(t, s, "bob", sigs)
		carol := newFuzzSession(t, s, "carol", sigs)
		raw, _ := proto.Encode(proto.TypeInvite, 2, proto.InviteRequest{Invitees: []string{"bob"}, CallType: 2, Timeout: 30})
		s.handleFrame(alice.c, raw)
		var rep proto.InviteReply
		if f := alice.answer(2); f.Type != proto.TypeReply || json.Unmarshal(f.Body, &rep) != nil {
			t.Fatalf("invite: %s %s", f.Type, f.Body)
		}

		target := []*fuzzSession{alice, bob, carol}[int(who)%3]
		s.receive(target.c, binary, data)

		for i, fs := range []*fuzzSession{alice, bob, carol} {
			if fs.c.closing() {
				continue // logged out: the socket would be closed now
			}
			fs.ping(uint64(100 + i))
		}
		if carol.c.closing() && target != carol {
			t.Fatal("a frame from another session closed carol's connection")
		}
	})
}

// FuzzAdmission feeds arbitrary remote addresses and resume parameters to
// the admission checks that run before a websocket upgrade.
func FuzzAdmission(f *testing.F) {
	f.Add("127.0.0.1:1", "alice", "alice-session-0123456789")
	f.Add("[2001:db8::1%zone]:0", "", "")
	f.Add("[::ffff:1.2.3.4]", "a&b", "\x00\xff")
	f.Fuzz(func(t *testing.T, remote, user, sid string) {
		s, err := New(testOptions())
		if err != nil {
			t.Fatal(err)
		}
		s.sessions["alice"] = &session{userID: "alice", sessionID: "alice-session-0123456789"}
		if k := addrKey(remote); k == "" && remote != "" {
			t.Fatalf("addrKey(%q) is empty", remote)
		}
		sess := s.reservable(user, sid)
		if sess != nil && (user != "alice" || sid != "alice-session-0123456789") {
			t.Fatalf("reservable(%q, %q) matched", user, sid)
		}
	})
}

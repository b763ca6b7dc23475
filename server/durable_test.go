package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/store"
)

// openStore opens a file-backed embedded store in dir; it is closed when
// the test ends unless the test closes it first.
func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{NodeName: "test-node", DataDir: dir})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// restartable runs servers one after another on one store and one fake
// clock, as a process restarted with the same --data would.
type restartable struct {
	t     *testing.T
	st    StateStore
	clock *fakeClock
	cur   *Server
}

func (r *restartable) start() *Server {
	r.t.Helper()
	o := testOptions()
	o.State, o.Clock = r.st, r.clock
	s, err := New(o)
	if err != nil {
		r.t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	r.cur = s
	r.t.Cleanup(func() { r.stop() })
	return s
}

// stop ends the current server. Nothing of the stop reaches the store (a
// closing server writes no state), so this is a crash as far as the
// state is concerned.
func (r *restartable) stop() {
	if r.cur == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_ = r.cur.Shutdown(ctx)
	r.cur = nil
}

// resume reconnects c's session on s, as the client's redial does.
func resume(t *testing.T, s *Server, c *client) (*client, proto.LoginReply) {
	t.Helper()
	n := dial(t, s)
	n.user, n.session = c.user, c.session
	var rep proto.LoginReply
	n.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: c.user, UserSig: sig(t, c.user), SessionID: c.session}, &rep)
	return n, rep
}

func TestRestartKeepsTheCall(t *testing.T) {
	dir := t.TempDir()
	r := &restartable{t: t, st: openStore(t, dir), clock: newFakeClock()}
	s := r.start()
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, alice, bob, proto.CallTypeVideo)
	bob.do(proto.TypeMediaState, proto.MediaState{Audio: true, Video: false}, nil)
	alice.expect(proto.TypeMediaState, nil)
	r.stop()
	alice.close()
	bob.close()

	s = r.start()
	a2, rep := resume(t, s, alice)
	if !rep.Resumed || rep.Room == nil || rep.Room.RoomID != room || len(rep.Room.Members) != 2 {
		t.Fatalf("alice's resume after the restart: resumed %v room %+v, want call %d with 2 members", rep.Resumed, rep.Room, room)
	}
	for _, m := range rep.Room.Members {
		if m.UserID == "bob" && m.Video {
			t.Errorf("bob's camera was off before the restart; the restored call says %+v", m)
		}
	}
	b2, rep := resume(t, s, bob)
	if !rep.Resumed || rep.Room == nil || rep.Room.RoomID != room {
		t.Fatalf("bob's resume: resumed %v room %+v", rep.Resumed, rep.Room)
	}
	// The grace of restored sessions passes: they are connected, nothing ends.
	r.clock.Advance(restoreGraceMin + time.Second)
	a2.expectNone(proto.TypeCallEnded)
	a2.expectNone(proto.TypeMemberLeft)
	// Relay still works between them, and a hangup reaches the other side.
	a2.do(proto.TypeRelay, proto.Relay{To: "bob", Payload: []byte(`{"sdp":"x"}`)}, nil)
	b2.expect(proto.TypeRelay, nil)
	a2.do(proto.TypeHangup, proto.HangupRequest{}, nil)
	var ended proto.CallEnded
	b2.expect(proto.TypeCallEnded, &ended)
	if ended.RoomID != room || ended.Reason != proto.ReasonHangup || ended.By != "alice" {
		t.Errorf("bob's callEnded %+v, want alice's hangup of %d", ended, room)
	}
}

func TestRestartFromDiskKeepsTheCall(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{NodeName: "test-node", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	r := &restartable{t: t, st: st, clock: clk}
	s := r.start()
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	room := call(t, alice, bob, proto.CallTypeAudio)
	r.stop()
	st.Close() // the embedded NATS server goes away with its process
	alice.close()
	bob.close()

	r2 := &restartable{t: t, st: openStore(t, dir), clock: clk}
	s = r2.start()
	_, rep := resume(t, s, alice)
	if !rep.Resumed || rep.Room == nil || rep.Room.RoomID != room {
		t.Fatalf("after reopening %s: resumed %v room %+v, want call %d", dir, rep.Resumed, rep.Room, room)
	}
}

func TestRestartFiresOverdueTimeoutOnce(t *testing.T) {
	r := &restartable{t: t, st: openStore(t, t.TempDir()), clock: newFakeClock()}
	s := r.start()
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	rep := alice.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 3})
	bob.expect(proto.TypeInvited, nil)
	r.stop()
	alice.close()
	bob.close()
	r.clock.Advance(5 * time.Second) // the deadline passes while the server is down

	s = r.start()
	a2, lr := resume(t, s, alice)
	if lr.Room == nil || lr.Room.RoomID != rep.RoomID || len(lr.Room.Pending) != 1 {
		t.Fatalf("alice's resume: room %+v, want call %d with bob ringing", lr.Room, rep.RoomID)
	}
	a2.expectNone(proto.TypeInviteTimeout) // bob is not back yet
	b2, _ := resume(t, s, bob)
	var to proto.InviteEnd
	a2.expect(proto.TypeInviteTimeout, &to)
	if to.InviteID != rep.InviteID || len(to.UserIDs) != 1 || to.UserIDs[0] != "bob" {
		t.Errorf("alice's inviteTimeout %+v", to)
	}
	b2.expect(proto.TypeInviteTimeout, nil)
	a2.expect(proto.TypeCallEnded, nil)
	// Once: neither another restart nor time brings it back.
	r.clock.Advance(time.Minute)
	a2.expectNone(proto.TypeInviteTimeout)
	b2.expectNone(proto.TypeInviteTimeout)
	r.stop()
	s = r.start()
	a3, lr := resume(t, s, alice)
	if lr.Room != nil {
		t.Errorf("after a second restart alice is in call %+v", lr.Room)
	}
	r.clock.Advance(time.Minute)
	a3.expectNone(proto.TypeInviteTimeout)
}

func TestRestartTimerKeepsItsDeadline(t *testing.T) {
	r := &restartable{t: t, st: openStore(t, t.TempDir()), clock: newFakeClock()}
	s := r.start()
	alice := login(t, s, "alice")
	alice.invite(proto.InviteRequest{Invitees: []string{"carol"}, CallType: proto.CallTypeAudio, Timeout: 20}) // carol is offline
	r.clock.Advance(5 * time.Second)
	r.stop()
	alice.close()

	s = r.start()
	a2, _ := resume(t, s, alice)
	r.clock.Advance(14 * time.Second)
	a2.expectNone(proto.TypeInviteTimeout)
	r.clock.Advance(time.Second + time.Millisecond)
	a2.expect(proto.TypeInviteTimeout, nil)
	// The offline invitation was kept too: carol would have got it at login until then.
}

func TestRestartEndsSessionsThatDoNotComeBack(t *testing.T) {
	r := &restartable{t: t, st: openStore(t, t.TempDir()), clock: newFakeClock()}
	s := r.start()
	alice, bob := login(t, s, "alice"), login(t, s, "bob")
	call(t, alice, bob, proto.CallTypeAudio)
	r.stop()
	alice.close()
	bob.close()

	s = r.start()
	a2, _ := resume(t, s, alice)
	r.clock.Advance(restoreGraceMin + time.Second) // bob never returns
	var left proto.MemberEvent
	a2.expect(proto.TypeMemberLeft, &left)
	if left.UserID != "bob" || left.Reason != proto.ReasonDisconnected {
		t.Errorf("memberLeft %+v, want bob disconnected", left)
	}
	a2.expect(proto.TypeCallEnded, nil)
	// And the next run knows bob is gone: a new login of his is not a resume.
	r.stop()
	s = r.start()
	_, rep := resume(t, s, bob)
	if rep.Resumed {
		t.Error("bob resumed a session that had expired before the restart")
	}
}

func TestCorruptStateRecordIsDroppedNotFatal(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx := context.Background()
	if err := st.Apply(ctx, []store.Write{
		{Key: "session.alice", Value: []byte("{not json")},
		{Key: "room.7", Value: []byte(`{"id":7,"callType":1,"inviter":"ghost","members":[{"userID":"ghost"}]}`)},
		{Key: "invite.abc", Value: []byte(`{"id":"abc","sponsor":"ghost","roomID":99,"pending":["bob"]}`)},
		{Key: "what.ever", Value: []byte(`1`)},
	}); err != nil {
		t.Fatal(err)
	}
	r := &restartable{t: t, st: st, clock: newFakeClock()}
	s := r.start()
	alice := login(t, s, "alice") // the corrupt session record does not block her
	if rep := alice.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio}); rep.RoomID == 0 {
		t.Fatal("no call")
	}
	recs, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range recs {
		if k == "what.ever" || k == "room.7" || k == "invite.abc" {
			t.Errorf("record %s kept after it was found broken", k)
		}
	}
}

func TestHealthz(t *testing.T) {
	st := openStore(t, "")
	r := &restartable{t: t, st: st, clock: newFakeClock()}
	s := r.start()
	url := "http" + strings.TrimSuffix(strings.TrimPrefix(s.URL(), "ws"), "/ws") + "/healthz"
	get := func() int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("healthz %d with the store up", code)
	}
	st.Close()
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("healthz %d with the store closed, want 503", code)
	}
}

// An older termcall kept an invitation in its own invite.ID record; one
// restarted by this version restores it and keeps it in its call's record.
func TestRestoresAnOlderInvitationRecord(t *testing.T) {
	st := openStore(t, t.TempDir())
	clk := newFakeClock()
	sent := clk.Now().UnixMilli()
	ctx := context.Background()
	if err := st.Apply(ctx, []store.Write{
		{Key: "session.alice", Value: []byte(`{"userID":"alice","sessionID":"s-alice"}`)},
		{Key: "session.bob", Value: []byte(`{"userID":"bob","sessionID":"s-bob"}`)},
		{Key: "room.7", Value: []byte(`{"id":7,"callType":1,"inviter":"alice","members":[{"userID":"alice","audio":true}],"pending":["bob"]}`)},
		{Key: "invite.abc", Value: []byte(`{"id":"abc","sponsor":"alice","roomID":7,"invitees":["bob"],"pending":["bob"],"callType":1,"timeout":30,"sentAt":` +
			strconv.FormatInt(sent, 10) + `,"seq":1}`)},
	}); err != nil {
		t.Fatal(err)
	}
	r := &restartable{t: t, st: st, clock: clk}
	s := r.start()
	alice, lr := resume(t, s, &client{user: "alice", session: "s-alice"})
	if !lr.Resumed || lr.Room == nil || lr.Room.RoomID != 7 || len(lr.Room.Pending) != 1 {
		t.Fatalf("alice's resume: resumed %v, room %+v; want call 7 with bob ringing", lr.Resumed, lr.Room)
	}
	recs, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rec roomRecord
	if _, ok := recs["invite.abc"]; ok {
		t.Error("the older invite.abc record is still there")
	}
	if err := json.Unmarshal(recs["room.7"], &rec); err != nil || len(rec.Invites) != 1 || rec.Invites[0].ID != "abc" {
		t.Errorf("room.7 = %s (%v), want invitation abc in it", recs["room.7"], err)
	}
	bob, _ := resume(t, s, &client{user: "bob", session: "s-bob"})
	bob.do(proto.TypeAccept, proto.InviteRef{InviteID: "abc"}, nil)
	var ua proto.InviteAnswer
	alice.expect(proto.TypeInviteAccepted, &ua)
	if ua.UserID != "bob" {
		t.Errorf("alice heard %+v, want bob's accept", ua)
	}
}

// Transactions share a deadline context, and each one still gets at least
// storeTimeout, at most a step more.
func TestSharedDeadline(t *testing.T) {
	var d sharedDeadline
	t0 := time.Now()
	a := d.get(t0)
	if b := d.get(t0.Add(deadlineStep / 2)); b != a {
		t.Fatal("two transactions half a step apart got different contexts")
	}
	for _, at := range []time.Time{t0, t0.Add(deadlineStep / 2), t0.Add(3 * deadlineStep / 2)} {
		dl, ok := d.get(at).Deadline()
		if left := dl.Sub(at); !ok || left < storeTimeout || left > storeTimeout+deadlineStep {
			t.Fatalf("at +%v: %v left, want %v to %v", at.Sub(t0), left, storeTimeout, storeTimeout+deadlineStep)
		}
	}
	if d.get(t0.Add(3*deadlineStep/2)) == a {
		t.Fatal("a transaction a step and a half later shares a context with under storeTimeout left")
	}
}

package callcore

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/termcall/termcall/server/proto"
)

// relayMedia is a MediaSession that negotiates through the real server:
// the offerer relays "offer", the other side answers; each side reports
// PeerUp when its half of the exchange is done. It records what the engine
// asked of it.
type relayMedia struct {
	silent   bool // never offer and never report PeerUp: media that does not connect
	mu       sync.Mutex
	sessions []*relaySession
}

func (f *relayMedia) NewSession(mc MediaCall) (MediaSession, error) {
	s := &relaySession{mc: mc, silent: f.silent}
	f.mu.Lock()
	f.sessions = append(f.sessions, s)
	f.mu.Unlock()
	return s, nil
}

func (f *relayMedia) session(i int) *relaySession {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.sessions) {
		return nil
	}
	return f.sessions[i]
}

type relaySession struct {
	mc     MediaCall
	silent bool
	mu     sync.Mutex
	log    []string
	v      ViewTable
}

func (s *relaySession) note(x string) {
	s.mu.Lock()
	s.log = append(s.log, x)
	s.mu.Unlock()
}

func (s *relaySession) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func (s *relaySession) AddPeer(u string, offerer bool) {
	if offerer {
		s.note("add-offer:" + u)
		if s.silent {
			return
		}
		if err := s.mc.Send(u, json.RawMessage(`{"kind":"offer"}`)); err != nil {
			s.note("send-error")
		}
		return
	}
	s.note("add-answer:" + u)
}

func (s *relaySession) HandleSignal(from string, payload json.RawMessage) {
	var m struct{ Kind string }
	_ = json.Unmarshal(payload, &m)
	s.note("signal:" + from + ":" + m.Kind)
	if s.silent {
		return
	}
	if m.Kind == "offer" {
		_ = s.mc.Send(from, json.RawMessage(`{"kind":"answer"}`))
	}
	s.mc.PeerUp(from)
}

func (s *relaySession) RemovePeer(u string) { s.note("remove:" + u) }
func (s *relaySession) SetMicMute(m bool)   { s.note(map[bool]string{true: "mute", false: "unmute"}[m]) }
func (s *relaySession) SetCamera(on bool) {
	s.note(map[bool]string{true: "cam-on", false: "cam-off"}[on])
}
func (s *relaySession) SetCallType(t CallType) {
	s.note(map[CallType]string{1: "type-audio", 2: "type-video"}[t])
}
func (s *relaySession) Close() error         { s.note("close"); return nil }
func (s *relaySession) SetViews(v ViewTable) { s.mu.Lock(); s.v = v; s.mu.Unlock() }
func (s *relaySession) views() (v ViewTable) { s.mu.Lock(); v = s.v; s.mu.Unlock(); return v }
func (s *relaySession) has(call string) bool { return slices.Contains(s.calls(), call) }
func (s *relaySession) waitCall(t *testing.T, c string) {
	t.Helper()
	eventually(t, "media call "+c, func() bool { return s.has(c) })
}

func TestMediaPlugin(t *testing.T) {
	srv := startServer(t, nil)
	am, bm := &relayMedia{}, &relayMedia{}
	alice := newClient(t, srv.URL(), "alice", WithMedia(am))
	bob := newClient(t, srv.URL(), "bob", WithMedia(bm))
	info, err := alice.Call(ctx(t), "bob", proto.CallTypeVideo, 30)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, bob.Accept(ctx(t), "", 0, 0))

	// USER_ENTER comes from PeerUp, after the relayed offer/answer.
	if u := data[UserRef](t, alice.rec.wait(t, EventUserEnter, 1)); u.UserID != "bob" {
		t.Fatalf("USER_ENTER %+v", u)
	}
	bob.rec.wait(t, EventUserEnter, 1)
	as, bs := am.session(0), bm.session(0)
	if as == nil || bs == nil {
		t.Fatal("no media sessions")
	}
	if as.mc.RoomID != info.RoomID || as.mc.SelfID != "alice" || as.mc.CallType != 2 || bs.mc.SelfID != "bob" {
		t.Fatalf("media calls %+v %+v", as.mc, bs.mc)
	}
	// The later joiner (bob) offers; alice answers.
	bs.waitCall(t, "add-offer:alice")
	as.waitCall(t, "add-answer:bob")
	as.waitCall(t, "signal:bob:offer")
	bs.waitCall(t, "signal:alice:answer")
	if n := len(alice.rec.all(EventUserEnter)); n != 1 {
		t.Fatalf("%d USER_ENTER", n)
	}

	must(t, alice.SetMicMute(ctx(t), true))
	as.waitCall(t, "mute")
	must(t, bob.StartRemoteView("alice", "big"))
	must(t, bob.StartLocalView("small"))
	eventually(t, "views reach media", func() bool {
		v := bs.views()
		return slices.Equal(v.Remote["alice"], []string{"big"}) && slices.Equal(v.Local, []string{"small"})
	})
	must(t, alice.SwitchToAudioCall(ctx(t)))
	bs.waitCall(t, "type-audio")

	// Media lost on alice's side: USER_LEAVE, then the 1:1 call is hung up.
	as.mc.PeerDown("bob")
	if l := data[UserLeave](t, alice.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: "bob", Reason: "media_lost"}) {
		t.Fatalf("USER_LEAVE %+v", l)
	}
	alice.rec.wait(t, EventCallEnd, 1)
	bob.rec.wait(t, EventCallEnd, 1)
	as.waitCall(t, "close")
	bs.waitCall(t, "close")
	alice.waitState(t, StateIdle)
	// A stale callback after the call is ignored.
	as.mc.PeerUp("bob")
	if n := len(alice.rec.all(EventUserEnter)); n != 1 {
		t.Fatalf("stale PeerUp emitted: %d", n)
	}
	if err := as.mc.Send("bob", json.RawMessage(`{}`)); err != nil {
		t.Logf("send after call: %v", err) // allowed: the server answers 4092 asynchronously
	}
}

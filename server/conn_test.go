package server

import (
	"fmt"
	"testing"

	"github.com/termcall/termcall/server/proto"
)

func TestSlowConsumerDropped(t *testing.T) {
	s, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	c := newConn(s, nil) // nobody drains its queue
	for i := 0; i < sendBuffer; i++ {
		if !c.Send([]byte(`{}`)) {
			t.Fatalf("frame %d refused before the queue was full", i)
		}
	}
	if c.closing() {
		t.Fatal("closed with a full but not overflowing queue")
	}
	if c.Send([]byte(`{}`)) || !c.closing() {
		t.Fatal("overflowing frame accepted or connection kept")
	}
}

// TestConcurrentCalls runs many calls at once; with -race it checks the
// locking, and every call must end properly on both sides.
func TestConcurrentCalls(t *testing.T) {
	s := runServer(t, nil)
	const pairs, rounds = 6, 4
	t.Run("pairs", func(t *testing.T) {
		for p := 0; p < pairs; p++ {
			t.Run(fmt.Sprint(p), func(t *testing.T) {
				t.Parallel()
				a := login(t, s, fmt.Sprintf("caller%d", p))
				b := login(t, s, fmt.Sprintf("callee%d", p))
				intruder := login(t, s, fmt.Sprintf("intruder%d", p))
				for r := 0; r < rounds; r++ {
					rep := a.invite(proto.InviteRequest{Invitees: []string{b.user}, CallType: 2, Timeout: 30})
					var inv proto.Invited
					b.expect(proto.TypeInvited, &inv)
					// b is ringing: the intruder gets a busy answer.
					intruder.invite(proto.InviteRequest{Invitees: []string{b.user}, CallType: 1, Timeout: 30})
					intruder.expect(proto.TypeCallEnded, nil)
					b.expect(proto.TypeInviteMissed, nil)
					b.do(proto.TypeAccept, proto.InviteRef{InviteID: inv.InviteID}, nil)
					a.expectSeq(proto.TypeInviteAccepted, proto.TypeMemberJoined)
					a.do(proto.TypeRelay, proto.Relay{To: b.user, Payload: []byte(`"x"`)}, nil)
					b.expect(proto.TypeRelay, nil)
					b.do(proto.TypeHangup, nil, nil)
					ce := body[proto.CallEnded](t, a.expectSeq(proto.TypeMemberLeft, proto.TypeCallEnded)[1])
					b.expect(proto.TypeCallEnded, nil)
					if ce.RoomID != rep.RoomID || ce.Reason != proto.ReasonHangup {
						t.Fatalf("callEnded %+v", ce)
					}
				}
			})
		}
	})
}

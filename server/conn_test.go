package server

import (
	"fmt"
	"runtime"
	"testing"
	"time"

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

// TestIdleConnectionsHoldOneGoroutine: an idle logged-in connection costs
// the server its reader goroutine alone: requests run on a fixed pool of
// workers, writes on a goroutine that ends when the queue is empty, and
// one ping wheel pings everyone (each
// client answers its pings all along). Closing the connections leaves no
// goroutine behind.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	s := runServer(t, func(o *Options) { o.PingInterval = 40 * time.Millisecond })
	login(t, s, "first") // starts the frame workers, a pool of fixed size
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()
	const n = 40
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = login(t, s, fmt.Sprintf("idle%02d", i))
	}
	time.Sleep(300 * time.Millisecond) // several rounds of pings
	// Per connection: the test client's reader, and on Linux nothing of
	// the server's (the poller reads it); elsewhere its reader.
	perConn := 2
	if runtime.GOOS == "linux" {
		perConn = 1
	}
	want := base + perConn*n + 8
	var got int
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = runtime.NumGoroutine(); got <= want {
			break
		}
	}
	if got > want {
		t.Errorf("%d idle connections: %d goroutines over the %d before, want at most %d (%d a connection, one of them the test client's)",
			n, got-base, base, want-base, perConn)
	}
	// Idle through several pings, each is read again at once.
	for _, c := range clients {
		c.do(proto.TypePing, nil, nil)
	}
	for i, c := range clients {
		if c.pings.Load() == 0 {
			t.Errorf("client %d got no ping in 300 ms at a 40 ms interval", i)
		}
	}
	for _, c := range clients {
		c.close()
	}
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = runtime.NumGoroutine(); got <= base+2 {
			return
		}
	}
	t.Errorf("after closing every connection: %d goroutines, %d before", got, base)
}

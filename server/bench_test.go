package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/store"
)

// stateModes are the ways a server keeps its state: what durability costs
// is the difference between them.
func stateModes(b *testing.B) []struct {
	name string
	st   func() StateStore
} {
	open := func(dir string) func() StateStore {
		return func() StateStore {
			st, err := store.Open(context.Background(), store.Config{NodeName: "bench", DataDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(st.Close)
			return st
		}
	}
	return []struct {
		name string
		st   func() StateStore
	}{
		{"memory", func() StateStore { return nil }},
		{"nats-memory", open("")},
		{"nats-file", open(b.TempDir())},
	}
}

func benchServer(b *testing.B, st StateStore) *Server {
	o := testOptions()
	o.State = st
	o.RatePerSec, o.RateBurst = 1e6, 1e6 // measure the server, not its rate limit
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// BenchmarkInviteToInvited times an invitation from the caller's send to
// the callee's INVITED (then cancels it), reporting p50 and p99.
func BenchmarkInviteToInvited(b *testing.B) {
	for _, m := range stateModes(b) {
		b.Run(m.name, func(b *testing.B) {
			s := benchServer(b, m.st())
			alice, bob := login(b, s, "alice"), login(b, s, "bob")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				alice.sendRaw(proto.TypeInvite, uint64(i+1), proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
				var inv proto.Invited
				bob.expect(proto.TypeInvited, &inv)
				lat = append(lat, time.Since(start))
				if _, perr := alice.answer(uint64(i + 1)); perr != nil {
					b.Fatal(perr)
				}
				alice.do(proto.TypeCancel, proto.InviteRef{InviteID: inv.InviteID}, nil)
				bob.expect(proto.TypeInviteCancelled, nil)
				alice.expect(proto.TypeCallEnded, nil)
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkLogin times a new login on one node: dial, userSig check,
// session, reply (then the socket closes).
func BenchmarkLogin(b *testing.B) {
	for _, m := range stateModes(b) {
		b.Run(m.name, func(b *testing.B) {
			s := benchServer(b, m.st())
			userSig := sig(b, "alice")
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := dial(b, s)
				c.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: userSig, SessionID: randomID()}, nil)
				c.close()
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
		})
	}
}

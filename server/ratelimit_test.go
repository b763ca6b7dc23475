package server

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// flood sends n pings and reports how many were rate-limited.
func (c *client) flood(n int) int {
	c.t.Helper()
	limited := 0
	for i := 0; i < n; i++ {
		_, perr := c.request(proto.TypePing, nil)
		if perr != nil && perr.Code == proto.CodeRateLimited {
			limited++
		}
	}
	return limited
}

// answerAdvancing waits for the answer to request id while the reader may
// be waiting on the clock for a token: each time the answer is not there
// yet, the clock moves to its next timer, the reader's (no other timer
// runs in the test that uses it), and only that far.
func (c *client) answerAdvancing(clk *fakeClock, id uint64) (json.RawMessage, *proto.Error) {
	c.t.Helper()
	answered := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.ContainsFunc(c.queue, func(f proto.Frame) bool {
			return f.ID == id && (f.Type == proto.TypeReply || f.Type == proto.TypeError)
		})
	}
	deadline := time.Now().Add(patience)
	for !answered() && time.Now().Before(deadline) {
		if d, ok := clk.Next(); ok {
			clk.Advance(d)
		} else {
			time.Sleep(time.Millisecond) // the reader is busy, not waiting
		}
	}
	return c.answer(id)
}

// TestEndingRequestsNeverRateLimited: with the budget spent, hangup,
// cancel, reject and logout still go through, and a stream of them is
// slowed down rather than refused.
func TestEndingRequestsNeverRateLimited(t *testing.T) {
	s := runServer(t, func(o *Options) { o.RatePerSec = 0.5; o.RateBurst = 6 })
	a, b := login(t, s, "alice"), login(t, s, "bob")
	call(t, a, b, proto.CallTypeAudio)
	c, d := login(t, s, "carol"), login(t, s, "dave")
	rep := c.invite(proto.InviteRequest{Invitees: []string{"dave"}, CallType: proto.CallTypeAudio, Timeout: 30})
	d.expect(proto.TypeInvited, nil)
	e, f := login(t, s, "erin"), login(t, s, "frank")
	e.invite(proto.InviteRequest{Invitees: []string{"frank"}, CallType: proto.CallTypeAudio, Timeout: 30})
	var inv proto.Invited
	f.expect(proto.TypeInvited, &inv)
	g := login(t, s, "gina")

	for _, cl := range []*client{a, c, f, g} {
		if n := cl.flood(10); n == 0 {
			t.Fatalf("%s: the flood was never rate-limited", cl.user)
		}
		cl.fail(proto.CodeRateLimited, proto.TypePing, nil)
	}
	a.do(proto.TypeHangup, nil, nil)
	b.expect(proto.TypeCallEnded, nil)
	c.do(proto.TypeCancel, proto.InviteRef{InviteID: rep.InviteID}, nil)
	d.expect(proto.TypeInviteCancelled, nil)
	f.do(proto.TypeReject, proto.RejectRequest{InviteID: inv.InviteID}, nil)
	e.expect(proto.TypeCallEnded, nil)
	g.do(proto.TypeLogout, nil, nil)
	if code := g.closeCode(); code != 1000 {
		t.Fatalf("logout close code %d", code)
	}

	// Past its own bucket too, a stream of hangups is answered (4090: nobody
	// is in a call) at the bucket's pace: bounded, but never dropped.
	clk := clockOf(t, s)
	const n = endRateBurst + 5
	start := clk.Now()
	for i := 1; i <= n; i++ {
		a.sendRaw(proto.TypeHangup, uint64(1000+i), nil)
	}
	for i := 1; i <= n; i++ {
		_, perr := a.answerAdvancing(clk, uint64(1000+i))
		if perr == nil || perr.Code != proto.CodeWrongState {
			t.Fatalf("hangup %d: answer %v, want 4090", i, perr)
		}
	}
	// The first endRateBurst come at once, the other 5 at endRatePerSec.
	if el, least := clk.Now().Sub(start), 5*time.Second/endRatePerSec*3/4; el < least {
		t.Fatalf("%d hangups answered in %v: not throttled (want ≥ %v)", n, el, least)
	}
}

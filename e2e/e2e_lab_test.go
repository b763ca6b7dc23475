package e2e_test

import (
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
)

// Two clients behind two symmetric-style NATs (MASQUERADE --random-fully)
// with no relay configured: signaling through the NATs works (both log in,
// the call rings and is accepted), media cannot, and both sides are told
// with ERROR 60101 and CALL_END media_failed within about 15 s of the
// accept, instead of a call that looks connected and carries nothing.
func TestLabNATsWithoutRelayMediaFails(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	s := startServerIn(t, l.Server, labServerIP+":0")
	alice := mediaClientIn(t, l.Client[0], s, "alice", "--audio-in", "tone:440", "--video-in", "none")
	bob := mediaClientIn(t, l.Client[1], s, "bob", "--audio-in", "tone:880", "--video-in", "none")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	accepted := time.Now()
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "ERROR", 25*time.Second, is(map[string]any{"code": callcore.CodeMediaFailed}))
		c.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "media_failed"}))
	}
	d := time.Since(accepted)
	t.Logf("media failure reported on both sides %v after the accept", d.Round(time.Millisecond))
	if d > 20*time.Second {
		t.Errorf("media failure reported %v after the accept, want about 15 s", d)
	}
	for _, c := range []*client{alice, bob} {
		c.ExpectNone(t, "USER_ENTER", 0, nil)
	}
}

// A lab's namespaces are gone once its test ends, also when the test stops
// half-way (SkipNow leaves through runtime.Goexit, as Fatal does).
func TestLabRemovedWhenTestStops(t *testing.T) {
	t.Parallel()
	var prefix string
	t.Run("stops", func(t *testing.T) {
		l := newLab(t)
		prefix = l.prefix
		l.BlockUDP(1) // the option works (its rule goes with the namespace)
		if got := labNamespaces(t, prefix); len(got) != 5 {
			t.Fatalf("namespaces %v, want 5", got)
		}
		t.SkipNow()
	})
	if prefix == "" {
		t.Skip("no lab was made (see the subtest's skip)")
	}
	if left := labNamespaces(t, prefix); len(left) > 0 {
		t.Errorf("namespaces left after the test: %v", left)
	}
}

// The same two NATed clients with `serve --turn` on the public host: the
// server hands each its TURN credentials at login, the call connects
// through the relay, each hears the other's tone and sees video at 8 fps
// or more, and STATS says the path is relayed.
func TestLabNATsWithTURNCallConnects(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	s := startServerIn(t, l.Server, labServerIP+":0", "--turn", labServerIP+":3478", "--turn-ports", "41000-41999")
	alice := mediaClientIn(t, l.Client[0], s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClientIn(t, l.Client[1], s, "bob", "--audio-in", "tone:880", "--video-in", "pattern")

	alice.Send(t, "call bob video 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	accepted := time.Now()
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "USER_ENTER", mediaWait, nil)
	t.Logf("media through the relay %v after the accept", time.Since(accepted).Round(time.Millisecond))
	relayed := func(ev event) bool {
		p := sub(ev, "path")
		return p["local"] == "relay" || p["remote"] == "relay"
	}
	atLeast8fps := func(from string) func(event) bool {
		return func(ev event) bool {
			v := sub(ev, "video")
			return str(ev, "userID") == from && int(fnum(v, "width")) == 320 && int(fnum(v, "height")) == 240 && fnum(v, "fps") >= 8
		}
	}
	for _, side := range []struct {
		c    *client
		from string
		hz   float64
	}{{bob, "alice", 440}, {alice, "bob", 880}} {
		side.c.Expect(t, "STATS", mediaWait, hears(side.from, side.hz))
		side.c.Expect(t, "STATS", mediaWait, atLeast8fps(side.from))
		st := side.c.Expect(t, "STATS", mediaWait, func(ev event) bool { return str(ev, "userID") == side.from && sub(ev, "path") != nil })
		if !relayed(st) {
			t.Errorf("%s's path to %s is %v, want a relay (two symmetric NATs)", side.c.user, side.from, st["path"])
		}
	}
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

// With UDP blocked on alice's home network, the call still connects: her
// client reaches the TURN server over TCP (the turn:?transport=tcp URL the
// server hands out) and her side of the path is the relay.
func TestLabUDPBlockedCallUsesTURNOverTCP(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	l.BlockUDP(0)
	s := startServerIn(t, l.Server, labServerIP+":0", "--turn", labServerIP+":3478", "--turn-ports", "41000-41999")
	alice := mediaClientIn(t, l.Client[0], s, "alice", "--audio-in", "tone:440", "--video-in", "none")
	bob := mediaClientIn(t, l.Client[1], s, "bob", "--audio-in", "tone:880", "--video-in", "none")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	st := alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	if p := sub(st, "path"); p["local"] != "relay" {
		t.Errorf("alice's path %v, want her local side relayed (her UDP is blocked)", st["path"])
	}
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

// Mid-call, alice's host drops off its home network and comes back with
// another address (her sockets, the websocket included, go dead without
// an error; the NAT maps her afresh). Media stops, the mesh restarts ICE
// over the signaling relay (her client redials the server first, the
// relay needs it), and the call goes on through the TURN server within
// 5 s: audio packets arriving again both ways, both tones heard, video
// flowing, and no USER_LEAVE or CALL_END on either side. Not parallel: it
// judges time.
func TestLabAddressChangeRestartsICE(t *testing.T) {
	l := newLab(t)
	s := startServerIn(t, l.Server, labServerIP+":0", "--turn", labServerIP+":3478", "--turn-ports", "41000-41999")
	alice := mediaClientIn(t, l.Client[0], s, "alice", "--audio-in", "tone:440", "--video-in", "pattern", "--stats", "250ms")
	bob := mediaClientIn(t, l.Client[1], s, "bob", "--audio-in", "tone:880", "--video-in", "pattern", "--stats", "250ms")

	alice.Send(t, "call bob video 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))

	received := func(ev event) float64 { return fnum(sub(ev, "audio"), "packetsReceived") }
	// stalled matches a STATS line of from whose audio packet count has
	// not moved since its last one: the outage seen.
	stalled := func(from string) func(event) bool {
		last := -1.0
		return func(ev event) bool {
			if str(ev, "userID") != from {
				return false
			}
			n := received(ev)
			same := n == last
			last = n
			return same
		}
	}
	moved := time.Now()
	l.MoveClient(0, "10.201.1.3")
	back := map[string]time.Duration{}
	for _, side := range []struct {
		c    *client
		from string
	}{{bob, "alice"}, {alice, "bob"}} {
		side.c.Forget("STATS")
		st := side.c.Expect(t, "STATS", 10*time.Second, stalled(side.from))
		stuck := received(st)
		ev := side.c.Expect(t, "STATS", 20*time.Second, func(ev event) bool { return str(ev, "userID") == side.from && received(ev) > stuck })
		back[side.c.user] = time.UnixMilli(int64(fnum(ev, "ts"))).Sub(moved)
	}
	t.Logf("audio arriving again %v (bob) and %v (alice) after alice's address changed",
		back["bob"].Round(time.Millisecond), back["alice"].Round(time.Millisecond))
	for who, d := range back {
		// STATS come every 250 ms.
		if d > 5*time.Second+250*time.Millisecond {
			t.Errorf("%s's audio came back %v after the address change, want within 5 s", who, d.Round(time.Millisecond))
		}
	}
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	bob.Expect(t, "STATS", mediaWait, func(ev event) bool {
		return str(ev, "userID") == "alice" && fnum(sub(ev, "video"), "fps") >= 8
	})
	st := alice.Expect(t, "STATS", mediaWait, func(ev event) bool { return str(ev, "userID") == "bob" && sub(ev, "path") != nil })
	if p := sub(st, "path"); p["local"] != "relay" && p["remote"] != "relay" {
		t.Errorf("alice's path after the move %v, want a relay (two symmetric NATs)", st["path"])
	}
	for _, c := range []*client{alice, bob} {
		c.ExpectNone(t, "USER_LEAVE", 0, nil)
		c.ExpectNone(t, "CALL_END", 0, nil)
	}
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
}

// Two hosts on the public segment that share IPv6 (fd01::/64) but whose
// IPv4 UDP is dropped on one of them: the call connects host to host all
// the same, which only IPv6 candidates can do.
func TestLabIPv6CandidatesCarryTheCall(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for i, ip := range []string{"fd01::11/64", "fd01::12/64"} {
		// nodad: usable at once, not after duplicate address detection.
		l.must("ip", "-n", l.NAT[i], "addr", "add", ip, "dev", "wan", "nodad")
	}
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		l.must("ip", "netns", "exec", l.NAT[0], "iptables", "-A", chain, "-p", "udp", "-j", "DROP")
	}
	s := startServerIn(t, l.Server, labServerIP+":0")
	alice := mediaClientIn(t, l.NAT[0], s, "alice", "--audio-in", "tone:440", "--video-in", "none")
	bob := mediaClientIn(t, l.NAT[1], s, "bob", "--audio-in", "tone:880", "--video-in", "none")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	alice.Expect(t, "STATS", mediaWait, directPath("bob"))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

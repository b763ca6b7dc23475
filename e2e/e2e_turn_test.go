package e2e_test

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// relayPath matches a STATS line of from whose local candidate is a relay.
func relayPath(from string) func(event) bool {
	return func(ev event) bool {
		return str(ev, "userID") == from && str(sub(ev, "path"), "local") == "relay"
	}
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// connectTones calls from a to b and waits until each hears the other's
// tone; it returns the time from accept to both hearing.
func connectTones(t *testing.T, a, b *client, match func(string) func(event) bool) time.Duration {
	t.Helper()
	a.Send(t, "call "+b.user+" audio 30")
	b.Expect(t, "INVITED", waitLong, nil)
	start := time.Now()
	b.Send(t, "accept")
	b.Expect(t, "STATS", mediaWait, hears(a.user, 440))
	a.Expect(t, "STATS", mediaWait, hears(b.user, 880))
	took := time.Since(start)
	b.Expect(t, "STATS", mediaWait, match(a.user))
	a.Expect(t, "STATS", mediaWait, match(b.user))
	return took
}

// TestTURNEmbeddedRelayCall: `serve --turn` hands each client a TURN
// credential at login, and two clients that may use only relay candidates
// talk through the embedded server. STATS every 250 ms time the setup.
// talk through the embedded server. A direct pair on the same server still
// goes host to host.
func TestTURNEmbeddedRelayCall(t *testing.T) {
	t.Parallel()
	port := freeUDPPort(t)
	s := startServerArgs(t, nil, "--turn", "127.0.0.1:"+strconv.Itoa(port), "--turn-ports", "40000-40999")

	alice := mediaClient(t, s, "alice", "--ice-policy", "relay", "--audio-in", "tone:440", "--stats", "250ms")
	bob := mediaClient(t, s, "bob", "--ice-policy", "relay", "--audio-in", "tone:880", "--stats", "250ms")
	relayed := connectTones(t, alice, bob, relayPath)
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)

	carol := mediaClient(t, s, "carol", "--audio-in", "tone:440", "--stats", "250ms")
	dave := mediaClient(t, s, "dave", "--audio-in", "tone:880", "--stats", "250ms")
	direct := connectTones(t, carol, dave, directPath)
	carol.Send(t, "hangup")
	dave.Expect(t, "CALL_END", waitLong, nil)

	t.Logf("accept to both hearing: relayed %v, direct %v", relayed, direct)
}

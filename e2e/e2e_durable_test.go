package e2e_test

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a 127.0.0.1 address no one listens on: a restarted
// server must come back where its clients redial.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// durableServe runs `termcall serve` with its state in dir on addr.
func durableServe(t *testing.T, addr, dir string) *server {
	t.Helper()
	return runServe(t, "", "--addr", addr, "--data", dir, "--node-name", "e2e-node")
}

func kill9(t *testing.T, s *server) {
	t.Helper()
	s.p.stop(t, syscall.SIGKILL, exitWait)
}

// TestRestartWithDataKeepsTheCall kills the server with -9 mid-call and
// starts it again on the same --data: the clients resume, nobody sees the
// call end, the tones go on both ways, and a hangup afterwards reaches the
// other side.
func TestRestartWithDataKeepsTheCall(t *testing.T) {
	t.Parallel()
	addr, dir := freeAddr(t), t.TempDir()
	s := durableServe(t, addr, dir)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "none")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "none", "--auto-accept")
	alice.Send(t, "call bob audio 30")
	alice.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == "bob" })
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))

	kill9(t, s)
	down := time.Now()
	s2 := durableServe(t, addr, dir)
	t.Logf("server back %v after the kill", time.Since(down).Round(time.Millisecond))
	for _, c := range []*client{alice, bob} {
		c.Forget("STATS")
	}
	// Both come back on their own; media never stopped (peer to peer).
	alice.ExpectNone(t, "CALL_END", 10*time.Second, nil)
	for _, c := range []*client{alice, bob} {
		c.ExpectNone(t, "CALL_END", 0, nil)
		c.ExpectNone(t, "USER_LEAVE", 0, nil)
		c.ExpectNone(t, "KICKED_OUT", 0, nil)
	}
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, func(ev event) bool { return str(ev, "reason") == "hangup" })
	_ = s2
}

// TestRestartFiresTimeoutThatFellDue: an invitation with a 3 s timeout
// whose deadline passes while the server is down times out once the server
// is back, once.
func TestRestartFiresTimeoutThatFellDue(t *testing.T) {
	t.Parallel()
	addr, dir := freeAddr(t), t.TempDir()
	s := durableServe(t, addr, dir)
	alice := s.startClient(t, "alice")
	bob := s.startClient(t, "bob")
	alice.Send(t, "call bob audio 3")
	inv := bob.Expect(t, "INVITED", waitLong, nil)
	inviteID := str(inv, "inviteID")
	kill9(t, s)
	time.Sleep(4 * time.Second) // past the deadline while nobody serves it
	durableServe(t, addr, dir)
	alice.Expect(t, "NO_RESP", waitLong, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"bob"}}))
	bob.Expect(t, "CALLING_TIMEOUT", waitLong, is(map[string]any{"inviteID": inviteID}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "no_answer"}))
	alice.ExpectNone(t, "NO_RESP", 3*time.Second, nil)
	if n := len(alice.eventsNamed("NO_RESP")); n != 1 {
		t.Errorf("alice got NO_RESP %d times, want once", n)
	}
	if n := len(bob.eventsNamed("CALLING_TIMEOUT")); n != 1 {
		t.Errorf("bob got CALLING_TIMEOUT %d times, want once", n)
	}
}

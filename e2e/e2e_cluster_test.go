package e2e_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// natsServer runs a real nats-server with JetStream (`make deps` installs
// it with go install) on a free port and returns its URL.
func natsServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		gopath, gerr := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "nats-server")
		if _, serr := os.Stat(bin); gerr != nil || serr != nil {
			t.Fatalf("no nats-server on PATH or in GOPATH/bin (make deps installs it): %v", err)
		}
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startProc(t, "nats-server", bin, nil, false, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", port, "-n", "e2e-nats")
	t.Cleanup(func() { p.stop(t, syscall.SIGTERM, exitWait) })
	deadline := time.Now().Add(waitLong)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "nats://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %s: %v\n%s", addr, err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterServe runs a `termcall serve` node on the NATS at url.
func clusterServe(t *testing.T, url, name string, groups string) *server {
	t.Helper()
	args := []string{"--addr", "127.0.0.1:0", "--nats", url, "--node-name", name}
	if groups != "" {
		args = append(args, "--groups", groups)
	}
	return runServe(t, "", args...)
}

// onNodes starts user's client with the server list urls (first: its node).
func onNodes(t *testing.T, s *server, user string, media bool, urls []string, args ...string) *client {
	t.Helper()
	return s.startClient(t, user, clientOpts{noServer: true, media: media,
		args: append([]string{"--server", strings.Join(urls, ",")}, args...)})
}

// TestClusterTwoNodes: users on two `serve` nodes on one nats-server call,
// reject, get line busy, are kicked by a second login on the other node,
// and meet in a group call spanning both.
func TestClusterTwoNodes(t *testing.T) {
	t.Parallel()
	url := natsServer(t)
	groups := filepath.Join(t.TempDir(), "groups.toml")
	if err := os.WriteFile(groups, []byte("[groups]\nteam = [\"alice\", \"bob\", \"carol\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := clusterServe(t, url, "node-a", groups)
	b := clusterServe(t, url, "node-b", groups)
	time.Sleep(time.Second) // node-b hears node-a's first beats

	alice := onNodes(t, a, "alice", true, []string{a.URL}, "--audio-in", "tone:440", "--video-in", "none")
	bob := onNodes(t, b, "bob", true, []string{b.URL}, "--audio-in", "tone:880", "--video-in", "none")
	carol := onNodes(t, b, "carol", false, []string{b.URL})

	// Reject across nodes.
	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "alice"}))
	bob.Send(t, "reject")
	alice.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "CALL_END", waitLong, nil)

	// Accept across nodes, with media both ways.
	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))

	// Line busy: carol (node-b) calls alice (node-a), who is in the call.
	carol.Send(t, "call alice audio 30")
	carol.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"userID": "alice"}))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)

	// A group call spanning the nodes.
	carol.Send(t, "groupCall audio team")
	for _, c := range []*client{alice, bob} {
		c.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "carol"}))
		c.Send(t, "accept")
	}
	// carol (signaling only) hears both accept; alice and bob, on different
	// nodes, connect media to each other through the group call.
	for _, other := range []string{"alice", "bob"} {
		carol.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": other}))
	}
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "alice"}))
	carol.Send(t, "hangup")
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)

	// A second login of bob, on node-a, kicks the one on node-b.
	onNodes(t, a, "bob", false, []string{a.URL})
	bob.Expect(t, "KICKED_OUT", waitLong, nil)
}

// TestClusterNodeKilledMidCall kills a node with -9 mid-call, the serving
// one (the other node takes the state over) or the following one (its
// tunnel goes): the killed node's user fails over to the other node, the
// call goes on (no USER_LEAVE, no CALL_END, tones both ways), and a hangup
// afterwards reaches the other side.
func TestClusterNodeKilledMidCall(t *testing.T) {
	t.Parallel()
	for _, killServing := range []bool{true, false} {
		name := map[bool]string{true: "serving", false: "following"}[killServing]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clusterKillMidCall(t, killServing)
		})
	}
}

func clusterKillMidCall(t *testing.T, killServing bool) {
	url := natsServer(t)
	a := clusterServe(t, url, "node-a", "") // serves: it starts first
	b := clusterServe(t, url, "node-b", "")
	time.Sleep(time.Second)
	alice := onNodes(t, a, "alice", true, []string{a.URL, b.URL}, "--audio-in", "tone:440", "--video-in", "none")
	bob := onNodes(t, b, "bob", true, []string{b.URL, a.URL}, "--audio-in", "tone:880", "--video-in", "none", "--auto-accept")
	alice.Send(t, "call bob audio 30")
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))

	victim := a
	if !killServing {
		victim = b
	}
	kill9(t, victim)
	killed := time.Now()
	for _, c := range []*client{alice, bob} {
		c.Forget("STATS")
	}
	alice.ExpectNone(t, "CALL_END", 15*time.Second, nil)
	for _, c := range []*client{alice, bob} {
		c.ExpectNone(t, "CALL_END", 0, nil)
		c.ExpectNone(t, "USER_LEAVE", 0, nil)
	}
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.Expect(t, "STATS", mediaWait, hears("bob", 880))
	t.Logf("call kept %v after a node was killed", time.Since(killed).Round(time.Second))
	// Signaling works again through the node left: the hangup reaches bob.
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
}

// healthz is the HTTP status of a `serve` node's /healthz.
func healthz(t *testing.T, s *server) int {
	t.Helper()
	resp, err := http.Get("http://" + strings.TrimSuffix(strings.TrimPrefix(s.URL, "ws://"), "/ws") + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterServingNodeKilledWhileRinging: kill -9 of the serving node
// while a 3 s invitation rings. The other node takes the state over, both
// clients resume there, and NO_RESP and CALLING_TIMEOUT each arrive once.
func TestClusterServingNodeKilledWhileRinging(t *testing.T) {
	t.Parallel()
	url := natsServer(t)
	a := clusterServe(t, url, "node-a", "") // serves: it starts first
	b := clusterServe(t, url, "node-b", "")
	time.Sleep(time.Second) // node-b hears node-a's first beats
	for _, n := range []*server{a, b} {
		if code := healthz(t, n); code != http.StatusOK {
			t.Errorf("/healthz of %s: %d, want 200", n.URL, code)
		}
	}
	alice := onNodes(t, a, "alice", false, []string{a.URL, b.URL})
	bob := onNodes(t, b, "bob", false, []string{b.URL, a.URL})
	alice.Send(t, "call bob audio 3")
	inv := bob.Expect(t, "INVITED", waitLong, nil)
	inviteID := str(inv, "inviteID")
	kill9(t, a)
	killed := time.Now()
	alice.Expect(t, "NO_RESP", 20*time.Second, is(map[string]any{"inviteID": inviteID, "userIDList": []string{"bob"}}))
	bob.Expect(t, "CALLING_TIMEOUT", waitLong, is(map[string]any{"inviteID": inviteID}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "no_answer"}))
	t.Logf("timeouts %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	if code := healthz(t, b); code != http.StatusOK {
		t.Errorf("/healthz of node-b serving: %d, want 200", code)
	}
	alice.ExpectNone(t, "NO_RESP", 3*time.Second, nil)
	if n := len(alice.eventsNamed("NO_RESP")); n != 1 {
		t.Errorf("alice got NO_RESP %d times, want once", n)
	}
	if n := len(bob.eventsNamed("CALLING_TIMEOUT")); n != 1 {
		t.Errorf("bob got CALLING_TIMEOUT %d times, want once", n)
	}
}

package e2e_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/termcall/termcall/config"
)

// TestE2EInitThenServe is what a new user does: `termcall init`, then
// `termcall serve` with its defaults, then a client with the written
// config. The config's server must be where serve listens.
func TestE2EInitThenServe(t *testing.T) {
	t.Parallel()
	bin := needBinary(t)
	xdg := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + xdg}
	initCmd := exec.Command(bin, "init")
	initCmd.Env = append(os.Environ(), env...)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("termcall init: %v\n%s", err, out)
	}
	cfg, err := config.Load(filepath.Join(xdg, "termcall", "config.toml"))
	if err != nil {
		t.Fatalf("the file termcall init wrote: %v", err)
	}

	// What serve listens on by default, as its help tells the user: this
	// holds even when the port is taken on this machine.
	help, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("termcall serve --help: %v\n%s", err, help)
	}
	m := regexp.MustCompile(`--addr string[^\n]*\(default "([^"]+)"\)`).FindSubmatch(help)
	if m == nil {
		t.Fatalf("termcall serve --help shows no default --addr:\n%s", help)
	}
	if want := "ws://" + string(m[1]) + "/ws"; cfg.Server.String() != want {
		t.Fatalf("termcall init wrote server = %q, but termcall serve listens on %s by default (%s)", cfg.Server, m[1], want)
	}

	// Now for real, on the default address (no --addr).
	listening := make(chan string, 1)
	var stdout syncBuffer
	srv := startProcEnv(t, env, "server", bin, &lineWriter{fn: func(line string) {
		_, _ = stdout.Write([]byte(line + "\n"))
		if u, ok := strings.CutPrefix(line, "listening "); ok {
			select {
			case listening <- strings.TrimSpace(u):
			default:
			}
		}
	}}, false, "serve", "--sdkappid", fmt.Sprint(cfg.SDKAppID), "--secret", cfg.Secret, "--grace", "500ms")
	t.Cleanup(func() { srv.stop(t, syscall.SIGTERM, exitWait) })
	var url string
	select {
	case url = <-listening:
	case <-srv.exited:
		if strings.Contains(srv.stderr.String(), "address already in use") {
			t.Skipf("the default address %s is taken on this machine; the config and serve's default agree (checked above)", m[1])
		}
		t.Fatalf("termcall serve exited (%v) before listening; stdout:\n%s\nstderr:\n%s", srv.err, stdout.String(), srv.stderr.String())
	case <-time.After(waitLong):
		t.Fatalf("termcall serve printed no listening line within %v; stderr:\n%s", waitLong, srv.stderr.String())
	}
	if url != cfg.Server.String() {
		t.Fatalf("termcall serve listens on %s, the config written by termcall init says %s", url, cfg.Server)
	}

	// The config's user logs in with the config's server, app and secret...
	s := &server{URL: cfg.Server.String()}
	creds := []string{"--sdkappid", fmt.Sprint(cfg.SDKAppID), "--secret", cfg.Secret}
	s.startClient(t, cfg.User, clientOpts{noUserSig: true, args: creds})
	// ... and so does a headless client given no --server at all.
	s.startClient(t, "bob", clientOpts{noUserSig: true, noServer: true, args: creds})
}

// TestE2ESelfInfo: --nickname/--avatar are set at login and setSelfInfo
// changes them; the people called see them in INVITED.
func TestE2ESelfInfo(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice", clientOpts{args: []string{"--nickname", "Alice_A", "--avatar", "https://avatars.example/alice.png"}})
	bob := s.startClient(t, "bob")

	alice.Send(t, "call bob audio 10")
	inviteID, _ := callStarted(t, alice, "bob")
	inv := expectInvited(t, bob, inviteID, "alice", audio)
	if str(inv, "sponsorNickName") != "Alice_A" || str(inv, "sponsorAvatar") != "https://avatars.example/alice.png" {
		t.Errorf("bob: INVITED from alice with --nickname: %v", inv)
	}
	alice.Send(t, "hangup")
	bob.Expect(t, "CALLING_CANCEL", waitLong, nil)

	// The nickname is one token; an avatar is optional and cleared without one.
	alice.Send(t, "setSelfInfo 王小明")
	alice.Send(t, "call bob video 10")
	inviteID, _ = callStarted(t, alice, "bob")
	inv = expectInvited(t, bob, inviteID, "alice", video)
	if str(inv, "sponsorNickName") != "王小明" || inv["sponsorAvatar"] != nil {
		t.Errorf("bob: INVITED after setSelfInfo 王小明: %v", inv)
	}
	alice.Send(t, "hangup")

	// A logout and login keep the last setSelfInfo.
	alice.Send(t, "logout")
	alice.Send(t, "login")
	alice.Expect(t, "SDK_READY", waitLong, nil)
	alice.Send(t, "call bob audio 10")
	inviteID, _ = callStarted(t, alice, "bob")
	if inv = expectInvited(t, bob, inviteID, "alice", audio); str(inv, "sponsorNickName") != "王小明" {
		t.Errorf("bob: INVITED after alice logged in again: %v", inv)
	}

	// Too long: refused before it reaches the server, and the runner goes on.
	long := "setSelfInfo " + strings.Repeat("x", 65)
	alice.Send(t, long)
	alice.ExpectError(t, long, 4000)
	alice.ExpectNone(t, "ERROR", 0, func(ev event) bool { return ev["cmd"] != long })
}

// TestE2ESetLogLevel: setLogLevel filters the log file from the next
// command on; TIM's numbers work too.
func TestE2ESetLogLevel(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice := s.startClient(t, "alice")
	logged := func(cmd string) bool {
		b, err := os.ReadFile(alice.logFile)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), "line="+cmd)
	}

	// Each switch fails at once (no call): its ERROR line says the command
	// ran, after its debug line would have been logged.
	alice.Send(t, "setLogLevel error")
	alice.Send(t, "switchToAudio")
	alice.ExpectError(t, "switchToAudio", 60001)
	if logged("switchToAudio") {
		t.Error("a debug record was logged after setLogLevel error")
	}
	alice.Send(t, "setLogLevel 0") // TIM's 0: debug
	alice.Send(t, "switchToVideo")
	alice.ExpectError(t, "switchToVideo", 60002)
	if !logged("switchToVideo") {
		t.Error("no debug record after setLogLevel 0")
	}
	alice.Send(t, "setLogLevel 4") // off
	alice.Send(t, "setMicMute maybe")
	alice.ExpectError(t, "setMicMute maybe", 4000)
	alice.Send(t, "hangup")
	alice.ExpectError(t, "hangup", 4090)
	if logged("hangup") {
		t.Error("a record was logged after setLogLevel 4 (off)")
	}
	alice.Send(t, "setLogLevel loud")
	alice.ExpectError(t, "setLogLevel loud", 4000)
}

// TestE2EWaitCallingEnd: TRTCCalling's CALLING_END name waits for CALL_END
// lines, and uses them up as a wait CALL_END would.
func TestE2EWaitCallingEnd(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, bob := s.startClient(t, "alice"), s.startClient(t, "bob")
	connect(t, alice, bob, "audio")

	bob.Send(t, "wait CALLING_END 10s")
	bob.Send(t, "wait CALL_END 200ms") // the one CALL_END is used up
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
	bob.ExpectError(t, "wait CALL_END 200ms", 4080)
	bob.ExpectNone(t, "ERROR", 0, is(map[string]any{"cmd": "wait CALLING_END 10s"}))
	// The line printed is CALL_END; CALLING_END is only a name to wait for.
	bob.ExpectNone(t, "CALLING_END", 0, nil)
}

// TestE2EMissingDeviceCodes: a mic or camera spec that finds no device is
// ERROR 60003 / 60004 with the flag to use instead, and exit status 1.
func TestE2EMissingDeviceCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for _, tc := range []struct {
		name string
		args []string
		code int
		hint string
	}{
		{"microphone", []string{"--audio-in", "mic:no-such-microphone-termcall-test"}, 60003, "--audio-in tone:440"},
		{"camera", []string{"--video-in", "camera:/dev/no-such-camera-termcall-test"}, 60004, "--video-in pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.startClient(t, "alice", clientOpts{media: true, noReady: true, expectExit: 1, args: tc.args})
			ev := c.ExpectError(t, "media", tc.code)
			if !strings.Contains(str(ev, "msg"), tc.hint) {
				t.Errorf("ERROR %d msg %q does not name %s", tc.code, str(ev, "msg"), tc.hint)
			}
			if code := c.ExitCode(t, exitWait); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			c.ExpectNone(t, "SDK_READY", 0, nil)
		})
	}
}

// turnServer is a TURN server in the test process that records who
// authenticated and who got a relay allocation.
type turnServer struct {
	url string // turn:127.0.0.1:PORT?transport=udp

	mu       sync.Mutex
	refused  []string // usernames whose request failed authentication
	relayed  []string // usernames that got an allocation
	changed  chan struct{}
	username string
}

func startTURN(t *testing.T, username, password string) *turnServer {
	t.Helper()
	const realm = "termcall.test"
	ts := &turnServer{changed: make(chan struct{}), username: username}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key := turn.GenerateAuthKey(username, realm, password)
	note := func(list *[]string, user string) {
		ts.mu.Lock()
		*list = append(*list, user)
		close(ts.changed)
		ts.changed = make(chan struct{})
		ts.mu.Unlock()
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != username {
				note(&ts.refused, ra.Username)
				return "", nil, false
			}
			return ra.Username, key, true
		},
		EventHandler: turn.EventHandler{
			OnAuth: func(_, _ net.Addr, _, user, _, _ string, ok bool) {
				if !ok {
					note(&ts.refused, user)
				}
			},
			OnAllocationCreated: func(_, _ net.Addr, _, user, _ string, _ net.Addr, _ int) {
				note(&ts.relayed, user)
			},
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("close TURN server: %v", err)
		}
	})
	ts.url = "turn:" + conn.LocalAddr().String() + "?transport=udp"
	return ts
}

// waitFor waits until cond holds on the recorded usernames.
func (ts *turnServer) waitFor(t *testing.T, what string, cond func(refused, relayed []string) bool) {
	t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		ts.mu.Lock()
		ok, changed := cond(ts.refused, ts.relayed), ts.changed
		refused, relayed := fmt.Sprint(ts.refused), fmt.Sprint(ts.relayed)
		ts.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("TURN server: no %s within %v (refused %s, relayed %s)", what, waitLong, refused, relayed)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestE2ETURNWithCredentials: the TURN username and credential of the
// flags reach the TURN server, which allocates a relay; a server that
// cannot be used is an ERROR (60102) naming it and why, and the others
// are still used.
func TestE2ETURNWithCredentials(t *testing.T) {
	t.Parallel()
	ts := startTURN(t, "alice-turn", "s3cret")
	s := startServer(t, nil)
	alice := s.startClient(t, "alice", clientOpts{media: true, args: []string{
		"--ice-server", "stun:", // no host: pion refuses it
		"--ice-server", ts.url, "--ice-username", "alice-turn", "--ice-credential", "s3cret",
	}})
	// A wrong credential passes the check (only the TURN server can tell)...
	bob := s.startClient(t, "bob", clientOpts{media: true, args: []string{
		"--ice-server", ts.url, "--ice-username", "bob-turn", "--ice-credential", "wrong",
	}})
	// ... and a TURN URL without credentials is refused at login.
	carol := s.startClient(t, "carol", clientOpts{media: true, args: []string{"--ice-server", "turn:127.0.0.1:3478"}})

	ev := alice.Expect(t, "ERROR", waitLong, is(map[string]any{"code": 60102}))
	if msg := str(ev, "msg"); !strings.Contains(msg, `stun:`) || strings.Contains(msg, "s3cret") {
		t.Errorf("alice: ERROR 60102 msg %q: want the refused server named, never a credential", msg)
	}
	alice.ExpectNone(t, "ERROR", 0, func(ev event) bool { return strings.Contains(str(ev, "msg"), ts.url) })
	ev = carol.Expect(t, "ERROR", waitLong, is(map[string]any{"code": 60102}))
	if msg := str(ev, "msg"); !strings.Contains(msg, "turn:127.0.0.1:3478") || !strings.Contains(msg, "username") {
		t.Errorf("carol: ERROR 60102 msg %q: want the server and the missing username", msg)
	}
	bob.ExpectNone(t, "ERROR", 0, nil)

	// Gathering for a call allocates relays with the flags' credentials.
	connect(t, alice, bob, "audio")
	ts.waitFor(t, "allocation for alice-turn", func(_, relayed []string) bool { return contains(relayed, "alice-turn") })
	ts.waitFor(t, "refused bob-turn", func(refused, _ []string) bool { return contains(refused, "bob-turn") })
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if contains(ts.relayed, "bob-turn") {
		t.Errorf("TURN server allocated for bob-turn with a wrong credential")
	}
}

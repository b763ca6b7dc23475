package e2e_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/termcall/termcall/internal/testcert"
)

// `serve --tls-cert/--tls-key` serves wss://; clients given the CA with
// --ca log in and call each other, and one without it is refused at login
// with an error that says why, instead of falling back to ws://.
func TestTLSServeLoginAndCall(t *testing.T) {
	t.Parallel()
	files := testcert.Write(t)
	s := startServerArgs(t, nil, "--tls-cert", files.Cert, "--tls-key", files.Key)
	if !strings.HasPrefix(s.URL, "wss://127.0.0.1:") {
		t.Fatalf("server URL %s, want wss://", s.URL)
	}
	ca := clientOpts{args: []string{"--ca", files.CA}}
	alice := s.startClient(t, "alice", ca)
	bob := s.startClient(t, "bob", ca)
	connect(t, alice, bob, "audio")
	bob.Expect(t, "USER_ENTER", waitLong, is(map[string]any{"userID": "alice"}))

	eve := s.startClient(t, "eve", clientOpts{noReady: true, expectExit: 1})
	ev := eve.Expect(t, "ERROR", waitLong, is(map[string]any{"cmd": "login"}))
	if msg := str(ev, "msg"); !strings.Contains(msg, "not trusted") || !strings.Contains(msg, "--ca") {
		t.Errorf("login error %q: want it to say the certificate is not trusted and mention --ca", msg)
	}
	if code := eve.ExitCode(t, exitWait); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	eve.ExpectNone(t, "SDK_READY", 0, nil)
}

// The certificate and key come together, and a bad pair stops serve at start.
func TestTLSServeFlagErrors(t *testing.T) {
	t.Parallel()
	files := testcert.Write(t)
	other := testcert.Write(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"cert only":  {[]string{"--tls-cert", files.Cert}, "tls-key"},
		"key only":   {[]string{"--tls-key", files.Key}, "tls-cert"},
		"missing":    {[]string{"--tls-cert", files.Cert + ".none", "--tls-key", files.Key}, "no such file"},
		"mismatched": {[]string{"--tls-cert", files.Cert, "--tls-key", other.Key}, "does not match"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--sdkappid", testSDKAppID, "--secret", testSecret}, tc.args...)
		out, err := exec.Command(needBinary(t), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: err %v, output %q, want a failure mentioning %q", name, err, out, tc.want)
		}
	}
}

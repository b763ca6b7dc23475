package server

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/termcall/termcall/server/proto"
)

func TestCommandServe(t *testing.T) {
	dir := t.TempDir()
	groups := filepath.Join(dir, "groups.toml")
	if err := os.WriteFile(groups, []byte("[groups]\nteam = [\"alice\", \"bob\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERMCALL_SECRET", testSecret)
	cmd := Command()
	pr, pw := io.Pipe()
	cmd.SetOut(pw)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--sdkappid", "1400000001", "--groups", groups,
		"--grace", "1s", "--ice-server", "stun:stun.example.org:3478", "--log-level", "debug",
		"--login-timeout", "5s", "--max-pending", "100", "--max-pending-per-ip", "10", "--reserve-conns", "8"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cmd.ExecuteContext(ctx)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("read stdout: %v (%v)", err, <-done)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(url, "ws://127.0.0.1:") || !strings.HasSuffix(url, "/ws") || strings.HasSuffix(url, ":0/ws") {
		t.Fatalf("stdout line %q", line)
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // nothing more is expected

	c := dialURL(t, url)
	var rep proto.LoginReply
	c.do(proto.TypeLogin, proto.LoginRequest{SDKAppID: testAppID, UserID: "alice", UserSig: sig(t, "alice")}, &rep)
	if len(rep.ICEServers) != 1 || rep.ICEServers[0].URLs[0] != "stun:stun.example.org:3478" {
		t.Fatalf("ice servers %+v", rep.ICEServers)
	}
	c.fail(proto.CodeBadRequest, proto.TypeInvite, proto.InviteRequest{GroupID: "team", Invitees: []string{"carol"}, CallType: 1})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if code := c.closeCode(); code != 1001 {
		t.Fatalf("close code %d", code)
	}
}

func TestCommandErrors(t *testing.T) {
	t.Setenv("TERMCALL_SECRET", "")
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:0", "--sdkappid", "1"},                                         // no secret
		{"--addr", "127.0.0.1:0", "--secret", "x"},                                           // no sdkappid
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--log-level", "loud"}, // bad level
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--groups", "/nonexistent.toml"},
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--max-pending", "-1"},
	} {
		cmd := Command()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(t.Context()); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestLoadGroups(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g, err := LoadGroups(write("ok.toml", "[groups]\nteam = [\"alice\", \"bob\"]\nsolo = [\"carol\"]\n"))
	if err != nil || len(g) != 2 || len(g["team"]) != 2 || g["solo"][0] != "carol" {
		t.Fatalf("groups %v, %v", g, err)
	}
	for name, text := range map[string]string{
		"syntax.toml":  "[groups\n",
		"userid.toml":  "[groups]\nteam = [\"bad user\"]\n",
		"unknown.toml": "[groupz]\nteam = [\"alice\"]\n",
	} {
		if _, err := LoadGroups(write(name, text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"no sdkappid":    func(o *Options) { o.SDKAppID = 0 },
		"no secret":      func(o *Options) { o.Secret = "" },
		"negative grace": func(o *Options) { o.Grace = -1 },
		"bad group":      func(o *Options) { o.Groups = map[string][]string{"g": {"no way"}} },
	} {
		o := testOptions()
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	o := testOptions()
	o.Grace, o.PingInterval, o.PongWait = 0, 0, 0
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.opts.Grace != DefaultGrace || s.opts.PingInterval != DefaultPingInterval || s.opts.PongWait != DefaultPongWait {
		t.Fatalf("defaults not filled: %+v", s.opts)
	}
	if s.URL() != "" {
		t.Fatal("URL before Start")
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
}

// TestDefaultAddr: serve, the server's options and the clients share one
// default address (proto.DefaultAddr).
func TestDefaultAddr(t *testing.T) {
	if got := Command().Flags().Lookup("addr").DefValue; got != proto.DefaultAddr {
		t.Errorf("serve --addr default %q, want %q", got, proto.DefaultAddr)
	}
	if got := DefaultOptions().Addr; got != proto.DefaultAddr {
		t.Errorf("DefaultOptions().Addr %q, want %q", got, proto.DefaultAddr)
	}
	if proto.DefaultServerURL != "ws://"+proto.DefaultAddr+"/ws" {
		t.Errorf("DefaultServerURL %q", proto.DefaultServerURL)
	}
}

package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/proto"
)

// serveTestSecret is any key: the test only checks that serve starts with it.
const serveTestSecret = "cmd-test-secret"

func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	groups := filepath.Join(dir, "groups.toml")
	if err := os.WriteFile(groups, []byte("[groups]\nteam = [\"alice\", \"bob\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERMCALL_SECRET", serveTestSecret)
	cmd := serveCommand()
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

	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer ws.Close()
	tok, err := usersig.GenerateNow(serveTestSecret, 1400000001, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var rep proto.LoginReply
	request(t, ws, 1, proto.TypeLogin, proto.LoginRequest{SDKAppID: 1400000001, UserID: "alice", UserSig: tok}, &rep)
	if len(rep.ICEServers) != 1 || rep.ICEServers[0].URLs[0] != "stun:stun.example.org:3478" {
		t.Fatalf("ice servers %+v", rep.ICEServers)
	}
	// The group from --groups exists: carol is not in it.
	if f := send(t, ws, 2, proto.TypeInvite, proto.InviteRequest{GroupID: "team", Invitees: []string{"carol"}, CallType: 1}); f.Type != proto.TypeError {
		t.Fatalf("invite outside the group answered %+v", f)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// Shutdown says so: going away.
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("after shutdown: %v, want close 1001", err)
			}
			return
		}
	}
}

// send writes one request frame and returns the answer with its ID,
// skipping pushes.
func send(t *testing.T, ws *websocket.Conn, id uint64, typ string, body any) proto.Frame {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteJSON(proto.Frame{Type: typ, ID: id, Body: b}); err != nil {
		t.Fatalf("write %s: %v", typ, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var f proto.Frame
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("read answer to %s: %v", typ, err)
		}
		if f.ID == id {
			return f
		}
	}
}

// request is send for a request that must succeed; its reply body goes
// into out.
func request(t *testing.T, ws *websocket.Conn, id uint64, typ string, body, out any) {
	t.Helper()
	f := send(t, ws, id, typ, body)
	if f.Type != proto.TypeReply {
		t.Fatalf("%s answered %s %s", typ, f.Type, f.Body)
	}
	if err := json.Unmarshal(f.Body, out); err != nil {
		t.Fatalf("%s reply: %v", typ, err)
	}
}

func TestServeCommandErrors(t *testing.T) {
	t.Setenv("TERMCALL_SECRET", "")
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:0", "--sdkappid", "1"},                                         // no secret
		{"--addr", "127.0.0.1:0", "--secret", "x"},                                           // no sdkappid
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--log-level", "loud"}, // bad level
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--groups", "/nonexistent.toml"},
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--max-pending", "-1"},
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--turn-secret", "k"},  // needs --turn
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--turn", "0.0.0.0:0"}, // nothing to announce
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--turn", "127.0.0.1:0", "--turn-ports", "9-1"},
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--turn", "127.0.0.1:0", "--turn-ports", "1000"},
		{"--addr", "127.0.0.1:0", "--sdkappid", "1", "--secret", "x", "--turn", "127.0.0.1:0", "--turn-external-ip", "host"},
	} {
		cmd := serveCommand()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(t.Context()); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestDefaultAddr: serve, the server's options and the clients share one
// default address (proto.DefaultAddr).
func TestDefaultAddr(t *testing.T) {
	if got := serveCommand().Flags().Lookup("addr").DefValue; got != proto.DefaultAddr {
		t.Errorf("serve --addr default %q, want %q", got, proto.DefaultAddr)
	}
	if got := server.DefaultOptions().Addr; got != proto.DefaultAddr {
		t.Errorf("DefaultOptions().Addr %q, want %q", got, proto.DefaultAddr)
	}
	if proto.DefaultServerURL != "ws://"+proto.DefaultAddr+"/ws" {
		t.Errorf("DefaultServerURL %q", proto.DefaultServerURL)
	}
}

func TestTURNConfig(t *testing.T) {
	tc, err := turnConfig("0.0.0.0:3478", "203.0.113.7", "49152-49200", "k", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Addr != "0.0.0.0:3478" || tc.ExternalIP.String() != "203.0.113.7" || tc.MinPort != 49152 || tc.MaxPort != 49200 ||
		string(tc.Key) != "k" || tc.TTL != time.Hour {
		t.Errorf("turnConfig = %+v", tc)
	}
	for _, ports := range []string{"0-10", "10-9", "1-70000", "a-b", "-", "5"} {
		if _, err := turnConfig("127.0.0.1:0", "", ports, "", 0); err == nil {
			t.Errorf("--turn-ports %q accepted", ports)
		}
	}
}

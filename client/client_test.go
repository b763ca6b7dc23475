package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/testserver"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/proto"
)

const (
	appID  = 1400000009
	secret = "client-test-secret"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs a real signaling server on a free port; tweak adjusts
// its options (nil: none).
func startServer(t *testing.T, tweak func(*server.Options)) string {
	t.Helper()
	o := server.Options{Addr: "127.0.0.1:0", SDKAppID: appID, Secret: secret}
	if tweak != nil {
		tweak(&o)
	}
	srv := testserver.Start(t, o)
	return srv.URL()
}

// events collects what c's engine emits (a full buffer drops events).
func events(c *client.Client) <-chan callcore.Event {
	ch := make(chan callcore.Event, 64)
	c.Engine.Subscribe(func(ev callcore.Event) {
		select {
		case ch <- ev:
		default:
		}
	})
	return ch
}

func waitFor(t *testing.T, ch <-chan callcore.Event, name callcore.EventName) callcore.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s", name)
		}
	}
}

// A client made from a secret and media specs logs in, sets its self info,
// and a call between two of them connects media.
func TestClientsCall(t *testing.T) {
	url := startServer(t, nil)
	mk := func(user string) (*client.Client, <-chan callcore.Event) {
		c, err := client.New(client.Options{
			Server: url, SDKAppID: appID, UserID: user, Secret: secret,
			Self:  callcore.SelfInfo{NickName: strings.ToUpper(user)},
			Media: &client.MediaSpec{AudioIn: "tone:440", AudioOut: "null", VideoIn: "pattern", LoopbackICE: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("close %s: %v", user, err)
			}
		})
		ev := events(c)
		if err := c.Login(t.Context()); err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		return c, ev
	}
	alice, aev := mk("alice")
	bob, bev := mk("bob")
	if _, err := alice.Engine.Call(t.Context(), "bob", proto.CallTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	inv := waitFor(t, bev, callcore.EventInvited).Data.(callcore.Invited)
	if inv.SponsorNickName != "ALICE" {
		t.Fatalf("INVITED %+v: self info not set at login", inv)
	}
	if err := bob.Engine.Accept(t.Context(), "", 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, aev, callcore.EventUserEnter) // media connected
	if alice.Factory == nil || len(alice.Notes) != 0 || len(alice.Problems) != 0 {
		t.Fatalf("alice: factory %v notes %v problems %v", alice.Factory, alice.Notes, alice.Problems)
	}
}

// No sound card or camera here: with stand-ins the client says what it
// sends instead; without, it refuses with TRTCCalling's codes.
func TestMissingDevices(t *testing.T) {
	c, err := client.New(client.Options{
		Server: "ws://127.0.0.1:1/ws", SDKAppID: appID, UserID: "alice", UserSig: "sig",
		Media: &client.MediaSpec{AudioIn: "mic", AudioOut: "speaker", VideoIn: "camera:/dev/nonexistent", StandIns: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(c.Notes, "\n")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no microphone (error 60003)", "no speaker", "no camera (error 60004)"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	for spec, code := range map[[2]string]int{
		{"mic", "pattern"}:                   callcore.CodeNoMicrophone,
		{"tone:440", "camera:/dev/nonexist"}: callcore.CodeNoCamera,
	} {
		_, err := client.New(client.Options{
			Server: "ws://127.0.0.1:1/ws", SDKAppID: appID, UserID: "alice", UserSig: "sig",
			Media: &client.MediaSpec{AudioIn: spec[0], AudioOut: "null", VideoIn: spec[1]},
		})
		if callcore.ErrorCode(err) != code {
			t.Errorf("%v: %v (code %d), want code %d", spec, err, callcore.ErrorCode(err), code)
		}
	}
}

func TestICEServerProblems(t *testing.T) {
	c, err := client.New(client.Options{
		Server: "ws://127.0.0.1:1/ws", SDKAppID: appID, UserID: "alice", UserSig: "sig",
		Media: &client.MediaSpec{AudioIn: "silence", AudioOut: "null", VideoIn: "none", ICEServers: []config.ICEServer{
			{URLs: []string{"stun:127.0.0.1:3478"}},
			{URLs: []string{"turn:127.0.0.1:3478"}}, // no credentials
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Problems) != 1 || c.Problems[0].Code != callcore.CodeICEServer || !strings.Contains(c.Problems[0].Msg, "turn:127.0.0.1:3478") {
		t.Fatalf("problems %+v", c.Problems)
	}
}

func TestOptionsChecked(t *testing.T) {
	for name, o := range map[string]client.Options{
		"no user":   {Server: "ws://x/ws", Secret: "k"},
		"no secret": {Server: "ws://x/ws", UserID: "alice"},
		"no server": {UserID: "alice", UserSig: "s"},
	} {
		if _, err := client.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "no server" && !errors.Is(err, callcore.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

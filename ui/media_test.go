package ui

import (
	"strings"
	"testing"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/video"
)

// The TUI's media stands in for missing devices and says so with TRTCCalling's
// codes, and reports configured ICE servers pion refuses as ERRORs while
// using the others.
func TestMediaCodesAndICEServers(t *testing.T) {
	cfg := config.Config{
		// Names no machine has, so that both fall back everywhere.
		AudioIn: "mic:no-such-microphone-termcall-test", AudioOut: "null", VideoIn: "camera:/dev/no-such-camera-termcall-test",
		ICEServers: []config.ICEServer{
			{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}}, // no credentials
			{URLs: []string{"stun:127.0.0.1:3478"}},
			{URLs: []string{"turn:127.0.0.1:3479"}, Username: "u", Credential: "p"},
		},
	}
	md, err := client.New(client.Options{Server: "ws://127.0.0.1:1/ws", UserID: "alice", UserSig: "sig",
		Media: mediaSpec(cfg, func(string) video.Sink { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := md.Close(); err != nil {
			t.Error(err)
		}
	})
	notes := strings.Join(md.Notes, " · ")
	for _, want := range []string{"no microphone (error 60003): sending a 440 Hz test tone", "no camera (error 60004): sending the test pattern"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if len(md.Problems) != 1 {
		t.Fatalf("errors %+v, want one for the TURN server without credentials", md.Problems)
	}
	e := md.Problems[0]
	if e.Code != callcore.CodeICEServer || !strings.Contains(e.Msg, "turn:127.0.0.1:3478?transport=udp") || !strings.Contains(e.Msg, "username") {
		t.Fatalf("ICE error %+v: want code %d naming the server and why", e, callcore.CodeICEServer)
	}
}

// ice_policy reaches the media spec: "relay" is relay-only, else not.
func TestMediaSpecICEPolicy(t *testing.T) {
	for policy, relay := range map[string]bool{"": false, "all": false, "relay": true} {
		if got := mediaSpec(config.Config{ICEPolicy: policy}, nil).RelayOnly; got != relay {
			t.Errorf("ice_policy %q: RelayOnly %v, want %v", policy, got, relay)
		}
	}
}

// factoryStats maps the media path to direct or relayed: a TURN relay on
// either side is relayed, no selected pair yet is unknown.
func TestPathOfMediaStats(t *testing.T) {
	for _, tc := range []struct {
		path *media.Path
		want Path
	}{
		{nil, PathUnknown},
		{&media.Path{Local: "host", Remote: "host", Protocol: "udp"}, PathDirect},
		{&media.Path{Local: "srflx", Remote: "prflx", Protocol: "udp"}, PathDirect},
		{&media.Path{Local: "relay", Remote: "host", Protocol: "udp"}, PathRelayed},
		{&media.Path{Local: "host", Remote: "relay", Protocol: "tcp"}, PathRelayed},
	} {
		if got := peerStatsOf(media.Stats{Path: tc.path}).Path; got != tc.want {
			t.Errorf("path %+v: %v, want %v", tc.path, got, tc.want)
		}
	}
}

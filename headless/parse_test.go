package headless

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
)

func TestParseLineCommands(t *testing.T) {
	tests := []struct {
		line string
		want command
	}{
		{"login", command{op: opLogin}},
		{"  logout  ", command{op: opLogout}},
		{"call bob video", command{op: opCall, user: "bob", callType: callcore.CallTypeVideo, timeout: 30}},
		{"call bob audio 5", command{op: opCall, user: "bob", callType: callcore.CallTypeAudio, timeout: 5}},
		{"call bob audio 0", command{op: opCall, user: "bob", callType: callcore.CallTypeAudio, timeout: 0}},
		{"groupCall video team", command{op: opGroupCall, callType: callcore.CallTypeVideo, groupID: "team", users: []string{}}},
		{"groupCall audio team bob carol", command{op: opGroupCall, callType: callcore.CallTypeAudio, groupID: "team", users: []string{"bob", "carol"}}},
		{"groupCall video - bob carol dave", command{op: opGroupCall, callType: callcore.CallTypeVideo, users: []string{"bob", "carol", "dave"}}},
		{"accept", command{op: opAccept}},
		{"accept inv-1", command{op: opAccept, inviteID: "inv-1"}},
		{"reject", command{op: opReject}},
		{"reject busy", command{op: opReject, busy: true}},
		{"reject inv-1", command{op: opReject, inviteID: "inv-1"}},
		{"reject inv-1 busy", command{op: opReject, inviteID: "inv-1", busy: true}},
		{"hangup", command{op: opHangup}},
		{"switchToAudio", command{op: opSwitchToAudio}},
		{"switchToVideo", command{op: opSwitchToVideo}},
		{"openCamera", command{op: opOpenCamera}},
		{"closeCamera", command{op: opCloseCamera}},
		{"setMicMute true", command{op: opSetMicMute, mute: true}},
		{"setMicMute false", command{op: opSetMicMute, mute: false}},
		{"startRemoteView bob v1", command{op: opStartRemoteView, user: "bob", view: "v1"}},
		{"startRemoteView bob v1 160x120", command{op: opStartRemoteView, user: "bob", view: "v1", width: 160, height: 120}},
		{"setVideoQuality 360p", command{op: opSetVideoQuality, quality: "360p"}},
		{"setVideoQuality 720", command{op: opSetVideoQuality, quality: "720p"}},
		{"stopRemoteView bob v1", command{op: opStopRemoteView, user: "bob", view: "v1"}},
		{"startLocalView me", command{op: opStartLocalView, view: "me"}},
		{"stopLocalView me", command{op: opStopLocalView, view: "me"}},
		{"wait INVITED", command{op: opWait, event: "INVITED", duration: 10 * time.Second}},
		{"wait CALL_END 2500ms", command{op: opWait, event: "CALL_END", duration: 2500 * time.Millisecond}},
		{"wait CALL_STARTED 1s", command{op: opWait, event: "CALL_STARTED", duration: time.Second}},
		// CALLING_END is TRTCCalling's other name of CALL_END: the same events satisfy it.
		{"wait CALLING_END 3s", command{op: opWait, event: "CALL_END", duration: 3 * time.Second}},
		{"sleep 1100ms", command{op: opSleep, duration: 1100 * time.Millisecond}},
		{"setSelfInfo Alice", command{op: opSetSelfInfo, nickName: "Alice"}},
		{"setSelfInfo 王小明 https://a.example/x.png", command{op: opSetSelfInfo, nickName: "王小明", avatar: "https://a.example/x.png"}},
		{"setLogLevel debug", command{op: opSetLogLevel, level: slog.LevelDebug}},
		{"setLogLevel INFO", command{op: opSetLogLevel, level: slog.LevelInfo}},
		{"setLogLevel warn", command{op: opSetLogLevel, level: slog.LevelWarn}},
		{"setLogLevel error", command{op: opSetLogLevel, level: slog.LevelError}},
		{"setLogLevel off", command{op: opSetLogLevel, level: levelOff}},
		// TIM's numbers.
		{"setLogLevel 0", command{op: opSetLogLevel, level: slog.LevelDebug}},
		{"setLogLevel 1", command{op: opSetLogLevel, level: slog.LevelInfo}},
		{"setLogLevel 2", command{op: opSetLogLevel, level: slog.LevelWarn}},
		{"setLogLevel 3", command{op: opSetLogLevel, level: slog.LevelError}},
		{"setLogLevel 4", command{op: opSetLogLevel, level: levelOff}},
		{"sleep 0s", command{op: opSleep}},
		{"quit", command{op: opQuit}},
		{"call\tbob   video\t 7", command{op: opCall, user: "bob", callType: callcore.CallTypeVideo, timeout: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok, err := parseLine(tt.line)
			if err != nil || !ok {
				t.Fatalf("parseLine(%q) = ok %v, err %v; want a command", tt.line, ok, err)
			}
			tt.want.line = strings.TrimSpace(tt.line)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseLine(%q) =\n %+v\nwant\n %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseLineSkips(t *testing.T) {
	for _, line := range []string{"", "   ", "\t", "# a comment", "   # indented comment", "#call bob video"} {
		c, ok, err := parseLine(line)
		if ok || err != nil || c.op != opUnknown {
			t.Errorf("parseLine(%q) = %+v, ok %v, err %v; want it skipped", line, c, ok, err)
		}
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct {
		line    string
		want    error
		mention string // part of the message that tells the user what is wrong
	}{
		{"dial bob", ErrUnknownCommand, `"dial"`},
		{"Call bob video", ErrUnknownCommand, `"Call"`}, // names are case-sensitive, as in the API
		{"call", ErrBadArgs, "usage: call USER audio|video [TIMEOUT_S]"},
		{"call bob", ErrBadArgs, "usage: call"},
		{"call bob fax", ErrBadArgs, `"fax"`},
		{"call bob video soon", ErrBadArgs, `"soon"`},
		{"call bob video -1", ErrBadArgs, `"-1"`},
		{"call bob video 3601", ErrBadArgs, `"3601"`},
		{"call bob video 5 extra", ErrBadArgs, "usage: call"},
		{"groupCall video", ErrBadArgs, "usage: groupCall"},
		{"groupCall video -", ErrBadArgs, "no users"},
		{"groupCall fax team", ErrBadArgs, `"fax"`},
		{"accept a b", ErrBadArgs, "usage: accept [INVITEID]"},
		{"reject inv-1 maybe", ErrBadArgs, `"maybe"`},
		{"reject a busy c", ErrBadArgs, "usage: reject"},
		{"hangup now", ErrBadArgs, "usage: hangup"},
		{"setMicMute", ErrBadArgs, "usage: setMicMute true|false"},
		{"setMicMute yes-please", ErrBadArgs, `"yes-please"`},
		{"startRemoteView bob", ErrBadArgs, "usage: startRemoteView USER VIEW [WxH]"},
		{"startLocalView", ErrBadArgs, "usage: startLocalView VIEW"},
		{"startRemoteView bob v1 160", ErrBadArgs, `"160" is not WxH`},
		{"startRemoteView bob v1 0x120", ErrBadArgs, `"0x120" is not WxH`},
		{"startRemoteView bob v1 160x120 x", ErrBadArgs, "usage: startRemoteView USER VIEW [WxH]"},
		{"setVideoQuality 1080p", ErrBadArgs, `"1080p"`},
		{"setVideoQuality", ErrBadArgs, "usage: setVideoQuality 120p|180p|240p|360p|480p|720p"},
		{"wait", ErrBadArgs, "usage: wait EVENT [TIMEOUT]"},
		{"wait NOT_AN_EVENT", ErrBadArgs, `"NOT_AN_EVENT"`},
		{"wait invited", ErrBadArgs, `"invited"`},
		{"wait INVITED 10", ErrBadArgs, `"10"`}, // a duration needs a unit
		{"wait INVITED -1s", ErrBadArgs, `"-1s"`},
		{"sleep", ErrBadArgs, "usage: sleep DURATION"},
		{"sleep forever", ErrBadArgs, `"forever"`},
		{"quit now", ErrBadArgs, "usage: quit"},
		{"setSelfInfo", ErrBadArgs, "usage: setSelfInfo NICKNAME [AVATAR]"},
		{"setSelfInfo Alice Smith https://x", ErrBadArgs, "usage: setSelfInfo"}, // one token: no spaces
		{"setSelfInfo " + strings.Repeat("x", 65), ErrBadArgs, "at most 64 bytes"},
		{"setLogLevel", ErrBadArgs, "usage: setLogLevel"},
		{"setLogLevel 5", ErrBadArgs, `"5"`},
		{"setLogLevel verbose", ErrBadArgs, `"verbose"`},
		{"wait CALLING_ENDED", ErrBadArgs, `"CALLING_ENDED"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, ok, err := parseLine(tt.line)
			if !ok {
				t.Fatalf("parseLine(%q): ok = false; a bad command must be reported, not skipped", tt.line)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseLine(%q) error = %v; want %v", tt.line, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("parseLine(%q) error %q does not mention %q", tt.line, err, tt.mention)
			}
		})
	}
}

func TestUsageListsEveryCommand(t *testing.T) {
	u := Usage()
	for _, s := range specs() {
		if !strings.Contains(u, s.name) {
			t.Errorf("Usage() does not mention %q", s.name)
		}
		// Every command in the table must parse with its documented minimum.
		if s.op == opUnknown {
			t.Errorf("command %q has no op", s.name)
		}
	}
}

// docs/headless.md documents every command.
func TestDocsListEveryCommand(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "headless.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs() {
		if !strings.Contains(string(b), "`"+s.name) {
			t.Errorf("docs/headless.md does not document %q", s.name)
		}
	}
}

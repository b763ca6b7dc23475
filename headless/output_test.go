package headless

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
)

func TestOutputFlattensPayload(t *testing.T) {
	var buf bytes.Buffer
	o := &output{w: &buf}
	ts := time.UnixMilli(1700000000123)
	if err := o.write("LINE_BUSY", ts, callcore.LineBusy{InviteID: "i1", Sponsor: "alice", UserID: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := o.write("SDK_READY", ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.write("GROUP_CALL_INVITEE_LIST_UPDATE", ts, &callcore.InviteeList{UserIDList: []string{}}); err != nil {
		t.Fatal(err)
	}
	if err := o.write("X", ts, struct{}{}); err != nil {
		t.Fatal(err)
	}
	want := `{"event":"LINE_BUSY","ts":1700000000123,"inviteID":"i1","sponsor":"alice","userID":"bob"}
{"event":"SDK_READY","ts":1700000000123}
{"event":"GROUP_CALL_INVITEE_LIST_UPDATE","ts":1700000000123,"userIDList":[]}
{"event":"X","ts":1700000000123}
`
	if buf.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestOutputRefusesNonObjects(t *testing.T) {
	var buf bytes.Buffer
	o := &output{w: &buf}
	for _, p := range []any{42, "text", []int{1}} {
		if err := o.write("E", time.Now(), p); err == nil {
			t.Errorf("write(%v): no error; a payload must be an object", p)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("refused payloads printed %q", buf.String())
	}
}

type failingWriter struct{}

var errBrokenPipe = errors.New("broken pipe")

func (failingWriter) Write([]byte) (int, error) { return 0, errBrokenPipe }

func TestOutputRemembersWriteError(t *testing.T) {
	o := &output{w: failingWriter{}}
	if err := o.write("E", time.Now(), nil); !errors.Is(err, errBrokenPipe) {
		t.Fatalf("write error = %v, want %v", err, errBrokenPipe)
	}
	if err := o.failed(); !errors.Is(err, errBrokenPipe) {
		t.Errorf("failed() = %v, want %v", err, errBrokenPipe)
	}
}

// TestOutputLinesStayWhole writes from many goroutines, as engine handlers
// and the command loop do, and checks that every line is one JSON object.
func TestOutputLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	o := &output{w: &buf}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range each {
				p := callcore.Error{Code: i, Msg: strings.Repeat("x", j)}
				if err := o.write("ERROR", time.Now(), p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		msg, _ := m["msg"].(string)
		if m["event"] != "ERROR" || len(msg) >= each {
			t.Fatalf("line %q is not a whole ERROR line", l)
		}
	}
}

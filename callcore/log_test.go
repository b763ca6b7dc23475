package callcore

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var logAttr = regexp.MustCompile(`(\S+?)=(?:"(?:[^"\\]|\\.)*"|\S*)`)

// Records from the engine, its signaling client and the media layer's
// logger (MediaCall.Logger, with the attributes a session adds) carry each
// attribute once: component=callcore, then which part.
func TestLogAttributesOnce(t *testing.T) {
	srv := startServer(t, nil)
	px := newProxy(t, srv.URL())
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	am := &relayMedia{}
	alice := newClientCfg(t, Config{ServerURL: px.url(), SDKAppID: testAppID, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond},
		"alice", WithMedia(am), WithLogger(log))
	bob := newClient(t, srv.URL(), "bob", WithMedia(&relayMedia{}))
	_, err := alice.Call(ctx(t), "bob", CallTypeAudio, 30)
	must(t, err)
	bob.rec.wait(t, EventInvited, 1)
	must(t, bob.Accept(ctx(t), "", 0, 0))
	alice.rec.wait(t, EventUserEnter, 1)
	as := am.session(0)
	as.mc.Logger.With("part", "media", "room", as.mc.RoomID).Info("probe") // as callcore/media's session does

	px.cut(false) // the signaling client and the engine log the reconnect
	eventually(t, "resumed", func() bool { return strings.Contains(buf.String(), "signaling resumed") })

	out := buf.String()
	for _, want := range []string{"component=callcore part=media room=", "component=callcore part=signal"} {
		if !strings.Contains(out, want) {
			t.Errorf("no record with %q in\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		seen := map[string]bool{}
		for _, m := range logAttr.FindAllStringSubmatch(line, -1) {
			if seen[m[1]] {
				t.Errorf("%s twice in %s", m[1], line)
			}
			seen[m[1]] = true
		}
	}
}

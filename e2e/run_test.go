package e2e_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/headless"
)

// inProcess runs headless.Run in this process against s, reading its output
// into a client so that the same Expect helpers apply.
func inProcess(t *testing.T, ctx context.Context, s *server, opts headless.Options) (*client, <-chan error) {
	t.Helper()
	// An OS pipe, buffered like a process's stdin: io.Pipe would block Send
	// while the runner is busy with a wait.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{user: opts.UserID, stdin: pw, changed: make(chan struct{}),
		p: &proc{name: "in-process " + opts.UserID, exited: make(chan struct{})}}
	// output writes whole lines, one Write each, never concurrently.
	out := &lineWriter{fn: c.addLine}
	done := make(chan error, 1)
	go func() {
		err := headless.Run(ctx, opts, pr, out)
		c.p.err = err
		close(c.p.exited)
		done <- err
	}()
	t.Cleanup(func() {
		_ = pw.Close() // ends Run (EOF) and its stdin reader
		defer pr.Close()
		select {
		case <-c.p.exited:
		case <-time.After(exitWait):
			t.Errorf("%s: Run did not return after EOF", c.user)
		}
		if len(c.bad) > 0 {
			t.Errorf("%s printed lines that are not JSON event objects: %q", c.user, c.bad)
		}
	})
	return c, done
}

func TestRunInProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := s.startClient(t, "bob")
	alice, done := inProcess(t, t.Context(), s, headless.Options{
		ServerURL: s.URL, SDKAppID: 1400000000, UserID: "alice", Secret: testSecret,
	})
	alice.Expect(t, "SDK_READY", waitLong, is(map[string]any{"userID": "alice", "name": "ts_im_ready"}))

	// The script runs ahead: wait holds hangup back until bob is in.
	for _, line := range []string{"call bob audio 5", "wait USER_ENTER 10s", "hangup", "quit"} {
		alice.Send(t, line)
	}
	inviteID, _ := callStarted(t, alice, "bob")
	expectInvited(t, bob, inviteID, "alice", audio)
	bob.Send(t, "accept")
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
	alice.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "hangup"}))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after quit = %v, want nil", err)
		}
	case <-time.After(exitWait):
		t.Fatal("Run did not return after quit")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := s.startClient(t, "bob")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	alice, done := inProcess(t, ctx, s, headless.Options{
		ServerURL: s.URL, SDKAppID: 1400000000, UserID: "alice", Secret: testSecret,
	})
	alice.Expect(t, "SDK_READY", waitLong, nil)
	connect(t, alice, bob, "video")

	cancel() // as SIGTERM does: Run logs out and returns
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(exitWait):
		t.Fatal("Run did not return after its context ended")
	}
	bob.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "alice", "reason": "logout"}))
	bob.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "logout"}))
}

func TestRunLoginRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	alice, done := inProcess(t, t.Context(), s, headless.Options{
		ServerURL: s.URL, SDKAppID: 1400000000, UserID: "alice", Secret: "not-the-servers-key",
	})
	select {
	case err := <-done:
		if !errors.Is(err, headless.ErrLogin) {
			t.Errorf("Run = %v, want ErrLogin", err)
		}
	case <-time.After(exitWait):
		t.Fatal("Run did not return after a refused login")
	}
	alice.Expect(t, "ERROR", 0, is(map[string]any{"cmd": "login", "code": 4012}))
}

func TestRunRefusesBadOptions(t *testing.T) {
	good := headless.Options{ServerURL: "ws://127.0.0.1:1/ws", SDKAppID: 1, UserID: "alice", Secret: "k"}
	tests := []struct {
		name   string
		change func(*headless.Options)
	}{
		{"no server", func(o *headless.Options) { o.ServerURL = "" }},
		{"no sdkappid", func(o *headless.Options) { o.SDKAppID = 0 }},
		{"no user", func(o *headless.Options) { o.UserID = "" }},
		{"no usersig or secret", func(o *headless.Options) { o.Secret = "" }},
		{"auto-accept and auto-reject", func(o *headless.Options) { o.AutoAccept, o.AutoReject = true, true }},
		{"negative group timeout", func(o *headless.Options) { o.GroupTimeout = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			var out strings.Builder
			err := headless.Run(t.Context(), o, strings.NewReader("quit\n"), &out)
			if !errors.Is(err, headless.ErrBadOptions) {
				t.Errorf("Run = %v, want ErrBadOptions", err)
			}
			if out.Len() != 0 {
				t.Errorf("Run printed %q before refusing its options", out.String())
			}
		})
	}
}

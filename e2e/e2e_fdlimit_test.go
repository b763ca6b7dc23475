package e2e_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

// wsUser is a bare websocket logged in as a user: many of them are cheap
// next to headless processes.
type wsUser struct {
	user, session string
	ws            *websocket.Conn
}

// dialLogin dials url (naming user's session if resume) and logs in. A
// refused dial returns the HTTP response's status, Retry-After and body.
func dialLogin(t *testing.T, url, user, session string, resume bool) (*wsUser, string) {
	t.Helper()
	if resume {
		var err error
		if url, err = proto.ResumeURL(url, user, session); err != nil {
			t.Fatal(err)
		}
	}
	d := websocket.Dialer{HandshakeTimeout: waitLong}
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
			t.Fatalf("dial as %s: %v (want a login or a clean refusal)", user, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return nil, fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Retry-After"), strings.TrimSpace(string(b)))
	}
	sig, err := usersig.GenerateNow(testSecret, 1400000000, user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := proto.Encode(proto.TypeLogin, 1, proto.LoginRequest{SDKAppID: 1400000000, UserID: user, UserSig: sig, SessionID: session})
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(waitLong))
	if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		var f proto.Frame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		if f.ID != 1 {
			continue // a push, e.g. presence
		}
		if f.Type != proto.TypeReply {
			t.Fatalf("login %s: %s %s", user, f.Type, f.Body)
		}
		break
	}
	_ = ws.SetReadDeadline(time.Time{})
	u := &wsUser{user: user, session: session, ws: ws}
	// Read (and drop) pushes, so the server never sees a slow consumer.
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return u, ""
}

func randomSession(t *testing.T) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestServeFileLimit runs `termcall serve` with 256 open files and logs
// users in until it refuses: the refusal is an HTTP 503, the server keeps
// serving, a logged-in user's reconnect still gets in and closed
// connections free their slots.
func TestServeFileLimit(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit (util-linux)")
	}
	const limit = 256
	s := runServeVia(t, []string{prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit)}, "",
		"--addr", "127.0.0.1:0", "--grace", "1m", "--web=false")
	// The defaults for 256 fds: MaxConns 256-64 = 192, of which
	// min(64, 192/4) = 48 only for reconnects.
	const maxConns, strangers = 192, 144
	stated := regexp.MustCompile(fmt.Sprintf(`msg="open files" .*limit=%d max_conns=%d`, limit, maxConns))
	if log := s.p.stderr.String(); !stated.MatchString(log) {
		t.Fatalf("the log does not state the limit:\n%s", log)
	}
	var users []*wsUser
	defer func() {
		for _, u := range users {
			_ = u.ws.Close()
		}
	}()
	const wantRefusal = "503 2 server near its connection limit"
	var refused string
	for i := 0; refused == "" && i < maxConns+8; i++ {
		u, r := dialLogin(t, s.URL, fmt.Sprintf("u%d", i), randomSession(t), false)
		if u != nil {
			users = append(users, u)
		}
		refused = r
	}
	if refused != wantRefusal {
		t.Fatalf("after %d logins: refusal %q, want %q", len(users), refused, wantRefusal)
	}
	// The server's own sockets (the store's, a listener) are not counted;
	// the test's sockets are, so it stops at exactly the strangers' share.
	if len(users) != strangers {
		t.Fatalf("%d users logged in before the refusal, want %d", len(users), strangers)
	}
	t.Logf("%d users in, then %q", len(users), refused)

	// A user drops; a stranger takes the slot; the user's reconnect still
	// gets in, from the room kept for reconnects.
	alice := users[0]
	_ = alice.ws.Close()
	var stranger *wsUser
	deadline := time.Now().Add(waitLong)
	for stranger == nil {
		if stranger, refused = dialLogin(t, s.URL, "stranger", randomSession(t), false); stranger == nil {
			if refused != wantRefusal || time.Now().After(deadline) {
				t.Fatalf("stranger after a drop: %q", refused)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	users = append(users, stranger)
	back, refused := dialLogin(t, s.URL, alice.user, alice.session, true)
	if back == nil {
		t.Fatalf("reconnect of a logged-in user refused: %q", refused)
	}
	users[0] = back
	if _, r := dialLogin(t, s.URL, "late", randomSession(t), false); r != wantRefusal {
		t.Fatalf("stranger at the cap: %q, want %q", r, wantRefusal)
	}

	// Health checks still answer.
	resp, err := http.Get("http://" + strings.TrimSuffix(strings.TrimPrefix(s.URL, "ws://"), "/ws") + "/healthz")
	if err != nil {
		t.Fatalf("/healthz at the cap: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz at the cap: HTTP %d", resp.StatusCode)
	}

	// Users leave; a new login gets in once their sockets have closed.
	for _, u := range users[1:11] {
		_ = u.ws.Close()
	}
	users = append(users[:1:1], users[11:]...)
	deadline = time.Now().Add(waitLong)
	for {
		u, r := dialLogin(t, s.URL, "newcomer", randomSession(t), false)
		if u != nil {
			users = append(users, u)
			break
		}
		if r != wantRefusal || time.Now().After(deadline) {
			t.Fatalf("login after others left: %q", r)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if code := s.p.exitCode(100 * time.Millisecond); code != -1 {
		t.Fatalf("the server exited (%d):\n%s", code, s.p.stderr.String())
	}
	if log := s.p.stderr.String(); strings.Contains(log, "panic") || strings.Contains(log, "too many open files") {
		t.Fatalf("the server ran out of fds or panicked:\n%s", log)
	}
}

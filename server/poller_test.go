package server

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// A request split into one-byte writes, fragmented around a websocket
// ping, and two requests in one write: the server reads each as the
// client meant it (on Linux, the poller and its frame reader).
func TestFramesSplitAcrossReads(t *testing.T) {
	s := runServer(t, func(o *Options) { o.PingInterval = time.Minute; o.PongWait = 2 * time.Minute })
	c := login(t, s, "alice")
	nc := c.ws.NetConn() // raw frames; the client writes nothing else here
	write := func(b []byte) {
		t.Helper()
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	req := func(id int) []byte {
		return []byte(`{"type":"` + proto.TypePing + `","id":` + string(rune('0'+id)) + `}`)
	}

	for _, b := range clientFrame(true, websocket.TextMessage, req(1)) {
		write([]byte{b})
		time.Sleep(time.Millisecond)
	}
	if _, perr := c.answer(1); perr != nil {
		t.Fatalf("byte by byte: %v", perr)
	}

	r := req(2)
	write(clientFrame(false, websocket.TextMessage, r[:5]))
	write(clientFrame(true, websocket.PingMessage, []byte("hi")))
	write(clientFrame(false, 0, r[5:9]))
	time.Sleep(10 * time.Millisecond)
	write(clientFrame(true, 0, r[9:]))
	if _, perr := c.answer(2); perr != nil {
		t.Fatalf("fragmented: %v", perr)
	}

	write(append(clientFrame(true, websocket.TextMessage, req(3)), clientFrame(true, websocket.TextMessage, req(4))...))
	for id := uint64(3); id <= 4; id++ {
		if _, perr := c.answer(id); perr != nil {
			t.Fatalf("two in one write, %d: %v", id, perr)
		}
	}
}

// A frame no client may send ends the connection with 1002, and the
// server keeps serving the others.
func TestProtocolErrorCloses(t *testing.T) {
	s := runServer(t, nil)
	c := login(t, s, "alice")
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	if _, err := c.ws.NetConn().Write(unmasked); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(); code != websocket.CloseProtocolError {
		t.Fatalf("close code %d, want 1002", code)
	}
	login(t, s, "bob").do(proto.TypePing, nil, nil)
}

// A client's close frame is answered with its code, and the session
// ends as a logout would not: it waits out its grace (a close without
// logout is a client going away).
func TestClientCloseAnswered(t *testing.T) {
	s := runServer(t, nil)
	c := login(t, s, "alice")
	if err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want the client's 1001 back", code)
	}
	waitForGrace(t, s, "alice")
}

// Connections dropped every way leave no descriptor behind once the
// server has shut down: not their sockets, not the poller's.
func TestConnectionsLeaveNoDescriptor(t *testing.T) {
	before := openFDs(t)
	o := testOptions()
	o.PingInterval, o.PongWait = 50*time.Millisecond, 150*time.Millisecond
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var clients []*client
	for i, user := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		c := login(t, s, user)
		switch i % 3 {
		case 0:
			c.close()
		case 1:
			c.drop()
		default:
			clients = append(clients, c) // still open at shutdown
		}
	}
	silent, _, err := websocket.DefaultDialer.Dial(s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	silent.SetPingHandler(func(string) error { return nil }) // never answers
	_ = silent.SetReadDeadline(time.Now().Add(patience))
	for {
		if _, _, err := silent.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("silent connection: %v, want the server's close", err)
			}
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if code := c.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("%s: close code %d", c.user, code)
		}
		c.close()
	}
	_ = silent.Close()
	waitFor(t, "descriptors back to before", func() bool { return openFDs(t) <= before })
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /proc/self/fd")
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

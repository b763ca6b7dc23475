package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// user is one logged-in websocket. It is deliberately minimal (a read loop
// and a locked writer, small buffers) because tens of thousands of them
// share this process: the tool must not be the bottleneck it measures.
type user struct {
	idx int
	id  string
	ws  *websocket.Conn
	wmu sync.Mutex // gorilla allows one concurrent writer
}

// userID names user i (0-based) as u00001, u00002, ...
func userID(i int) string { return fmt.Sprintf("u%05d", i+1) }

// dialer returns a websocket dialer whose connections leave from local
// (nil: any address). Several source addresses on 127.0.0.0/8 multiply the
// ephemeral ports available towards one server port.
func dialer(local net.IP) *websocket.Dialer {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		nd.LocalAddr = &net.TCPAddr{IP: local}
	}
	return &websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
}

// errBusy: the server refused the handshake with 503 (its cap on
// connections not logged in yet); the login is retried.
var errBusy = errors.New("server busy (503)")

// login dials url and logs user i in with userSig sig, waiting for the
// reply.
func login(ctx context.Context, d *websocket.Dialer, url string, sdkAppID uint32, i int, sig string) (*user, error) {
	id := userID(i)
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("dial %s as %s: %w", url, id, errBusy)
		}
		return nil, fmt.Errorf("dial %s as %s: %w", url, id, err)
	}
	u := &user{idx: i, id: id, ws: ws}
	body, _ := json.Marshal(proto.LoginRequest{SDKAppID: sdkAppID, UserID: id, UserSig: sig})
	if err := u.send(proto.Frame{Type: proto.TypeLogin, ID: 1, Body: body}); err != nil {
		ws.Close()
		return nil, fmt.Errorf("login %s: %w", id, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		var f proto.Frame
		if err := ws.ReadJSON(&f); err != nil {
			ws.Close()
			return nil, fmt.Errorf("login %s: %w", id, err)
		}
		if f.ID != 1 {
			continue // a push before the reply (none expected, but harmless)
		}
		if f.Type != proto.TypeReply {
			ws.Close()
			return nil, fmt.Errorf("login %s: %s %s", id, f.Type, f.Body)
		}
		_ = ws.SetReadDeadline(time.Time{})
		return u, nil
	}
}

// send writes one frame.
func (u *user) send(f proto.Frame) error {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	_ = u.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return u.ws.WriteJSON(f)
}

// sendBody writes a push-style request (id 0: the server answers only
// errors, which keeps the tool's read loops quiet).
func (u *user) sendBody(typ string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", typ, err)
	}
	return u.send(proto.Frame{Type: typ, Body: b})
}

// readLoop hands every frame to h until the connection closes. Gorilla
// answers the server's pings inside ReadMessage, so idle users stay up.
func (u *user) readLoop(h *harness) {
	for {
		_, msg, err := u.ws.ReadMessage()
		if err != nil {
			h.lostConn(u.idx, err)
			return
		}
		var f proto.Frame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		h.frame(u, f)
	}
}

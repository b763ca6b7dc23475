package callcore

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// deadURL is a signaling URL on a port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "ws://" + addr + "/ws"
}

// signalReady reports whether c's signaling accepts requests (resumed).
func (c *client) signalReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link != nil && c.link.c != nil && c.link.c.Connected()
}

// serverOf is the server engine c's signaling is on.
func (c *client) serverOf() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil || c.link.c == nil {
		return ""
	}
	return c.link.c.ServerURL()
}

func TestServerURLsConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"none":        {SDKAppID: 1},
		"both":        {ServerURL: "ws://a/ws", ServerURLs: []string{"ws://b/ws"}, SDKAppID: 1},
		"empty entry": {ServerURLs: []string{"ws://a/ws", ""}, SDKAppID: 1},
	} {
		if e, err := New(cfg); !errors.Is(err, ErrInvalidArgument) {
			if e != nil {
				_ = e.Close()
			}
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLoginSkipsDeadServer: the first server of the list is down; login
// goes through the second and the engine works there.
func TestLoginSkipsDeadServer(t *testing.T) {
	srv := startServer(t, nil)
	alice := newClientCfg(t, Config{ServerURLs: []string{deadURL(t), srv.URL()}, SDKAppID: testAppID}, "alice")
	bob := newClient(t, srv.URL(), "bob")
	if got := alice.serverOf(); got != srv.URL() {
		t.Fatalf("alice on %q, want %q", got, srv.URL())
	}
	connect(t, alice, bob, proto.CallTypeAudio)
}

// TestFailoverToAnotherNode: the node alice and bob are on shuts down and
// they reconnect to the other node of their list. These two nodes share
// no state (nodes do with serve --nats, tested in server/ and e2e/), so
// the second gives each a new session: what a user sees is what a reconnect
// to a server that forgot them shows today (applyResumeLocked): the call
// ends as disconnected, the engine stays logged in, watched presence is
// reported afresh from the new node, and calls work through it.
func TestFailoverToAnotherNode(t *testing.T) {
	a, b := startServer(t, nil), startServer(t, nil)
	cfg := Config{
		ServerURLs: []string{a.URL(), b.URL()}, SDKAppID: testAppID,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
	}
	alice := newClientCfg(t, cfg, "alice")
	bob := newClientCfg(t, cfg, "bob")
	carol := newClient(t, b.URL(), "carol") // only on node b
	if alice.serverOf() != a.URL() || bob.serverOf() != a.URL() {
		t.Fatalf("alice on %s, bob on %s; want node a %s", alice.serverOf(), bob.serverOf(), a.URL())
	}
	ps, err := alice.WatchPresence(ctx(t), []string{"carol"})
	must(t, err)
	if len(ps) != 1 || ps[0].Status != PresenceOffline {
		t.Fatalf("carol seen from node a: %+v", ps)
	}
	info := connect(t, alice, bob, proto.CallTypeAudio)
	// USER_ENTER may still be on its way to alice's handlers: count from after it.
	alice.rec.wait(t, EventUserEnter, 1)
	before := len(alice.rec.names())

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, a.Shutdown(sctx))

	for _, c := range []*client{alice, bob} {
		// On node b and done resuming there: requests fail fast with "not
		// connected" until the resume is done (signal.Client), so an
		// invitation that came meanwhile could not be accepted yet.
		eventually(t, c.user+" on node b", func() bool { return c.serverOf() == b.URL() && c.signalReady() })
		other := map[string]string{"alice": "bob", "bob": "alice"}[c.user]
		if l := data[UserLeave](t, c.rec.wait(t, EventUserLeave, 1)); l != (UserLeave{UserID: other, Reason: ReasonDisconnected}) {
			t.Fatalf("%s USER_LEAVE %+v", c.user, l)
		}
		if e := data[CallEnd](t, c.rec.wait(t, EventCallEnd, 1)); e.Reason != ReasonDisconnected || e.RoomID != info.RoomID {
			t.Fatalf("%s CALL_END %+v", c.user, e)
		}
		c.waitState(t, StateIdle)
	}
	// Node b reports carol, whom node a never knew.
	eventually(t, "carol's presence from node b", func() bool {
		return slices.ContainsFunc(alice.rec.all(EventPresence), func(ev Event) bool {
			p, ok := ev.Data.(Presence)
			return ok && p.UserID == "carol" && p.Status == PresenceOnline
		})
	})
	// Nothing else reached the user: no second SDK_READY, no KICKED_OUT,
	// no ERROR; the login goes on.
	after := alice.rec.names()[before:]
	for _, n := range after {
		if n != string(EventUserLeave) && n != string(EventCallEnd) && n != string(EventPresence) {
			t.Fatalf("alice's events after the failover: %v", after)
		}
	}
	// Logged in on node b: a call to bob and one to carol go through it.
	eventually(t, "alice usable on node b", func() bool {
		_, err := alice.Call(ctx(t), "bob", proto.CallTypeAudio, 30)
		return err == nil
	})
	bob.rec.wait(t, EventInvited, 2)
	must(t, bob.Accept(ctx(t), "", 0, 0))
	alice.waitState(t, StateConnected)
	must(t, alice.Hangup(ctx(t)))
	alice.waitState(t, StateIdle)
	connect(t, alice, carol, proto.CallTypeAudio)
}

package server

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/internal/testnats"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/store"
)

// clusterNode is one `serve` node of a cluster on url; it runs on the real
// clock (the nodes' timers must agree across processes in production).
type clusterNode struct {
	s  *Server
	st *store.Store
}

func startNode(t *testing.T, url, name string) *clusterNode {
	t.Helper()
	return startNodeWith(t, url, name, nil)
}

func startNodeWith(t *testing.T, url, name string, mod func(*Options)) *clusterNode {
	t.Helper()
	return startNodeStore(t, store.Config{NodeName: name, URLs: []string{url}, Cluster: true}, mod)
}

func startNodeStore(t *testing.T, cfg store.Config, mod func(*Options)) *clusterNode {
	t.Helper()
	name := cfg.NodeName
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("store for %s: %v", name, err)
	}
	o := testOptions()
	o.Clock = nil // real time: timers across nodes
	o.State, o.Cluster = st, st
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{s: s, st: st}
	t.Cleanup(n.stop)
	return n
}

func (n *clusterNode) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_ = n.s.Shutdown(ctx)
	n.st.Close()
}

// twoNodes starts a serving node and a following one and waits until the
// follower hears the serving node's beat.
func twoNodes(t *testing.T) (serving, following *clusterNode) {
	t.Helper()
	url := testnats.URL(t)
	a := startNode(t, url, "node-a")
	b := startNode(t, url, "node-b")
	if !a.s.serving() || b.s.serving() {
		t.Fatalf("serving: a %v, b %v; want a only", a.s.serving(), b.s.serving())
	}
	waitFor(t, "node-b hears node-a", b.s.leaderNear)
	return a, b
}

func TestClusterCallAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	alice := login(t, a.s, "alice") // on the serving node
	bob := login(t, b.s, "bob")     // through node-b
	room := call(t, alice, bob, proto.CallTypeAudio)
	// Negotiation relays both ways across the nodes.
	bob.do(proto.TypeRelay, proto.Relay{To: "alice", Payload: []byte(`{"sdp":"offer"}`)}, nil)
	var rl proto.Relay
	alice.expect(proto.TypeRelay, &rl)
	if rl.From != "bob" || string(rl.Payload) != `{"sdp":"offer"}` {
		t.Errorf("relay %+v", rl)
	}
	alice.do(proto.TypeRelay, proto.Relay{To: "bob", Payload: []byte(`{"sdp":"answer"}`)}, nil)
	bob.expect(proto.TypeRelay, nil)
	// Busy across nodes: carol on node-b calls bob, who is in the call.
	carol := login(t, b.s, "carol")
	carol.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 30})
	var rej proto.InviteAnswer
	carol.expect(proto.TypeInviteRejected, &rej)
	if !rej.Busy {
		t.Errorf("carol's call to bob: %+v, want busy", rej)
	}
	bob.do(proto.TypeHangup, proto.HangupRequest{}, nil)
	var ended proto.CallEnded
	alice.expect(proto.TypeCallEnded, &ended)
	if ended.RoomID != room || ended.By != "bob" {
		t.Errorf("callEnded %+v", ended)
	}
}

func TestClusterRejectAndKickAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	alice := login(t, b.s, "alice")
	bob := login(t, a.s, "bob")
	rep := alice.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeVideo, Timeout: 30})
	bob.expect(proto.TypeInvited, nil)
	bob.do(proto.TypeReject, proto.RejectRequest{InviteID: rep.InviteID}, nil)
	alice.expect(proto.TypeInviteRejected, nil)
	alice.expect(proto.TypeCallEnded, nil)
	// A second login of alice on the other node kicks the first.
	login(t, a.s, "alice")
	var k proto.Kicked
	alice.expect(proto.TypeKicked, &k)
	if k.Reason != proto.ReasonMultiLogin {
		t.Errorf("kicked %+v", k)
	}
	if code := alice.closeCode(); code != 1000 {
		t.Errorf("kicked connection closed with %d, want 1000", code)
	}
	// And the other way: bob's second login, through node-b, kicks his
	// session on the serving node.
	login(t, b.s, "bob")
	bob.expect(proto.TypeKicked, &k)
	if k.Reason != proto.ReasonMultiLogin {
		t.Errorf("kicked %+v", k)
	}
	if code := bob.closeCode(); code != 1000 {
		t.Errorf("kicked connection closed with %d, want 1000", code)
	}
}

// TestClusterPresenceAcrossNodes: a watcher on one node sees a user on the
// other log in and out, both ways.
func TestClusterPresenceAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	for _, tc := range []struct {
		name              string
		watcherOn, userOn *Server
	}{{"serving watches following", a.s, b.s}, {"following watches serving", b.s, a.s}} {
		t.Run(tc.name, func(t *testing.T) {
			w := login(t, tc.watcherOn, "watcher")
			defer w.close()
			var rep proto.WatchReply
			w.do(proto.TypeWatch, proto.WatchRequest{Users: []string{"bob"}}, &rep)
			if len(rep.Presence) != 1 || rep.Presence[0].Status != "offline" {
				t.Fatalf("watch reply %+v, want bob offline", rep.Presence)
			}
			expect := func(status string) {
				t.Helper()
				var p proto.Presence
				w.expect(proto.TypePresence, &p)
				if p.UserID != "bob" || p.Status != status {
					t.Fatalf("presence %+v, want bob %s", p, status)
				}
			}
			bob := login(t, tc.userOn, "bob")
			expect("online")
			bob.do(proto.TypeLogout, nil, nil)
			expect("offline")
			bob.close()
		})
	}
}

func TestClusterGroupCallSpansNodes(t *testing.T) {
	a, b := twoNodes(t)
	alice := login(t, a.s, "alice")
	bob := login(t, b.s, "bob")
	carol := login(t, b.s, "carol")
	dave := login(t, a.s, "dave")
	rep := alice.invite(proto.InviteRequest{GroupID: "team", CallType: proto.CallTypeAudio, Timeout: 30})
	for _, c := range []*client{bob, carol, dave} {
		c.expect(proto.TypeInvited, nil)
		c.do(proto.TypeAccept, proto.InviteRef{InviteID: rep.InviteID}, nil)
	}
	// Each member hears of the others joining, wherever they are.
	for _, c := range []*client{alice, bob, carol} {
		waitFor(t, c.user+" sees dave join", func() bool {
			_, ok := c.take(10*time.Millisecond, func(f proto.Frame) bool {
				return f.Type == proto.TypeMemberJoined && body[proto.MemberEvent](t, f).UserID == "dave"
			})
			return ok
		})
	}
}

func TestClusterServingNodeDiesAnotherTakesOver(t *testing.T) {
	a, b := twoNodes(t)
	alice := login(t, a.s, "alice")
	bob := login(t, b.s, "bob")
	room := call(t, alice, bob, proto.CallTypeAudio)
	a.stop() // its clients' websockets close; its lease is freed
	waitFor(t, "node-b serves", b.s.serving)
	// bob's tunnel closed when node-b began serving; both resume there.
	bob.closeCode()
	alice.closeCode()
	for _, c := range []*client{alice, bob} {
		n, rep := resume(t, b.s, c)
		if !rep.Resumed || rep.Room == nil || rep.Room.RoomID != room {
			t.Fatalf("%s on node-b: resumed %v room %+v, want call %d", c.user, rep.Resumed, rep.Room, room)
		}
		if c.user == "alice" {
			alice = n
		} else {
			bob = n
		}
	}
	alice.do(proto.TypeHangup, proto.HangupRequest{}, nil)
	bob.expect(proto.TypeCallEnded, nil)
}

// TestClusterNoServingNodeRefuses: a follower that hears no serving node
// refuses clients and says so on /healthz; ready while it hears one.
func TestClusterNoServingNodeRefuses(t *testing.T) {
	url := testnats.URL(t)
	a := startNode(t, url, "node-a")
	b := startNode(t, url, "node-b")
	waitFor(t, "node-b hears node-a", b.s.leaderNear)
	for _, n := range []*clusterNode{a, b} {
		if code := healthz(t, n.s); code != http.StatusOK {
			t.Errorf("%s's /healthz %d with node-a serving, want 200", n.st.Node(), code)
		}
	}
	// node-a stops beating without freeing the lease (as if frozen):
	// node-b refuses new clients rather than tunnel them to nowhere.
	a.s.cl.stopOnce.Do(func() { close(a.s.cl.stop) })
	a.s.cl.wg.Wait()
	waitFor(t, "node-b notices", func() bool { return !b.s.leaderNear() })
	ws, resp, err := websocket.DefaultDialer.Dial(b.s.URL(), nil)
	if err == nil {
		ws.Close()
		t.Fatal("node-b took a client with no serving node")
	}
	if resp == nil || resp.StatusCode != 503 {
		t.Errorf("node-b's answer %v, want 503", resp)
	}
	if code := healthz(t, b.s); code != http.StatusServiceUnavailable {
		t.Errorf("node-b's /healthz %d with no serving node, want 503", code)
	}
}

func healthz(t *testing.T, s *Server) int {
	t.Helper()
	resp, err := http.Get("http" + strings.TrimSuffix(strings.TrimPrefix(s.URL(), "ws"), "/ws") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterTimerOfDeadNodeFiresOnce: the serving node sets an invitation's
// timer and dies; the node that takes over fires it once, on its deadline.
func TestClusterTimerOfDeadNodeFiresOnce(t *testing.T) {
	a, b := twoNodes(t)
	alice := login(t, b.s, "alice")
	bob := login(t, b.s, "bob")
	rep := alice.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 3})
	bob.expect(proto.TypeInvited, nil)
	set := time.Now()
	a.stop()
	waitFor(t, "node-b serves", b.s.serving)
	alice.closeCode()
	bob.closeCode()
	a2, lr := resume(t, b.s, alice)
	if lr.Room == nil || lr.Room.RoomID != rep.RoomID {
		t.Fatalf("alice's resume on node-b: room %+v, want call %d", lr.Room, rep.RoomID)
	}
	b2, _ := resume(t, b.s, bob)
	var to proto.InviteEnd
	a2.expect(proto.TypeInviteTimeout, &to)
	if to.InviteID != rep.InviteID || len(to.UserIDs) != 1 || to.UserIDs[0] != "bob" {
		t.Errorf("alice's inviteTimeout %+v", to)
	}
	if d := time.Since(set); d < 2500*time.Millisecond {
		t.Errorf("timeout after %v, want its 3 s deadline kept", d)
	}
	b2.expect(proto.TypeInviteTimeout, nil)
	a2.expect(proto.TypeCallEnded, nil)
	a2.expectNone(proto.TypeInviteTimeout)
	b2.expectNone(proto.TypeInviteTimeout)
}

// TestClusterCapsCountTunnelledSockets: sockets that never log in through
// a following node count against the serving node's caps, and its login
// deadline closes them.
func TestClusterCapsCountTunnelledSockets(t *testing.T) {
	url := testnats.URL(t)
	caps := func(o *Options) { o.MaxPendingPerIP, o.LoginTimeout = 2, time.Second }
	a := startNodeWith(t, url, "node-a", caps)
	b := startNodeWith(t, url, "node-b", caps)
	waitFor(t, "node-b hears node-a", b.s.leaderNear)
	first := mustDial(t, a.s, "127.0.0.7")
	second := mustDial(t, b.s, "127.0.0.7") // tunnelled: counted on node-a
	waitFor(t, "node-a counts the tunnelled socket", func() bool {
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		return a.s.pendingByAddr["127.0.0.7"] == 2
	})
	third := mustDial(t, b.s, "127.0.0.7") // the follower upgrades; node-a refuses it
	if code := third.closeCode(); code != websocket.CloseTryAgainLater {
		t.Errorf("third socket from one address closed with %d, want %d", code, websocket.CloseTryAgainLater)
	}
	for _, c := range []*client{first, second} {
		if code := c.closeCode(); code != proto.CloseLoginTimeout {
			t.Errorf("socket that never logged in closed with %d, want %d", code, proto.CloseLoginTimeout)
		}
	}
	waitFor(t, "node-a's caps freed", func() bool {
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		return a.s.pendingTotal == 0 && len(a.s.pendingByAddr) == 0
	})
	login(t, b.s, "alice") // the address may dial again
}

// TestClusterStalledNodeFiresNoTimer: the serving node stalls (its lease
// refresh stops, and its clock with it, as under SIGSTOP) while an
// invitation rings; another node takes the state over. When the stalled
// node's timer comes due after that, it must not fire: the timeout
// reaches alice and bob once, from the new node, after they resume there.
func TestClusterStalledNodeFiresNoTimer(t *testing.T) {
	url := testnats.URL(t)
	var stall atomic.Bool
	release := make(chan struct{})
	clk := newFakeClock() // node-a's timers run only when the test says
	a := startNodeStore(t, store.Config{NodeName: "node-a", URLs: []string{url}, Cluster: true,
		BeforeRefresh: func(ctx context.Context) {
			if stall.Load() {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
		}}, func(o *Options) { o.Clock = clk })
	b := startNode(t, url, "node-b")
	waitFor(t, "node-b hears node-a", b.s.leaderNear)
	alice := login(t, a.s, "alice")
	bob := login(t, a.s, "bob")
	rep := alice.invite(proto.InviteRequest{Invitees: []string{"bob"}, CallType: proto.CallTypeAudio, Timeout: 3})
	bob.expect(proto.TypeInvited, nil)

	stall.Store(true)
	waitFor(t, "node-b takes the stalled node's lease", b.s.serving)
	if !a.s.serving() {
		t.Fatal("node-a noticed the takeover while stalled: the test needs it not to")
	}
	// node-a's clock catches up: the invitation's timer comes due there.
	fired := make(chan struct{})
	go func() {
		clk.Advance(4 * time.Second)
		close(fired)
	}()
	isTimeout := func(f proto.Frame) bool { return f.Type == proto.TypeInviteTimeout }
	for _, c := range []*client{alice, bob} {
		if f, ok := c.take(time.Second, isTimeout); ok {
			t.Fatalf("%s got a timeout from the stalled node: %s", c.user, f.Body)
		}
	}
	close(release) // node-a's next refresh finds node-b's lease
	select {
	case <-a.s.Lost():
	case <-time.After(patience):
		t.Fatal("node-a did not notice it lost the lease")
	}
	select {
	case <-fired:
	case <-time.After(patience):
		t.Fatal("node-a's timer still waits after it lost the lease")
	}
	a.stop() // `serve` exits on Lost
	alice.closeCode()
	bob.closeCode()
	for _, c := range []*client{alice, bob} {
		if f, ok := c.take(0, isTimeout); ok {
			t.Fatalf("%s got a timeout from the stalled node: %s", c.user, f.Body)
		}
	}
	a2, lr := resume(t, b.s, alice)
	if lr.Room == nil || lr.Room.RoomID != rep.RoomID {
		t.Fatalf("alice's resume on node-b: room %+v, want call %d", lr.Room, rep.RoomID)
	}
	b2, _ := resume(t, b.s, bob)
	var to proto.InviteEnd
	a2.expect(proto.TypeInviteTimeout, &to)
	if to.InviteID != rep.InviteID {
		t.Errorf("alice's inviteTimeout %+v, want invitation %s", to, rep.InviteID)
	}
	b2.expect(proto.TypeInviteTimeout, nil)
	a2.expect(proto.TypeCallEnded, nil)
	a2.expectNone(proto.TypeInviteTimeout)
	b2.expectNone(proto.TypeInviteTimeout)
}

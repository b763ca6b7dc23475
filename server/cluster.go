package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/termcall/termcall/server/proto"
)

// Cluster links this node to the other `serve` nodes of one state
// (store.Store opened with Cluster). One node at a time holds the state's
// lease and serves: it runs the state machine and every timer. The others
// hold their clients' websockets and carry the frames to and from it over
// NATS (tunnel.go on their side, remote.go on the serving node's), so the
// state machine sees every client as a connection of its own and nothing
// in it assumes one process. When the serving node dies its lease runs out,
// another node takes it and restores the state from JetStream, as a
// restarted node would, and clients fail over and resume there.
type Cluster interface {
	Conn() *nats.Conn
	Node() string
	Leader() bool
	// Fresh reports whether this node's lease was refreshed recently
	// enough, by its monotonic clock, that no other node can hold it.
	Fresh() bool
	WatchLeader(fn func(leader bool))
}

// The cluster's NATS subjects and headers.
const (
	subjIn        = "termcall.in"   // client frames to the serving node
	subjOutPrefix = "termcall.out." // + NODE.CONN: frames to a client's node
	subjBeat      = "termcall.beat" // every node, every beatEvery

	hdrOp     = "Tc-Op" // tunOpen, tunFrame, tunClose
	hdrNode   = "Tc-Node"
	hdrConn   = "Tc-Conn"
	hdrAddr   = "Tc-Addr"  // the client's address, for admission
	hdrQuery  = "Tc-Query" // its dial's query: resume parameters
	hdrLeader = "Tc-Leader"

	tunOpen  = "open"
	tunFrame = "frame"
	tunClose = "close"

	beatEvery = 500 * time.Millisecond
	// A node silent for this long is gone: the serving node drops its
	// clients' connections (their sessions enter their grace), the others
	// stop tunnelling to a serving node that no longer beats.
	beatLost = 2500 * time.Millisecond

	// How often a node whose lease is not fresh looks again before it
	// lets a timer fire or a frame in.
	leasePoll = 20 * time.Millisecond
)

// clusterState is this node's view of the others; guarded by its mu.
type clusterState struct {
	mu         sync.Mutex
	serving    bool                     // this node holds the lease and serves
	lost       bool                     // it held the lease and lost it: it serves no more
	dropAll    atomic.Bool              // lost, for awaitLease without the lock
	leaderName string                   // the serving node, from its beats
	leaderSeen time.Time                // its last beat
	nodeSeen   map[string]time.Time     // on the serving node: each node's last beat
	remotes    map[string]*remoteSocket // on the serving node: NODE/CONN -> socket
	tunnels    map[string]*tunnel       // this node's clients while another serves, by id
	inSub      *nats.Subscription
	outSub     *nats.Subscription // termcall.out.NODE.*: frames for this node's tunnels
	beatSub    *nats.Subscription
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
	// Lost is closed when this node loses the lease it served with: its
	// state may be served by another node now, so it must stop.
	lostCh chan struct{}
}

// Lost is closed when this node has lost the lease it served the state
// with (nil without a cluster). `serve` exits then: another node serves.
func (s *Server) Lost() <-chan struct{} {
	if s.cl == nil {
		return nil
	}
	return s.cl.lostCh
}

// startCluster joins the cluster: beats, the others' beats, and serving if
// this node holds the lease. Called by Start before it listens.
func (s *Server) startCluster() error {
	cl := s.opts.Cluster
	st := &clusterState{
		nodeSeen: make(map[string]time.Time),
		remotes:  make(map[string]*remoteSocket),
		tunnels:  make(map[string]*tunnel),
		stop:     make(chan struct{}),
		lostCh:   make(chan struct{}),
	}
	s.cl = st
	sub, err := cl.Conn().Subscribe(subjBeat, s.onBeat)
	if err != nil {
		return err
	}
	st.beatSub = sub
	// One subscription for every tunnel of this node (a subscription each
	// cost a nats.go goroutine per client).
	out, err := cl.Conn().Subscribe(subjOutPrefix+cl.Node()+".*", s.toTunnel)
	if err != nil {
		_ = sub.Unsubscribe()
		return err
	}
	st.outSub = out
	st.wg.Add(1)
	go s.beatLoop()
	cl.WatchLeader(func(leader bool) {
		if leader {
			s.becomeServing()
		} else {
			s.loseServing()
		}
	})
	if cl.Leader() {
		s.becomeServing()
	} else {
		s.log.Info("following: another node serves the state")
	}
	return nil
}

// toTunnel hands a frame from the serving node to the tunnel it names
// (termcall.out.NODE.CONN); one that has gone drops it.
func (s *Server) toTunnel(m *nats.Msg) {
	id := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	s.cl.mu.Lock()
	t := s.cl.tunnels[id]
	s.cl.mu.Unlock()
	if t != nil {
		t.fromServing(m)
	}
}

// serving reports whether this node runs the state machine: always
// without a cluster.
func (s *Server) serving() bool {
	if s.cl == nil {
		return true
	}
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	return s.cl.serving
}

func (s *Server) becomeServing() {
	st := s.cl
	st.mu.Lock()
	if st.serving || st.lost {
		st.mu.Unlock()
		return
	}
	tunnels := make([]*tunnel, 0, len(st.tunnels))
	for _, t := range st.tunnels {
		tunnels = append(tunnels, t)
	}
	st.mu.Unlock()
	// Its clients come back to it directly and resume against the state
	// it is about to load.
	for _, t := range tunnels {
		t.closeClient(websocket.CloseGoingAway, "serving node changed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	err := s.restore(ctx)
	cancel()
	if err != nil {
		s.log.Error("cannot serve: state not restored", "err", err)
		s.loseServing()
		return
	}
	sub, err := s.opts.Cluster.Conn().Subscribe(subjIn, s.onRemote)
	if err != nil {
		s.log.Error("cannot serve: subscribe", "err", err)
		s.loseServing()
		return
	}
	st.mu.Lock()
	st.serving, st.inSub = true, sub
	st.mu.Unlock()
	s.log.Info("serving the state")
}

// loseServing stops a node that served and lost its lease: another node may
// serve the state by now, and two must never run it at once. It takes no
// more frames from other nodes, and its timers and its own clients'
// frames are dropped from now on (awaitLease).
func (s *Server) loseServing() {
	st := s.cl
	st.mu.Lock()
	was := st.serving
	st.serving = false
	if was && !st.lost {
		st.lost = true
		st.dropAll.Store(true)
		close(st.lostCh)
	}
	in := st.inSub
	st.inSub = nil
	st.mu.Unlock()
	if in != nil {
		_ = in.Unsubscribe()
	}
	if was {
		s.log.Error("lost the state's lease: this node stops serving")
	}
}

// fenced: a state write was refused because another node has taken the
// lease. This node has lost it, whatever its own refresh says yet.
func (s *Server) fenced(err error) {
	s.log.Error("state write fenced off", "err", err)
	if s.cl != nil {
		s.loseServing()
	}
}

// awaitLease reports whether this node may act on the state now: always
// without a cluster; in one, once its lease is fresh (Cluster.Fresh). A
// node that stalled past the lease's TTL may have been replaced meanwhile:
// its overdue timers and waiting frames hold here until its next refresh
// either renews the lease or finds it gone (then they are dropped). A
// check, not a fence: Publish's fence covers what it leaves (docs).
func (s *Server) awaitLease() bool {
	st := s.cl
	if st == nil {
		return true
	}
	for {
		if st.dropAll.Load() {
			return false
		}
		if s.opts.Cluster.Fresh() {
			return true
		}
		if s.isClosed() {
			return false
		}
		time.Sleep(leasePoll)
	}
}

func (s *Server) beatLoop() {
	st := s.cl
	defer st.wg.Done()
	nc, node := s.opts.Cluster.Conn(), s.opts.Cluster.Node()
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		m := nats.NewMsg(subjBeat)
		m.Header.Set(hdrNode, node)
		if s.serving() {
			m.Header.Set(hdrLeader, "1")
		}
		_ = nc.PublishMsg(m) // a lost beat is covered by the next
		s.sweepNodes()
		select {
		case <-st.stop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) onBeat(m *nats.Msg) {
	st, node, now := s.cl, m.Header.Get(hdrNode), time.Now()
	if node == "" {
		return
	}
	st.mu.Lock()
	st.nodeSeen[node] = now
	if m.Header.Get(hdrLeader) == "1" {
		st.leaderName, st.leaderSeen = node, now
	}
	st.mu.Unlock()
}

// leaderNear reports whether a serving node beats: only then can this
// node tunnel a client to it.
func (s *Server) leaderNear() bool {
	st := s.cl
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.leaderName != "" && time.Since(st.leaderSeen) < beatLost
}

// sweepNodes drops what hangs on nodes that stopped beating: on the serving
// node the connections of a dead node's clients, elsewhere the tunnels to
// a dead serving node (their clients redial and find the next one).
func (s *Server) sweepNodes() {
	st, now := s.cl, time.Now()
	var gone []*remoteSocket
	var tunnels []*tunnel
	st.mu.Lock()
	if st.serving {
		for _, r := range st.remotes {
			if seen, ok := st.nodeSeen[r.node]; !ok || now.Sub(seen) > beatLost {
				if now.Sub(r.opened) > beatLost { // a new node's first beat may still be on its way
					gone = append(gone, r)
				}
			}
		}
	} else if st.leaderName == "" || now.Sub(st.leaderSeen) > beatLost {
		for _, t := range st.tunnels {
			tunnels = append(tunnels, t)
		}
	}
	st.mu.Unlock()
	for _, r := range gone {
		r.peerGone()
	}
	for _, t := range tunnels {
		t.closeClient(websocket.CloseGoingAway, "the serving node is gone")
	}
}

// onRemote takes a frame of another node's client (serving node only).
// NATS runs it for one message at a time, in the order each node sent them.
func (s *Server) onRemote(m *nats.Msg) {
	node, id := m.Header.Get(hdrNode), m.Header.Get(hdrConn)
	if node == "" || id == "" || !s.awaitLease() {
		return
	}
	key := node + "/" + id
	st := s.cl
	st.mu.Lock()
	r := st.remotes[key]
	st.mu.Unlock()
	switch m.Header.Get(hdrOp) {
	case tunOpen:
		if r != nil {
			return
		}
		r = newRemoteSocket(s, node, id)
		st.mu.Lock()
		st.remotes[key] = r
		st.mu.Unlock()
		if !s.serveRemote(r, m.Header.Get(hdrAddr), m.Header.Get(hdrQuery)) {
			r.Close()
		}
	case tunFrame:
		if r == nil {
			// A connection this node does not know (it served before this
			// node did): the client must reconnect.
			newRemoteSocket(s, node, id).sendClose(websocket.CloseGoingAway, "serving node changed")
			return
		}
		r.deliver(m.Data)
	case tunClose:
		if r != nil {
			r.peerGone()
		}
	}
}

// serveRemote runs a connection for a client on another node, as serveWS
// does for a local one; the admission caps count it here, so they hold
// for the whole cluster.
func (s *Server) serveRemote(r *remoteSocket, addr, query string) bool {
	c := newConn(s, r)
	superseded, refusal := s.admit(c, &http.Request{RemoteAddr: addr, URL: &url.URL{RawQuery: query}})
	if refusal != "" {
		s.log.Debug("connection refused", "node", r.node, "remote", addr, "reason", refusal)
		r.sendClose(websocket.CloseTryAgainLater, refusal)
		return false
	}
	closeSuperseded(superseded)
	s.mu.Lock()
	if s.closed {
		s.releaseLocked(c)
		s.mu.Unlock()
		return false
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(2) // the reader, and the writing until finish
	c.loginTimer = s.afterFunc(s.opts.LoginTimeout, func() { s.loginExpired(c) })
	s.mu.Unlock()
	c.out.attach(r) // a remote socket: the holding node pings its client
	s.log.Debug("connected through node", "node", r.node, "remote", addr)
	go c.readLoop()
	return true
}

// stopCluster leaves the cluster at shutdown.
func (s *Server) stopCluster() {
	st := s.cl
	if st == nil {
		return
	}
	st.mu.Lock()
	tunnels := make([]*tunnel, 0, len(st.tunnels))
	for _, t := range st.tunnels {
		tunnels = append(tunnels, t)
	}
	remotes := make([]*remoteSocket, 0, len(st.remotes))
	for _, r := range st.remotes {
		remotes = append(remotes, r)
	}
	in, beat, out := st.inSub, st.beatSub, st.outSub
	st.mu.Unlock()
	st.stopOnce.Do(func() { close(st.stop) })
	st.wg.Wait()
	if in != nil {
		_ = in.Unsubscribe()
	}
	if beat != nil {
		_ = beat.Unsubscribe()
	}
	for _, t := range tunnels {
		t.closeClient(websocket.CloseGoingAway, proto.ReasonShutdown)
	}
	if out != nil {
		_ = out.Unsubscribe()
	}
	for _, r := range remotes {
		r.sendClose(websocket.CloseGoingAway, proto.ReasonShutdown)
		r.peerGone()
	}
}

// refuseNoLeader answers a client while no node serves the state.
func refuseNoLeader(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "no node serves the state right now; retry", http.StatusServiceUnavailable)
}

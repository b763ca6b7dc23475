// Package server is termcall's signaling server: it logs clients in with
// TLSSigAPIv2 userSigs, runs invitations and their timers, tracks who is in
// which call and relays WebRTC negotiation between members of a call.
// docs/protocol.md is the contract it implements.
//
// All call and session state lives in one Server under one mutex (s.mu).
// Every change runs as a transaction (tx.go) that collects the frames it
// produces; they are handed to connections after the state lock is released,
// in the order the changes happened.
//
// Connections that have not logged in yet are bounded by a login deadline
// and caps, with a reserve for reconnects of live sessions (admit.go).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/relay"
	"github.com/termcall/termcall/server/routing"
)

// Server is a signaling server. Create it with New.
type Server struct {
	opts     Options
	log      *slog.Logger
	router   routing.Router
	upgrader websocket.Upgrader
	// polledUpgrader is for sockets the poller reads: gorilla never reads
	// them, so their read buffer is the smallest it takes (1 KiB a user
	// less).
	polledUpgrader websocket.Upgrader
	handlers       map[string]handler
	clock          Clock       // the one clock for timers, durations and userSig expiry
	tls            *tls.Config // nil: plain ws://

	// outMu orders deliveries: a transaction takes it before releasing mu,
	// so frames leave in the order the state changed (tx.go).
	outMu sync.Mutex
	// lastTurn is closed once the last transaction in the delivery line
	// has delivered; guarded by outMu.
	lastTurn chan struct{}

	mu        sync.Mutex
	closed    bool
	started   bool
	restored  bool          // Start has loaded Options.State
	cl        *clusterState // nil without Options.Cluster
	listener  net.Listener
	httpSrv   *http.Server
	turn      *relay.Server // nil without Options.TURN
	conns     map[*conn]struct{}
	sessions  map[string]*session            // userID -> session
	ringing   map[string]*invite             // userID -> the open invitation ringing for them
	inRoom    map[string]*room               // userID -> the call they are a member of
	rooms     map[uint32]*room               // roomID -> call
	invites   map[string]*invite             // inviteID -> open invitation
	watching  map[string][]string            // watcher -> watched users
	watchers  map[string]map[string]struct{} // watched user -> watchers
	published map[string]proto.Presence      // last presence pushed per user (absent = offline)
	inviteSeq uint64                         // invitations created so far (invite.seq)

	// Connections not logged in yet (admit.go).
	pendingTotal  int
	pendingByAddr map[string]int     // addrKey -> connections in poolPending
	reserveUsed   int                // connections in poolReserve, superseded ones included
	reserved      map[*session]*conn // the newest reserve connection of each session
	// openConns counts the sockets Start's listener has accepted and not
	// closed yet (fdlimit.go), HTTP and websocket alike.
	openConns atomic.Int64

	pings    *pingWheel     // pings every connection (ping.go)
	frames   chan *frameJob // to the frame workers (workers.go)
	quit     chan struct{}  // closed when the connections are gone: the workers end
	quitOnce sync.Once
	workOnce sync.Once // starts the workers with the first frame
	workerWG sync.WaitGroup
	connWG   sync.WaitGroup // reader and writer goroutines
	timerWG  sync.WaitGroup // timer callbacks in flight
	serveWG  sync.WaitGroup // the HTTP serve loop
	poll     *poller        // reads idle plain sockets; guarded by mu

	storeDeadline sharedDeadline // bounds the waits for the store (durable.go)
}

// New validates opts, fills in defaults and returns a server that is not
// listening yet.
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := opts.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts.setBaseline()
	s := &Server{
		tls:       tlsCfg,
		opts:      opts,
		log:       opts.Logger,
		router:    routing.NewLocal(),
		clock:     opts.Clock,
		conns:     make(map[*conn]struct{}),
		sessions:  make(map[string]*session),
		ringing:   make(map[string]*invite),
		inRoom:    make(map[string]*room),
		rooms:     make(map[uint32]*room),
		invites:   make(map[string]*invite),
		watching:  make(map[string][]string),
		watchers:  make(map[string]map[string]struct{}),
		published: make(map[string]proto.Presence),

		pings:         newPingWheel(opts.PingInterval),
		lastTurn:      closedTurn(),
		frames:        make(chan *frameJob),
		quit:          make(chan struct{}),
		pendingByAddr: make(map[string]int),
		reserved:      make(map[*session]*conn),
	}
	s.upgrader = websocket.Upgrader{
		// Frames are small JSON: a 1 KiB read buffer serves them (larger
		// ones are read through it), and a write buffer is taken from the
		// pool only while a frame is written, so an idle connection holds
		// none (issue 14).
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &sync.Pool{},
		// Clients are terminal programs, not browsers, and authenticate
		// with a userSig; the Origin header carries no trust here.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.polledUpgrader = s.upgrader
	s.polledUpgrader.ReadBufferSize = polledReadBufferSize
	s.handlers = s.handlerTable()
	return s, nil
}

// Start restores the stored state (Options.State), listens on
// Options.Addr and serves in the background. It returns once the listener
// is open.
func (s *Server) Start() error {
	s.mu.Lock()
	first := !s.started && !s.closed && !s.restored
	s.restored = true
	s.mu.Unlock()
	switch {
	case !first:
	case s.opts.Cluster != nil:
		// Restores the state if and when this node serves it.
		if err := s.startCluster(); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	case s.opts.State != nil:
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := s.restore(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.started {
		return ErrAlreadyStarted
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Addr, err)
	}
	if s.opts.TURN != nil {
		cfg := *s.opts.TURN
		if cfg.Now == nil {
			cfg.Now = s.clock.Now // credentials expire on the clock userSigs do
		}
		if cfg.Logger == nil {
			cfg.Logger = s.log.With("component", "turn")
		}
		if cfg.LoggedIn == nil {
			cfg.LoggedIn = s.hasSession
		}
		if cfg.WantTLS && cfg.TLS == nil {
			if s.tls == nil {
				_ = ln.Close()
				return fmt.Errorf("turn: turns: needs the server's certificate (--tls-cert, --tls-key)")
			}
			cfg.TLS = s.tls
		}
		ts, err := relay.Start(cfg)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("turn: %w", err)
		}
		s.turn = ts
	}
	// Counted below TLS: a handshake in progress holds an fd too.
	ln = &countingListener{Listener: ln, open: &s.openConns, hardCap: s.opts.hardCap(), log: s.log}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.started = true
	s.listener = ln
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Idle keep-alive connections (web page loads) hold fds that
		// MaxConns counts: let them go.
		IdleTimeout: 2 * time.Minute,
		// Failed TLS handshakes (a client that does not trust the
		// certificate) go to the server's log, not to the process's stderr.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	// The server's own goroutines run from now on, not from the first
	// connection (a Handler mounted elsewhere starts them then).
	s.pings.start()
	s.workOnce.Do(s.startWorkers)
	s.startPollerLocked()
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	s.log.Info("listening", "url", s.urlLocked(), "max_conns", s.opts.MaxConns, "max_pending", s.opts.MaxPending)
	return nil
}

// URL is the websocket URL clients dial, e.g. "ws://127.0.0.1:7788/ws"
// (wss:// with TLS).
// It is empty before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlLocked()
}

func (s *Server) urlLocked() string {
	if s.listener == nil {
		return ""
	}
	scheme := "ws://"
	if s.tls != nil {
		scheme = "wss://"
	}
	return scheme + s.listener.Addr().String() + "/ws"
}

// Handler serves the websocket endpoint at /ws, /healthz, and Options.Web
// at every other path. Use it to mount the server
// on an http.Server of your own instead of calling Start.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/healthz", s.serveHealth)
	if s.opts.Web != nil {
		mux.Handle("/", s.opts.Web)
	}
	return mux
}

// serveHealth answers 200 when the server can keep what it is told: its
// state store (if any) is connected and holds this node's lease; 503
// otherwise. Load balancers and orchestrators poll it.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.cl != nil && !s.serving() && !s.leaderNear() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, "not ready: no node serves the state")
		return
	}
	if st := s.opts.State; st != nil && !st.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, "not ready: the state store (NATS JetStream) is not available")
		return
	}
	_, _ = fmt.Fprintln(w, "ok")
}

// Shutdown stops listening, closes every connection with a close frame,
// stops all timers and waits for the server's goroutines to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	for _, inv := range s.invites {
		inv.stopTimer()
	}
	for _, sess := range s.sessions {
		sess.stopGrace()
	}
	httpSrv := s.httpSrv
	ts := s.turn
	s.mu.Unlock()
	s.stopCluster()

	var errs []error
	if ts != nil {
		// First, so that no relay outlives the signaling it was handed out by.
		if err := ts.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if httpSrv != nil {
		if err := httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, proto.ReasonShutdown)
	}
	done := make(chan struct{})
	go func() {
		s.serveWG.Wait()
		s.connWG.Wait()
		s.pings.stop()
		s.mu.Lock()
		poll := s.poll
		s.mu.Unlock()
		if poll != nil {
			poll.close() // no connection is in it any more
		}
		s.quitOnce.Do(func() { close(s.quit) })
		s.workerWG.Wait()
		s.timerWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Peers that do not answer the close frame: cut them off.
		for _, c := range conns {
			c.forceClose()
		}
		<-done
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// serveWS admits one HTTP request (admit.go), upgrades it and runs the
// connection until it ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.serving() {
		s.serveTunnel(w, r) // another node serves the state
		return
	}
	c := newConn(s, nil)
	if websocket.IsWebSocketUpgrade(r) {
		superseded, refusal := s.admit(c, r)
		if refusal != "" {
			s.log.Debug("connection refused", "remote", r.RemoteAddr, "reason", refusal)
			refuse(w, refusal)
			return
		}
		closeSuperseded(superseded)
	}
	upgrader := &s.upgrader
	s.mu.Lock()
	s.startPollerLocked() // a Handler mounted elsewhere: from its first connection
	if s.poll != nil {
		upgrader = &s.polledUpgrader
	}
	s.mu.Unlock()
	// Not an upgrade request: the upgrader answers it with an error.
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.release(c)
		s.log.Debug("upgrade", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered the request
	}
	c.ws = ws
	s.mu.Lock()
	if s.closed {
		s.releaseLocked(c)
		s.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, proto.ReasonShutdown), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	poll := s.poll
	s.conns[c] = struct{}{}
	s.connWG.Add(2) // the reader, and the writing until finish
	c.loginTimer = s.afterFunc(s.opts.LoginTimeout, func() { s.loginExpired(c) })
	reserve := c.pool == poolReserve
	s.mu.Unlock()
	c.out.attach(ws)
	s.pings.add(&c.out)
	s.log.Debug("connected", "remote", r.RemoteAddr, "reserve", reserve)
	// The handler returns: net/http's goroutine, its request and its
	// buffers go. The poller reads the socket when it has bytes, or else
	// the reader starts on a small stack of its own.
	if poll != nil && poll.add(c, ws.NetConn()) {
		return
	}
	go c.readLoop()
}

// startPollerLocked makes the poller that reads plain sockets (TLS ones
// have a reader each). It is retried while it fails; until then
// connections have reader goroutines.
func (s *Server) startPollerLocked() {
	if s.poll != nil || s.tls != nil {
		return
	}
	var err error
	if s.poll, err = newPoller(s.opts.PongWait, s.log); err != nil {
		s.log.Debug("no poller: a reader goroutine per connection", "err", err)
	}
}

func closedTurn() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

func (s *Server) now() time.Time { return s.clock.Now() }

// afterFunc runs fn after d on the server's clock unless the server has
// shut down by then. Shutdown waits for callbacks already running.
func (s *Server) afterFunc(d time.Duration, fn func()) Timer {
	return s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.timerWG.Add(1)
		s.mu.Unlock()
		defer s.timerWG.Done()
		defer func() {
			if r := recover(); r != nil {
				// A last resort, as for connections: log and keep serving.
				s.log.Error("panic in timer", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		if !s.awaitLease() {
			return // another node serves the state: its timer fires
		}
		fn()
	})
}

// hasSession reports whether userID is logged in (a session in its resume
// grace counts: its client is coming back). The relay admits only them.
func (s *Server) hasSession(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[userID] != nil
}

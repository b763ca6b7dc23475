// Package signal is termcall's websocket client for the signaling protocol
// (docs/protocol.md): request/reply correlation, push delivery, answering
// server pings, and automatic reconnection with backoff.
//
// After a successful login the client names that session on every redial
// (proto.ResumeURL: ?userID=...&sessionID=...), so that a server refusing
// connections that have not logged in still admits the reconnect; a
// logout forgets it.
//
// The client may be given several servers (nodes sharing one session
// store). It dials them in order until one answers, and a redial after a
// drop tries the node it was on first, then the others in turn: see
// redial. The resume URL goes to whichever node is dialled.
//
// Each connection has exactly one reader goroutine (which also owns the
// reconnect loop) and one writer goroutine. Replies and pushes are handled
// on the reader goroutine in the order the server sent them, so a caller
// that mirrors server state from replies (ApplyFunc) and pushes (OnPush)
// sees one consistent sequence.
package signal

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// Defaults for Config fields left zero.
const (
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 3 * time.Second
	// DefaultDialTimeout bounds one dial (TCP, TLS, websocket upgrade) to
	// one server: a node that is down without refusing (unplugged, hung)
	// must not hold up the failover to the next. 3 s still leaves a TLS
	// handshake over a slow link (4 round trips of 500 ms) room to finish.
	DefaultDialTimeout = 3 * time.Second
	// DefaultReadTimeout is how long the connection may stay silent. The
	// server pings every 20 s, so 45 s means two missed pings.
	DefaultReadTimeout  = 45 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// sendQueue bounds the frames waiting for the writer of one connection.
	sendQueue = 128
)

// ApplyFunc handles a successful reply body. It runs on the reader
// goroutine, before any frame that followed the reply, and even when the
// requester stopped waiting (its ctx ended): the server applied the request,
// so the caller's mirror of server state must too. It must not block.
type ApplyFunc func(body json.RawMessage) error

// Config configures a Client.
type Config struct {
	// URL is the server's websocket address, ws://host:port/ws.
	URL string
	// URLs are several servers (nodes of one service) instead of URL:
	// set one of the two. They are dialled in order until one answers.
	URLs []string
	// ReconnectMin and ReconnectMax bound the backoff between redials,
	// which applies to a full round over the servers, not to each one.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// DialTimeout bounds one dial to one server (DefaultDialTimeout).
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound silence and one write.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Logger receives transport logs; nil discards them.
	Logger *slog.Logger
	// OnPush receives every frame that is not an answer to a pending
	// request (pushes, and error frames with id 0). It runs on the reader
	// goroutine and must not block.
	OnPush func(proto.Frame)
	// OnReconnect runs on its own goroutine after a redial succeeded and
	// before the connection accepts ordinary requests; it typically logs in
	// again through conn. Returning an error drops the connection and the
	// client redials after a backoff. ctx ends when the connection drops.
	OnReconnect func(ctx context.Context, conn *Conn) error
	// OnDisconnect runs on the reader goroutine when a connection is lost
	// (not after Close). It must not block.
	OnDisconnect func(err error)
	// Header is sent with the websocket handshake.
	Header http.Header
	// TLS configures wss:// dials, the first and every redial alike; nil
	// verifies against the system roots.
	TLS *tls.Config
}

// Client is a signaling connection that redials when it drops.
type Client struct {
	cfg    Config
	urls   []string // cfg.URL or cfg.URLs
	log    *slog.Logger
	dialer websocket.Dialer

	closing chan struct{} // closed by Close
	// life ends at Close; it bounds redials. Kept in the struct because
	// the client's lifetime is Close, not any caller's ctx.
	life      context.Context
	endLife   context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	cur     *connState // nil while disconnected
	ready   bool       // cur accepts ordinary requests
	nextID  uint64
	resumed int // reconnects whose resume hook succeeded
	at      int // index in urls of the current (or last) connection
	// The session of the last successful login, named in redial URLs.
	sessUser, sessID string
}

// connState is one websocket connection and its pending requests.
type connState struct {
	ws      *websocket.Conn
	out     chan []byte
	done    chan struct{} // closed when the connection is torn down
	pending map[uint64]*pending
	// ctx ends with the connection; it bounds the resume hook.
	ctx    context.Context
	cancel context.CancelFunc
	// refused: the resume hook failed while the connection was up (the
	// node answered but would not resume). Guarded by Client.mu.
	refused bool
	// resumed is closed when the resume hook has succeeded: requests
	// made meanwhile wait for it.
	resumed chan struct{}
}

type pending struct {
	typ    string
	apply  ApplyFunc
	result chan error // buffered 1
}

// Conn is a handle on one connection, given to OnReconnect so that it can
// send requests before the connection is opened to everyone else.
type Conn struct {
	c  *Client
	cs *connState
}

// Request sends a request on this connection only.
func (h *Conn) Request(ctx context.Context, typ string, body any, apply ApplyFunc) error {
	return h.c.request(ctx, h.cs, typ, body, apply)
}

// Dial connects to cfg.URL (or the first of cfg.URLs that answers) and
// starts the client's goroutines. The first connection is not retried:
// when no server answers, the error says why for each.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	urls := cfg.URLs
	switch {
	case cfg.URL != "" && len(urls) > 0:
		return nil, fmt.Errorf("%w: both URL and URLs", ErrBadConfig)
	case cfg.URL != "":
		urls = []string{cfg.URL}
	case len(urls) == 0:
		return nil, fmt.Errorf("%w: no server URL", ErrBadConfig)
	}
	for i, u := range urls {
		if u == "" {
			return nil, fmt.Errorf("%w: server URL %d of %d is empty", ErrBadConfig, i+1, len(urls))
		}
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:  cfg,
		urls: slices.Clone(urls),
		log:  log,
		// HandshakeTimeout bounds the TCP connect too: gorilla applies it
		// to the whole DialContext.
		dialer:  websocket.Dialer{HandshakeTimeout: cfg.DialTimeout, TLSClientConfig: cfg.TLS},
		closing: make(chan struct{}),
	}
	c.life, c.endLife = context.WithCancel(context.Background())
	ws, at, err := c.dialRound(ctx, 0)
	if err != nil {
		c.endLife()
		return nil, err
	}
	c.log.Info("signaling connected", "server", c.urls[at])
	c.at = at
	cs := c.install(ws, false)
	c.wg.Add(1)
	go c.run(cs)
	return c, nil
}

// dialRound tries each server once, starting at index from and going
// round the list; it returns the first connection made and its index, or
// every server's error.
func (c *Client) dialRound(ctx context.Context, from int) (*websocket.Conn, int, error) {
	var errs dialErrors
	for k := range c.urls {
		i := (from + k) % len(c.urls)
		c.log.Debug("dialing signaling server", "server", c.urls[i])
		ws, err := c.dial(ctx, c.urls[i])
		if err == nil {
			return ws, i, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break // closed or given up: the other servers need not be tried
		}
		if len(c.urls) > 1 {
			c.log.Debug("signaling server did not answer", "server", c.urls[i], "err", err)
		}
	}
	if len(errs) == 1 {
		return nil, -1, errs[0]
	}
	return nil, -1, errs
}

// dialErrors are the failed dials of one round, one per server; errors.Is
// and errors.As see each (ErrUntrustedCert, say).
type dialErrors []error

func (e dialErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	// On one line, unlike errors.Join: it ends up in one log or ERROR line.
	return "no server answered: " + strings.Join(msgs, "; ")
}

func (e dialErrors) Unwrap() []error { return e }

// dial connects to the server at base, naming the session to resume.
func (c *Client) dial(ctx context.Context, base string) (*websocket.Conn, error) {
	u := base
	c.mu.Lock()
	user, sid := c.sessUser, c.sessID
	c.mu.Unlock()
	if sid != "" {
		ru, err := proto.ResumeURL(u, user, sid)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", base, err)
		}
		u = ru
	}
	ws, resp, err := c.dialer.DialContext(ctx, u, c.cfg.Header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		// Say so plainly: an x509 error alone does not tell the user it is
		// a matter of trust they can fix.
		if certErr, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			err = fmt.Errorf("%w: %w", ErrUntrustedCert, certErr.Err)
		}
		// base, not u: the sessionID stays out of logs.
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", base, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", base, err)
	}
	ws.SetReadLimit(proto.MaxFrameSize)
	return ws, nil
}

// run owns the connection: it serves one connection at a time and redials
// with backoff until Close.
func (c *Client) run(cs *connState) {
	defer c.wg.Done()
	reconnect := false
	for {
		err := c.serve(cs, reconnect)
		select {
		case <-c.closing:
			return
		default:
		}
		c.log.Info("signaling connection lost", "err", err)
		if c.cfg.OnDisconnect != nil {
			c.cfg.OnDisconnect(err)
		}
		c.mu.Lock()
		last, first := c.at, c.at
		if cs.refused {
			// A node that takes connections but cannot resume (say, its
			// session store is down) would hold the client forever if each
			// round started with it: start with the next one.
			first = (last + 1) % len(c.urls)
		}
		c.mu.Unlock()
		ws, at := c.redial(first)
		if ws == nil {
			return
		}
		c.mu.Lock()
		c.at = at
		c.mu.Unlock()
		if at != last {
			c.log.Warn("signaling failed over to another server", "from", c.urls[last], "to", c.urls[at])
		} else {
			c.log.Info("signaling reconnected", "server", c.urls[at])
		}
		cs = c.install(ws, true)
		reconnect = true
	}
}

// redial dials until it succeeds or the client closes (nil); it returns
// the index of the server it reached.
//
// Each round starts with server first, normally the one the client was
// on, then goes on round the list. The same server first, because most
// drops are the client's own network (a Wi-Fi change, a NAT timeout) and
// the node still holds the session: as long as nodes do not share it,
// only that node can resume the call. A node that is really dead costs
// little: it refuses the TCP connect at once, or the dial timeout
// (DialTimeout, short) ends the try. The backoff is slept between rounds,
// not between servers, so a live node further down the list is reached
// at once.
func (c *Client) redial(first int) (*websocket.Conn, int) {
	delay := c.cfg.ReconnectMin
	for {
		// Jitter in [delay/2, delay] so that many clients do not redial in step.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-c.closing:
			t.Stop()
			return nil, -1
		case <-t.C:
		}
		ws, at, err := c.dialRound(c.life, first)
		if err == nil {
			return ws, at
		}
		c.log.Debug("redial failed", "err", err, "next", delay)
		delay *= 2
		if delay > c.cfg.ReconnectMax {
			delay = c.cfg.ReconnectMax
		}
	}
}

// install makes ws the current connection. After a reconnect it accepts
// only the resume hook's requests until the hook succeeds.
func (c *Client) install(ws *websocket.Conn, reconnect bool) *connState {
	cs := &connState{
		ws:      ws,
		out:     make(chan []byte, sendQueue),
		done:    make(chan struct{}),
		pending: make(map[uint64]*pending),
		resumed: make(chan struct{}),
	}
	cs.ctx, cs.cancel = context.WithCancel(c.life)
	c.mu.Lock()
	c.cur = cs
	c.ready = !reconnect || c.cfg.OnReconnect == nil
	c.mu.Unlock()
	return cs
}

// serve runs one connection until it fails; it returns the read error.
func (c *Client) serve(cs *connState, reconnect bool) error {
	defer cs.cancel()
	ws := cs.ws
	select {
	case <-c.closing:
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		_ = ws.Close()
		return ErrClosed
	default:
	}

	var local sync.WaitGroup
	local.Add(1)
	go func() {
		defer local.Done()
		c.writeLoop(cs)
	}()
	if reconnect && c.cfg.OnReconnect != nil {
		local.Add(1)
		go func() {
			defer local.Done()
			c.resume(cs)
		}()
	}

	err := c.readLoop(cs)

	c.mu.Lock()
	close(cs.done)
	cs.cancel()
	_ = ws.Close()
	if c.cur == cs {
		c.cur = nil
		c.ready = false
	}
	for id, p := range cs.pending {
		delete(cs.pending, id)
		p.result <- ErrDisconnected
	}
	c.mu.Unlock()
	local.Wait()
	return err
}

func (c *Client) resume(cs *connState) {
	if err := c.cfg.OnReconnect(cs.ctx, &Conn{c: c, cs: cs}); err != nil {
		c.log.Warn("resume after reconnect failed", "err", err, "server", c.ServerURL())
		c.mu.Lock()
		// A hook failing because the link dropped says nothing about the
		// node: serve ends cs.ctx before it fails the pending requests.
		cs.refused = cs.ctx.Err() == nil
		c.mu.Unlock()
		_ = cs.ws.Close()
		return
	}
	c.mu.Lock()
	if c.cur == cs {
		c.ready = true
		c.resumed++
	}
	c.mu.Unlock()
	close(cs.resumed)
}

func (c *Client) writeLoop(cs *connState) {
	for {
		select {
		case <-cs.done:
			return
		case msg := <-cs.out:
			_ = cs.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
			if err := cs.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.log.Debug("write failed", "err", err)
				// Closing makes the reader fail, which tears the connection down.
				_ = cs.ws.Close()
				return
			}
		}
	}
}

func (c *Client) readLoop(cs *connState) error {
	ws := cs.ws
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout)) }
	extend()
	ws.SetPingHandler(func(data string) error {
		extend()
		// A failed pong is not fatal here: a dead link surfaces as a read error.
		_ = ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.cfg.WriteTimeout))
		return nil
	})
	ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		extend()
		if mt != websocket.TextMessage {
			c.log.Warn("ignoring non-text message", "type", mt)
			continue
		}
		f, err := proto.Decode(data)
		if err != nil {
			c.log.Warn("ignoring bad frame", "err", err)
			continue
		}
		c.handle(cs, f)
	}
}

func (c *Client) handle(cs *connState, f proto.Frame) {
	if f.ID != 0 && (f.Type == proto.TypeReply || f.Type == proto.TypeError) {
		c.mu.Lock()
		p := cs.pending[f.ID]
		delete(cs.pending, f.ID)
		c.mu.Unlock()
		if p == nil {
			c.log.Warn("answer to unknown request", "id", f.ID, "type", f.Type)
			return
		}
		var err error
		if f.Type == proto.TypeError {
			perr := &proto.Error{}
			if derr := proto.DecodeBody(f, perr); derr != nil {
				err = derr
			} else {
				err = perr
			}
		} else {
			c.noteSession(p.typ, f.Body)
			if p.apply != nil {
				err = p.apply(f.Body)
			}
		}
		p.result <- err
		return
	}
	if c.cfg.OnPush != nil {
		c.cfg.OnPush(f)
	}
}

// noteSession remembers the session a successful login names, for the
// redial URL, and forgets it at logout.
func (c *Client) noteSession(typ string, body json.RawMessage) {
	var user, sid string
	switch typ {
	case proto.TypeLogin:
		var rep proto.LoginReply
		if err := json.Unmarshal(body, &rep); err != nil || !proto.ValidUserID(rep.UserID) || rep.SessionID == "" {
			return
		}
		user, sid = rep.UserID, rep.SessionID
	case proto.TypeLogout:
	default:
		return
	}
	c.mu.Lock()
	c.sessUser, c.sessID = user, sid
	c.mu.Unlock()
}

// Request sends a request and waits for its answer. A reply body is passed
// to apply (which may be nil); an error frame comes back as *proto.Error.
// While the connection is down it fails at once with ErrNotConnected. While
// a reconnect is resuming it waits for the resume (an invitation pushed in
// that window can be answered at once), and fails with ErrNotConnected if
// the resume does. If ctx ends first it returns ctx's error, but apply
// still runs if the reply arrives later.
func (c *Client) Request(ctx context.Context, typ string, body any, apply ApplyFunc) error {
	return c.request(ctx, nil, typ, body, apply)
}

func (c *Client) request(ctx context.Context, want *connState, typ string, body any, apply ApplyFunc) error {
	c.mu.Lock()
	select {
	case <-c.closing:
		c.mu.Unlock()
		return ErrClosed
	default:
	}
	cs := c.cur
	if want == nil && cs != nil && !c.ready {
		c.mu.Unlock()
		select {
		case <-cs.resumed:
		case <-cs.done:
			return ErrNotConnected
		case <-c.closing:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
		cs = c.cur
	}
	switch {
	case want != nil && cs != want:
		c.mu.Unlock()
		return ErrStaleConn
	case want == nil && (cs == nil || !c.ready):
		c.mu.Unlock()
		return ErrNotConnected
	}
	c.nextID++
	id := c.nextID
	msg, err := proto.Encode(typ, id, body)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	p := &pending{typ: typ, apply: apply, result: make(chan error, 1)}
	cs.pending[id] = p
	c.mu.Unlock()

	select {
	case cs.out <- msg:
	case <-cs.done:
		return ErrDisconnected
	case <-ctx.Done():
		c.mu.Lock()
		delete(cs.pending, id)
		c.mu.Unlock()
		return ctx.Err()
	}
	select {
	case err := <-p.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Notify sends a frame with id 0: the server answers only with an error
// frame (delivered to OnPush) if it fails. It never blocks: a full send
// queue is an error.
func (c *Client) Notify(typ string, body any) error {
	msg, err := proto.Encode(typ, 0, body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closing:
		return ErrClosed
	default:
	}
	if c.cur == nil || !c.ready {
		return ErrNotConnected
	}
	select {
	case c.cur.out <- msg:
		return nil
	default:
		return fmt.Errorf("notify %s: send queue full: %w", typ, ErrNotConnected)
	}
}

// ServerURL is the server of the current connection, or of the last one
// while the client redials.
func (c *Client) ServerURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[c.at]
}

// Connected reports whether the client has a connection that accepts
// requests.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && c.ready
}

// Reconnects counts the reconnections that completed (resume hook done).
func (c *Client) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumed
}

// LocalAddr is the local address of the current connection (nil when
// there is none).
func (c *Client) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	return c.cur.ws.LocalAddr()
}

// DropConnection closes the current connection as if the network had
// failed; the client then reconnects. It exists for tests and for callers
// that detect a dead link on their own.
func (c *Client) DropConnection() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		_ = c.cur.ws.Close()
	}
}

// Close stops reconnecting, closes the connection and waits for every
// goroutine of the client. It is safe to call more than once, but not from
// OnPush, OnReconnect or OnDisconnect (it would wait for itself).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		close(c.closing)
		c.endLife()
		if c.cur != nil {
			ws := c.cur.ws
			// A close frame first, so the server sees a clean close; the
			// write is bounded and done under the lock to avoid racing with
			// a connection swap.
			_ = ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
				time.Now().Add(time.Second))
			_ = ws.Close()
		}
		c.mu.Unlock()
	})
	c.wg.Wait()
	c.endLife()
	return nil
}

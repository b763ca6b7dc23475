// Package signal is termcall's websocket client for the signaling protocol
// (docs/protocol.md): request/reply correlation, push delivery, answering
// server pings, and automatic reconnection with backoff.
//
// After a successful login the client names that session on every redial
// (proto.ResumeURL: ?userID=...&sessionID=...), so that a server refusing
// connections that have not logged in still admits the reconnect; a
// logout forgets it.
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
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/server/proto"
)

// Defaults for Config fields left zero.
const (
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 3 * time.Second
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
	// ReconnectMin and ReconnectMax bound the backoff between redials.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
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

// Dial connects to cfg.URL and starts the client's goroutines. The first
// connection is not retried: a failure is returned.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:     cfg,
		log:     log,
		dialer:  websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: cfg.TLS},
		closing: make(chan struct{}),
	}
	c.life, c.endLife = context.WithCancel(context.Background())
	ws, err := c.dial(ctx)
	if err != nil {
		c.endLife()
		return nil, err
	}
	cs := c.install(ws, false)
	c.wg.Add(1)
	go c.run(cs)
	return c, nil
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u := c.cfg.URL
	c.mu.Lock()
	user, sid := c.sessUser, c.sessID
	c.mu.Unlock()
	if sid != "" {
		ru, err := proto.ResumeURL(u, user, sid)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", c.cfg.URL, err)
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
		// cfg.URL, not u: the sessionID stays out of logs.
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", c.cfg.URL, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", c.cfg.URL, err)
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
		ws := c.redial()
		if ws == nil {
			return
		}
		cs = c.install(ws, true)
		reconnect = true
	}
}

// redial dials until it succeeds or the client closes (nil).
func (c *Client) redial() *websocket.Conn {
	delay := c.cfg.ReconnectMin
	for {
		// Jitter in [delay/2, delay] so that many clients do not redial in step.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-c.closing:
			t.Stop()
			return nil
		case <-t.C:
		}
		ws, err := c.dial(c.life)
		if err == nil {
			return ws
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
		c.log.Warn("resume after reconnect failed", "err", err)
		_ = cs.ws.Close()
		return
	}
	c.mu.Lock()
	if c.cur == cs {
		c.ready = true
		c.resumed++
	}
	c.mu.Unlock()
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
// While the connection is down, or a reconnect is still resuming, it fails
// at once with ErrNotConnected. If ctx ends first it returns ctx's error,
// but apply still runs if the reply arrives later.
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

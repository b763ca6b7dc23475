package callcore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/server/proto"
)

// link is one login: a signaling client and the credentials to resume.
type link struct {
	c       *signal.Client
	userID  string
	userSig string
	probing atomic.Bool // checkLink's probe is under way
}

// Login connects to the server and logs in. It returns once the server
// accepted the login; SDK_READY is emitted then.
func (e *Engine) Login(ctx context.Context, userID, userSig string) error {
	if !proto.ValidUserID(userID) || userSig == "" {
		return fmt.Errorf("%w: userID %q", ErrInvalidArgument, userID)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if e.link != nil {
		e.mu.Unlock()
		return fmt.Errorf("%w: already logged in (or logging in)", ErrWrongState)
	}
	l := &link{userID: userID, userSig: userSig}
	e.link = l
	e.wg.Add(1) // Close waits for a login under way to undo itself
	e.mu.Unlock()
	defer e.wg.Done()

	// Close aborts a dial still under way: nothing exists on the server yet.
	dctx, stopDial := context.WithCancel(ctx)
	defer stopDial()
	defer context.AfterFunc(e.life, stopDial)()
	c, err := signal.Dial(dctx, signal.Config{
		URLs:         e.servers,
		ReconnectMin: e.cfg.ReconnectMin,
		ReconnectMax: e.cfg.ReconnectMax,
		TLS:          e.cfg.TLS,
		Logger:       e.log.With("part", "signal"), // e.log has component=callcore already
		OnPush:       func(f proto.Frame) { e.handlePush(l, f) },
		OnReconnect:  func(ctx context.Context, conn *signal.Conn) error { return e.resume(ctx, l, conn) },
	})
	if err != nil {
		e.mu.Lock()
		if e.link == l {
			e.link = nil
		}
		e.mu.Unlock()
		return fmt.Errorf("login: %w", err)
	}
	e.mu.Lock()
	if e.closed || e.link != l {
		if e.link == l {
			e.link = nil
		}
		e.mu.Unlock()
		_ = c.Close()
		return fmt.Errorf("login: %w", ErrClosed)
	}
	l.c = c
	e.mu.Unlock()

	// After Close the login request still gets a moment to be answered, so
	// that a login the server accepted is undone with a logout rather than
	// left behind as a session waiting for its owner.
	rctx, stopReq := context.WithCancel(ctx)
	defer stopReq()
	defer context.AfterFunc(e.life, func() {
		t := time.NewTimer(closeGrace)
		defer t.Stop()
		select {
		case <-t.C:
			stopReq()
		case <-rctx.Done():
		}
	})()
	undo := false
	err = e.requestLogin(rctx, c, l, func(rep proto.LoginReply) error {
		if e.link != l {
			return ErrClosed
		}
		if e.closed {
			// Close did not see this login: undo it below.
			undo = true
			return nil
		}
		e.loggedIn = true
		e.userID = userID
		e.ice = rep.ICEServers
		e.emit(EventSDKReady, SDKReady{Name: "ts_im_ready", UserID: userID})
		e.startDeviceWatchLocked()
		return nil
	})
	if err != nil {
		e.mu.Lock()
		if e.link == l {
			e.link = nil
			e.loggedIn = false
		}
		e.mu.Unlock()
		_ = c.Close()
		return fmt.Errorf("login: %w", err)
	}
	if undo {
		lctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		if err := e.logoutLink(lctx, l); err != nil {
			e.log.Warn("logout of a login that raced Close", "err", err)
		}
		return fmt.Errorf("login: %w", ErrClosed)
	}
	return nil
}

// requester sends one request and applies its reply: the signaling
// client at Login, the new connection while resuming.
type requester interface {
	Request(ctx context.Context, typ string, body any, apply signal.ApplyFunc) error
}

// requestLogin sends login l's credentials over r with the engine's
// sessionID (so that the server resumes that session if it still has it)
// and hands the reply to applyLocked, which runs with e.mu held and must
// check that l is still the engine's login. Its error is the request's.
func (e *Engine) requestLogin(ctx context.Context, r requester, l *link, applyLocked func(proto.LoginReply) error) error {
	req := proto.LoginRequest{SDKAppID: e.cfg.SDKAppID, UserID: l.userID, UserSig: l.userSig, SessionID: e.sessionID}
	return r.Request(ctx, proto.TypeLogin, req, func(body json.RawMessage) error {
		var rep proto.LoginReply
		if err := decode(body, &rep); err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return applyLocked(rep)
	})
}

// closeGrace bounds how long Close waits for the server to confirm a
// logout, its own or that of a login still under way.
const closeGrace = 2 * time.Second

// Logout logs out and disconnects. The server removes us from any call
// (the others see memberLeft reason "logout"); locally the engine only
// becomes Idle: no events are emitted for our own leaving. Invitations
// ringing for us are left to the server (they time out on the caller's
// side). The engine is logged out even when the logout request failed.
func (e *Engine) Logout(ctx context.Context) error {
	e.mu.Lock()
	l := e.link
	if l == nil || !e.loggedIn {
		e.mu.Unlock()
		return ErrNotLoggedIn
	}
	e.mu.Unlock()
	return e.logoutLink(ctx, l)
}

// logoutLink ends login l on the server and drops it locally.
func (e *Engine) logoutLink(ctx context.Context, l *link) error {
	err := l.c.Request(ctx, proto.TypeLogout, nil, func(json.RawMessage) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.dropLinkLocked(l)
		return nil
	})
	_ = l.c.Close()
	e.mu.Lock()
	e.dropLinkLocked(l)
	watching := e.stopDeviceWatchLocked()
	e.mu.Unlock()
	if watching != nil {
		<-watching
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// dropLinkLocked forgets a login and every call state silently.
func (e *Engine) dropLinkLocked(l *link) {
	if e.link != l {
		return
	}
	e.link = nil
	e.loggedIn = false
	e.stopDeviceWatchLocked() // Logout waits for it
	if e.room != nil {
		e.closeRoomLocked(e.room)
		e.room = nil
	}
	e.left = nil
	clear(e.invites)
}

// abandonLinkLocked drops login l and closes its client from a goroutine
// of its own: the caller may be running on that client's reader.
func (e *Engine) abandonLinkLocked(l *link) {
	e.dropLinkLocked(l)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = l.c.Close()
	}()
}

package callcore

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// linkProbeTimeout bounds the answer to checkLink's ping. The server
// answers in milliseconds; a link that stays silent this long is taken
// for dead.
const linkProbeTimeout = 500 * time.Millisecond

// checkLink asks the server for a ping answer and, when none comes in
// time, drops the connection so that the client redials and resumes the
// session at once. Media stopping is the first sign of a network change
// (a new address, another network), which leaves the signaling socket
// silently dead until its read timeout, tens of seconds later; the ICE
// restart that would bring media back needs the signaling relay now.
func (e *Engine) checkLink() {
	e.mu.Lock()
	l := e.link
	if e.closed || l == nil || !e.loggedIn || !l.probing.CompareAndSwap(false, true) {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1) // under mu with closed false, so Close waits for it
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		defer l.probing.Store(false)
		if a, ok := l.c.LocalAddr().(*net.TCPAddr); ok && !hostHasIP(a.IP) {
			// The host no longer has the address the socket is bound to: no
			// need to wait for an answer that cannot come.
			e.log.Info("signaling socket's address is gone: reconnecting", "addr", a.IP)
			l.c.DropConnection()
			return
		}
		ctx, cancel := context.WithTimeout(e.life, linkProbeTimeout)
		defer cancel()
		start := time.Now()
		err := l.c.Request(ctx, proto.TypePing, nil, nil)
		switch {
		case err == nil:
			e.log.Debug("signaling link answers", "rtt", time.Since(start).Round(time.Microsecond))
		case errors.Is(err, context.DeadlineExceeded) && e.life.Err() == nil:
			e.log.Info("signaling link silent while media is down: reconnecting", "waited", linkProbeTimeout)
			l.c.DropConnection()
		default:
			// Not connected (already redialling) or closing: nothing to do.
			e.log.Debug("signaling link probe", "err", err)
		}
	}()
}

// hostHasIP reports whether one of the host's interfaces has ip (true when
// they cannot be read: then only the probe decides).
func hostHasIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

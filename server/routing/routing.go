// Package routing delivers signaling frames to users wherever their
// connection lives. The signaling server decides what to send to whom; a
// Router only knows where a user's connection is. The in-memory Local router
// is the only one, also in a cluster: there the state machine runs on the
// serving node alone, and a client of another node is bound as a connection
// whose socket that node carries over NATS (server/remote.go), so every
// client is routed the same way.
package routing

import "sync"

// Endpoint is one user's live connection as the router sees it.
type Endpoint interface {
	// Send queues frame for the connection without blocking. It reports
	// false when the connection is gone or too slow to keep up.
	Send(frame []byte) bool
}

// Router maps users to their connection and delivers frames to them.
// Implementations must be safe for concurrent use.
type Router interface {
	// Bind makes ep the endpoint of userID, replacing any previous one.
	Bind(userID string, ep Endpoint)
	// Unbind removes the binding of userID if it is still ep.
	Unbind(userID string, ep Endpoint)
	// Deliver queues frame for userID. It reports whether the user had an
	// endpoint that accepted the frame.
	Deliver(userID string, frame []byte) bool
	// Online reports whether userID has an endpoint.
	Online(userID string) bool
}

// Local is a Router for one process.
type Local struct {
	mu  sync.RWMutex
	eps map[string]Endpoint
}

// NewLocal returns an empty in-memory router.
func NewLocal() *Local { return &Local{eps: make(map[string]Endpoint)} }

// Bind implements Router.
func (l *Local) Bind(userID string, ep Endpoint) {
	l.mu.Lock()
	l.eps[userID] = ep
	l.mu.Unlock()
}

// Unbind implements Router.
func (l *Local) Unbind(userID string, ep Endpoint) {
	l.mu.Lock()
	if cur, ok := l.eps[userID]; ok && cur == ep {
		delete(l.eps, userID)
	}
	l.mu.Unlock()
}

// Deliver implements Router. The endpoint is called without the router's
// lock held, so a slow or closing endpoint cannot stall other deliveries.
func (l *Local) Deliver(userID string, frame []byte) bool {
	l.mu.RLock()
	ep, ok := l.eps[userID]
	l.mu.RUnlock()
	if !ok {
		return false
	}
	return ep.Send(frame)
}

// Online implements Router.
func (l *Local) Online(userID string) bool {
	l.mu.RLock()
	_, ok := l.eps[userID]
	l.mu.RUnlock()
	return ok
}

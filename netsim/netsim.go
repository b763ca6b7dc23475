// Package netsim degrades a pion transport.Net on purpose: the UDP sockets
// it opens lose and delay their inbound datagrams. It is a testing aid that
// reproduces a lossy, jittery network path in-process, without network
// namespaces or tc netem.
//
// Only inbound traffic is impaired, so two impaired peers each degrade what
// they receive. Every datagram of a socket is treated alike: STUN, DTLS and
// SRTP/SRTCP, as on a real path. Each datagram is dropped with probability
// Loss, or else held for a uniformly random 0..Jitter; releasing in time
// order reorders datagrams naturally when their delays overlap.
//
// A Net goes wherever a transport.Net does (pion's SettingEngine.SetNet,
// termcall's rtc.Config.Net and media.Options.Net); its owner keeps it to
// read Stats. Nothing in callcore imports this package.
package netsim

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
)

// Limits of a Config.
const (
	MaxJitter = 10 * time.Second
)

// Config is an impairment. The zero value impairs nothing.
type Config struct {
	// Loss is the probability, 0..1, that an inbound datagram is dropped.
	Loss float64
	// Jitter is the largest extra delay of an inbound datagram; each one is
	// delayed by a uniformly random 0..Jitter.
	Jitter time.Duration
	// InOrder keeps arrival order under jitter: a datagram is never
	// released before one that arrived earlier, as on a queueing link
	// (real paths seldom reorder). Without it, jitter reorders freely.
	InOrder bool
	// Seed makes the drops and delays repeatable: socket i of a Net uses
	// Seed+i. 0 picks a random seed.
	Seed uint64
}

// Enabled reports whether c impairs anything.
func (c Config) Enabled() bool { return c.Loss > 0 || c.Jitter > 0 }

// Validate checks c's ranges.
func (c Config) Validate() error {
	// NaN fails both comparisons, so test for the good range.
	if !(c.Loss >= 0 && c.Loss <= 1) {
		return fmt.Errorf("%w: loss %v, want 0..1", ErrBadConfig, c.Loss)
	}
	if c.Jitter < 0 || c.Jitter > MaxJitter {
		return fmt.Errorf("%w: jitter %v, want 0..%v", ErrBadConfig, c.Jitter, MaxJitter)
	}
	return nil
}

// Stats counts the inbound datagrams of every socket of a Net.
type Stats struct {
	Received  uint64 // read from the sockets
	Dropped   uint64 // dropped on purpose (Loss)
	Overflow  uint64 // dropped because the delay queue was full
	Delivered uint64 // handed to the reader
	Reordered uint64 // delivered after a datagram that arrived later
}

type counters struct {
	received, dropped, overflow, delivered, reordered atomic.Uint64
}

// Net wraps a transport.Net; the UDP sockets it opens are impaired. TCP and
// everything else pass through.
type Net struct {
	transport.Net
	cfg   Config
	conns atomic.Uint64 // sockets opened, for their seeds
	seed  uint64
	st    counters
}

var _ transport.Net = (*Net)(nil)

// NewNet wraps inner with the impairment cfg.
func NewNet(inner transport.Net, cfg Config) (*Net, error) {
	if inner == nil {
		return nil, fmt.Errorf("%w: nil inner Net", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &Net{Net: inner, cfg: cfg, seed: seed}, nil
}

// Stats returns the counters of every socket opened so far.
func (n *Net) Stats() Stats {
	return Stats{
		Received:  n.st.received.Load(),
		Dropped:   n.st.dropped.Load(),
		Overflow:  n.st.overflow.Load(),
		Delivered: n.st.delivered.Load(),
		Reordered: n.st.reordered.Load(),
	}
}

func (n *Net) wrap(c transport.UDPConn) *Conn {
	i := n.conns.Add(1) - 1
	return newConn(c, n.cfg, n.seed+i, &n.st)
}

// ListenUDP opens an impaired UDP socket.
func (n *Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	return n.wrap(c), nil
}

// DialUDP opens an impaired connected UDP socket.
func (n *Net) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	return n.wrap(c), nil
}

// ListenPacket impairs UDP sockets; other packet networks pass through.
func (n *Net) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err //nolint:wrapcheck // the inner Net's error, unchanged
	}
	if u, ok := c.(transport.UDPConn); ok {
		return n.wrap(u), nil
	}
	return c, nil
}

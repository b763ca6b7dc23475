package netsim

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/transport/v5"
)

const (
	// maxDatagram is the largest datagram read; UDP cannot carry more.
	maxDatagram = 64 * 1024
	// maxQueued bounds the datagrams held back; more are dropped, as a
	// full router queue would.
	maxQueued = 4096
	// readyCap is how many released datagrams may wait for the reader.
	readyCap = 256
)

// Conn is an impaired UDP socket. A goroutine reads the inner socket,
// drops or delays each datagram, and a second one releases the held
// datagrams in time order to Read. Writes go straight to the inner socket.
type Conn struct {
	inner transport.UDPConn
	cfg   Config
	rng   *rand.Rand // used by the reader goroutine only
	st    *counters
	link  *link // the Net's, shared by its sockets

	mu    sync.Mutex
	queue queue  // held datagrams, earliest release first
	seq   uint64 // arrival order, for ties and reordering

	wake   chan struct{} // the queue changed
	ready  chan *datagram
	done   chan struct{} // closed by Close
	failed chan struct{} // closed when the inner socket fails
	err    error         // why it failed; set before failed is closed

	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	dmu      sync.Mutex
	deadline time.Time     // read deadline
	dlChange chan struct{} // closed and replaced when the deadline changes
}

var _ transport.UDPConn = (*Conn)(nil)

type datagram struct {
	data []byte
	addr net.Addr
	at   time.Time // release time
	seq  uint64
}

func newConn(inner transport.UDPConn, cfg Config, seed uint64, st *counters, l *link) *Conn {
	c := &Conn{
		inner:    inner,
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // impairment, not security
		st:       st,
		link:     l,
		wake:     make(chan struct{}, 1),
		ready:    make(chan *datagram, readyCap),
		done:     make(chan struct{}),
		failed:   make(chan struct{}),
		dlChange: make(chan struct{}),
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.releaseLoop()
	return c
}

// readLoop reads the inner socket and queues what survives the loss.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, maxDatagram)
	var lastAt time.Time // release time of the previous datagram (InOrder)
	for {
		n, addr, err := c.inner.ReadFrom(buf)
		if err != nil {
			select {
			case <-c.done:
			default:
				c.err = err
				close(c.failed)
			}
			return
		}
		c.st.received.Add(1)
		if c.cfg.Loss > 0 && c.rng.Float64() < c.cfg.Loss {
			c.st.dropped.Add(1)
			continue
		}
		at, ok := c.link.admit(time.Now(), n)
		if !ok {
			c.st.shaped.Add(1)
			continue
		}
		if c.cfg.Jitter > 0 {
			at = at.Add(time.Duration(c.rng.Int64N(int64(c.cfg.Jitter) + 1)))
			if c.cfg.InOrder {
				if at.Before(lastAt) {
					at = lastAt
				}
				lastAt = at
			}
		}
		c.mu.Lock()
		if len(c.queue) >= maxQueued {
			c.mu.Unlock()
			c.st.overflow.Add(1)
			continue
		}
		c.seq++
		heap.Push(&c.queue, &datagram{data: append([]byte(nil), buf[:n]...), addr: addr, at: at, seq: c.seq})
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// releaseLoop hands each held datagram to the reader when its time comes.
func (c *Conn) releaseLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var maxSeq uint64
	for {
		var due *datagram
		wait := time.Duration(-1)
		c.mu.Lock()
		if len(c.queue) > 0 {
			if d := time.Until(c.queue[0].at); d <= 0 {
				due = heap.Pop(&c.queue).(*datagram) //nolint:forcetypeassert // the queue holds only these
			} else {
				wait = d
			}
		}
		c.mu.Unlock()
		if due != nil {
			select {
			case c.ready <- due:
			case <-c.done:
				return
			}
			c.st.delivered.Add(1)
			if due.seq < maxSeq {
				c.st.reordered.Add(1)
			} else {
				maxSeq = due.seq
			}
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-c.wake:
		case <-c.done:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// next waits for a released datagram, the read deadline, or the end.
func (c *Conn) next() (*datagram, error) {
	for {
		c.dmu.Lock()
		dl, changed := c.deadline, c.dlChange
		c.dmu.Unlock()
		var fire <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return nil, c.opErr(os.ErrDeadlineExceeded)
			}
			t = time.NewTimer(d)
			fire = t.C
		}
		stop := func() {
			if t != nil {
				t.Stop()
			}
		}
		select {
		case p := <-c.ready:
			stop()
			return p, nil
		case <-c.done:
			stop()
			return nil, c.opErr(net.ErrClosed)
		case <-c.failed:
			stop()
			select {
			case p := <-c.ready:
				return p, nil
			default:
				return nil, c.err
			}
		case <-fire:
			return nil, c.opErr(os.ErrDeadlineExceeded)
		case <-changed:
			stop()
		}
	}
}

func (c *Conn) opErr(err error) error {
	return &net.OpError{Op: "read", Net: "udp", Source: c.inner.LocalAddr(), Err: err}
}

// ReadFrom reads the next released datagram.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	p, err := c.next()
	if err != nil {
		return 0, nil, err
	}
	return copy(b, p.data), p.addr, nil
}

// ReadFromUDP reads the next released datagram.
func (c *Conn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, addr, err := c.ReadFrom(b)
	ua, _ := addr.(*net.UDPAddr)
	return n, ua, err
}

// Read reads the next released datagram (for connected sockets).
func (c *Conn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFrom(b)
	return n, err
}

// ReadMsgUDP reads the next released datagram; no out-of-band data is
// kept.
func (c *Conn) ReadMsgUDP(b, _ []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, addr, err = c.ReadFromUDP(b)
	return n, 0, 0, addr, err
}

// SetReadDeadline sets the deadline of Read calls, blocked ones included.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.deadline = t
	close(c.dlChange)
	c.dlChange = make(chan struct{})
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t) // cannot fail
	return c.inner.SetWriteDeadline(t)
}

// SetWriteDeadline sets the inner socket's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.inner.SetWriteDeadline(t) }

// Close closes the socket and waits for its goroutines. Held datagrams are
// dropped.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.closeErr = c.inner.Close()
		c.wg.Wait()
	})
	return c.closeErr
}

// LocalAddr returns the inner socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.inner.LocalAddr() }

// RemoteAddr returns the inner socket's remote address (connected sockets).
func (c *Conn) RemoteAddr() net.Addr { return c.inner.RemoteAddr() }

// SetReadBuffer sets the inner socket's receive buffer.
func (c *Conn) SetReadBuffer(n int) error { return c.inner.SetReadBuffer(n) }

// SetWriteBuffer sets the inner socket's send buffer.
func (c *Conn) SetWriteBuffer(n int) error { return c.inner.SetWriteBuffer(n) }

// Write writes to a connected socket, unimpaired.
func (c *Conn) Write(b []byte) (int, error) { return c.inner.Write(b) }

// WriteTo writes a datagram, unimpaired.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) { return c.inner.WriteTo(b, addr) }

// WriteToUDP writes a datagram, unimpaired.
func (c *Conn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.inner.WriteToUDP(b, addr)
}

// WriteMsgUDP writes a datagram, unimpaired.
func (c *Conn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	return c.inner.WriteMsgUDP(b, oob, addr)
}

// queue is a min-heap of datagrams by release time, then arrival.
type queue []*datagram

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*datagram)) } //nolint:forcetypeassert // heap.Interface
func (q *queue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return p
}

package netsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair opens an impaired socket on 127.0.0.1 and a plain one that sends
// to it.
func pair(t *testing.T, cfg Config) (*Net, transport.UDPConn, *net.UDPConn) {
	t.Helper()
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(std, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	// A big receive buffer: the test sends in bursts.
	_ = rx.SetReadBuffer(4 << 20)
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Close() })
	return n, rx, tx
}

// send writes count datagrams numbered from 0, each carrying its send
// time, in bursts the inner socket can absorb.
func send(t *testing.T, n *Net, tx *net.UDPConn, count int, gap time.Duration) {
	t.Helper()
	buf := make([]byte, 16)
	base := n.Stats().Received
	for i := range count {
		binary.BigEndian.PutUint64(buf, uint64(i))
		binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().UnixNano()))
		if _, err := tx.Write(buf); err != nil {
			t.Fatal(err)
		}
		if gap > 0 {
			time.Sleep(gap)
		} else if i%50 == 49 {
			// Let the read loop catch up so that the kernel drops nothing.
			waitFor(t, func() bool { return n.Stats().Received >= base+uint64(i+1) })
		}
	}
	waitFor(t, func() bool { return n.Stats().Received >= base+uint64(count) })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

type got struct {
	seq   int
	delay time.Duration
}

// receive reads until count datagrams arrived or a read waits 1 s. It runs
// on its own goroutine, so it reports errors instead of failing t.
func receive(rx transport.UDPConn, count int) ([]got, error) {
	var out []got
	buf := make([]byte, 64)
	for len(out) < count {
		_ = rx.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := rx.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return out, err
		}
		if n != 16 {
			return out, fmt.Errorf("read %d bytes, want 16", n)
		}
		sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[8:])))
		out = append(out, got{seq: int(binary.BigEndian.Uint64(buf)), delay: time.Since(sent)})
	}
	return out, nil
}

// receiveAsync runs receive on a goroutine; the returned func waits for it.
func receiveAsync(t *testing.T, rx transport.UDPConn, count int) func() []got {
	t.Helper()
	type result struct {
		g   []got
		err error
	}
	ch := make(chan result, 1)
	go func() { g, err := receive(rx, count); ch <- result{g, err} }()
	return func() []got {
		t.Helper()
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.g
	}
}

func TestLossRate(t *testing.T) {
	const count = 2000
	n, rx, tx := pair(t, Config{Loss: 0.1, Seed: 7})
	wait := receiveAsync(t, rx, count)
	send(t, n, tx, count, 0)
	waitFor(t, func() bool { st := n.Stats(); return st.Delivered+st.Dropped == count })
	gotten := wait()
	st := n.Stats()
	if st.Received != count || st.Overflow != 0 {
		t.Fatalf("stats %+v, want %d received and no overflow", st, count)
	}
	// Binomial(2000, 0.1): 200 ± 13.4; the bounds are ±4.5 sigma.
	if st.Dropped < 140 || st.Dropped > 260 {
		t.Errorf("dropped %d of %d, want about 10 %%", st.Dropped, count)
	}
	if uint64(len(gotten)) != st.Delivered {
		t.Errorf("read %d datagrams, stats say %d delivered", len(gotten), st.Delivered)
	}
	// Without jitter the survivors keep their order.
	for i := 1; i < len(gotten); i++ {
		if gotten[i].seq <= gotten[i-1].seq {
			t.Fatalf("datagram %d after %d without jitter", gotten[i].seq, gotten[i-1].seq)
		}
	}
	if st.Reordered != 0 {
		t.Errorf("reordered %d without jitter", st.Reordered)
	}
}

func TestLossSeedRepeats(t *testing.T) {
	lost := func() []int {
		n, rx, tx := pair(t, Config{Loss: 0.2, Seed: 42})
		wait := receiveAsync(t, rx, 300)
		send(t, n, tx, 300, 0)
		waitFor(t, func() bool { st := n.Stats(); return st.Delivered+st.Dropped == 300 })
		seen := map[int]bool{}
		for _, g := range wait() {
			seen[g.seq] = true
		}
		var out []int
		for i := range 300 {
			if !seen[i] {
				out = append(out, i)
			}
		}
		return out
	}
	a, b := lost(), lost()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("lost %v then %v with the same seed", a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("lost %v then %v with the same seed", a, b)
		}
	}
}

func TestJitterDelaysAndReorders(t *testing.T) {
	const (
		count  = 300
		jitter = 40 * time.Millisecond
	)
	n, rx, tx := pair(t, Config{Jitter: jitter, Seed: 3})
	wait := receiveAsync(t, rx, count)
	send(t, n, tx, count, time.Millisecond)
	gotten := wait()
	if len(gotten) != count {
		t.Fatalf("read %d datagrams, want all %d", len(gotten), count)
	}
	var sum, lo, hi time.Duration
	lo = time.Hour
	seen := map[int]bool{}
	inversions := 0
	for i, g := range gotten {
		if seen[g.seq] {
			t.Fatalf("datagram %d delivered twice", g.seq)
		}
		seen[g.seq] = true
		sum += g.delay
		lo, hi = min(lo, g.delay), max(hi, g.delay)
		if i > 0 && g.seq < gotten[i-1].seq {
			inversions++
		}
	}
	mean := sum / count
	t.Logf("delay mean %v min %v max %v; %d inversions; stats %+v", mean, lo, hi, inversions, n.Stats())
	// Uniform 0..40 ms: mean 20 ms, spread 40 ms. A loaded machine only
	// adds delay, so these lower bounds hold; the upper one is a sanity
	// bound, not a timing target.
	if mean < jitter/4 || hi-lo < jitter/2 || hi > jitter+5*time.Second {
		t.Errorf("delays mean %v min %v max %v, want uniform over 0..%v", mean, lo, hi, jitter)
	}
	if inversions == 0 || n.Stats().Reordered == 0 {
		t.Errorf("no reordering with %v jitter and 1 ms spacing (stats %+v)", jitter, n.Stats())
	}
	// Deciles of the delay: none of them may hold most of the datagrams,
	// as a fixed delay would.
	var bins [10]int
	for _, g := range gotten {
		b := int(float64(g.delay) / float64(jitter) * 10)
		bins[min(max(b, 0), 9)]++
	}
	for i, c := range bins {
		if c > count/2 {
			t.Errorf("delay decile %d holds %d of %d datagrams: %v", i, c, count, bins)
		}
	}
}

func TestReadDeadlineAndClose(t *testing.T) {
	_, rx, _ := pair(t, Config{Loss: 0.5, Jitter: 10 * time.Millisecond})
	_ = rx.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := rx.ReadFrom(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}

	// A deadline set in the past unblocks a blocked read (pion aborts
	// reads this way), and Close unblocks one too.
	_ = rx.SetReadDeadline(time.Time{})
	errc := make(chan error)
	go func() { _, _, err := rx.ReadFrom(make([]byte, 10)); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	_ = rx.SetDeadline(time.Now())
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after SetDeadline(now): %v", err)
	}
	_ = rx.SetReadDeadline(time.Time{})
	go func() { _, _, err := rx.ReadFrom(make([]byte, 10)); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
	if err := rx.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := rx.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: %v", err)
	}
}

func TestCloseDropsHeldDatagrams(t *testing.T) {
	// Datagrams held for up to 2 s must not keep goroutines alive after
	// Close (goleak checks at the end).
	n, rx, tx := pair(t, Config{Jitter: 2 * time.Second})
	send(t, n, tx, 20, 0)
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWritesPassThrough(t *testing.T) {
	// The impaired socket's writes reach a plain socket untouched.
	n, rx, tx := pair(t, Config{Loss: 1})
	for i := range 50 {
		if _, err := rx.WriteTo([]byte{byte(i)}, tx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4)
	for i := range 50 {
		_ = tx.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := tx.Read(buf)
		if err != nil || k != 1 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: %d bytes %v, err %v", i, k, buf[:k], err)
		}
	}
	// And everything inbound is lost with Loss 1.
	send(t, n, tx, 30, 0)
	if st := n.Stats(); st.Dropped != 30 || st.Delivered != 0 {
		t.Fatalf("stats %+v with loss 1", st)
	}
}

func TestNetWrapsEveryUDPSocket(t *testing.T) {
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(std, Config{Loss: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := n.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, ok := pc.(*Conn); !ok {
		t.Errorf("ListenPacket returned %T, want *Conn", pc)
	}
	dc, err := n.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if _, ok := dc.(*Conn); !ok {
		t.Errorf("DialUDP returned %T, want *Conn", dc)
	}
	ifs, err := n.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Errorf("Interfaces passes through: %v, %v", ifs, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Loss: -0.1}, {Loss: 1.5}, {Loss: math.NaN()}, {Jitter: -time.Millisecond}, {Jitter: time.Minute},
		{Rate: -1}, {Rate: 1000, QueueDelay: -time.Millisecond}, {Rate: 1000, QueueDelay: time.Minute},
	} {
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrBadConfig", c, err)
		}
		std, _ := stdnet.NewNet()
		if _, err := NewNet(std, c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewNet(%+v) = %v, want ErrBadConfig", c, err)
		}
	}
	for _, c := range []Config{{}, {Loss: 0.05, Jitter: 30 * time.Millisecond}, {Loss: 1}} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
	if (Config{}).Enabled() || !(Config{Jitter: time.Millisecond}).Enabled() || !(Config{Loss: 0.01}).Enabled() || !(Config{Rate: 1000}).Enabled() {
		t.Error("Enabled is wrong")
	}
	if _, err := NewNet(nil, Config{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("NewNet(nil) = %v", err)
	}
}

// With InOrder, jitter delays datagrams but never reorders them.
func TestJitterInOrderKeepsOrder(t *testing.T) {
	const count = 300
	n, rx, tx := pair(t, Config{Jitter: 40 * time.Millisecond, Seed: 3, InOrder: true})
	wait := receiveAsync(t, rx, count)
	send(t, n, tx, count, time.Millisecond)
	gotten := wait()
	if len(gotten) != count {
		t.Fatalf("read %d datagrams, want all %d", len(gotten), count)
	}
	var hi time.Duration
	for i, g := range gotten {
		hi = max(hi, g.delay)
		if i > 0 && g.seq < gotten[i-1].seq {
			t.Fatalf("datagram %d delivered after %d", g.seq, gotten[i-1].seq)
		}
	}
	if n.Stats().Reordered != 0 || hi < 10*time.Millisecond {
		t.Errorf("stats %+v, largest delay %v: want delays and no reordering", n.Stats(), hi)
	}
}

// A Rate makes a link: what arrives faster than it leaves at the rate,
// waits at most QueueDelay, and the rest is dropped; SetRate(0) lifts it.
func TestRateShapesTheLink(t *testing.T) {
	const (
		rate  = 100_000 // bit/s: 16-byte datagrams (+28) leave ~284 a second
		queue = 80 * time.Millisecond
	)
	n, rx, tx := pair(t, Config{Rate: rate, QueueDelay: queue})
	wait := receiveAsync(t, rx, 1000)
	start := time.Now()
	send(t, n, tx, 300, time.Millisecond) // ~3x the rate
	took := time.Since(start)
	gotten := wait()
	perSec := float64(rate) / ((16 + ipUDPOverhead) * 8)
	want := (took + queue).Seconds() * perSec
	if got := float64(len(gotten)); got < 0.8*want || got > 1.15*want {
		t.Errorf("%d datagrams crossed a %d bit/s link in %v, want ~%.0f", len(gotten), rate, took, want)
	}
	var worst time.Duration
	for _, g := range gotten {
		worst = max(worst, g.delay)
	}
	if worst > queue+40*time.Millisecond {
		t.Errorf("a datagram waited %v, want at most the %v queue", worst, queue)
	}
	st := n.Stats()
	if st.Shaped == 0 || st.Shaped+st.Delivered != st.Received {
		t.Errorf("stats %+v: want the excess dropped as Shaped", st)
	}
	// Lifted: everything crosses at once.
	if err := n.SetRate(0); err != nil {
		t.Fatal(err)
	}
	wait = receiveAsync(t, rx, 100)
	send(t, n, tx, 100, time.Millisecond)
	if g := wait(); len(g) != 100 || n.Stats().Shaped != st.Shaped {
		t.Errorf("after SetRate(0): %d of 100 delivered, shaped %d -> %d", len(g), st.Shaped, n.Stats().Shaped)
	}
	if err := n.SetRate(-1); !errors.Is(err, ErrBadConfig) {
		t.Errorf("SetRate(-1) = %v, want ErrBadConfig", err)
	}
}

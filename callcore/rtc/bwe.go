package rtc

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Bandwidth estimation is pion's Google Congestion Control (send side,
// delay and loss based) on transport-wide congestion control feedback:
// every packet termcall sends carries a transport-wide sequence number,
// the far end (termcall or a browser) reports when each arrived, and one
// estimator per peer connection turns that into a target bitrate.
//
// The local tracks are shared by every peer (one encode, see the package
// doc), so one stream must fit all of them: Mesh.Estimate gives the
// lowest estimate, the weakest receiver's.
//
// pion's default pacer (a leaky bucket) queues every packet and sends
// from a 5 ms ticker per connection: it would delay the first keyframe
// and wake the process 200 times a second per peer. The encoders follow
// the estimate instead (their rate control is the pacing), so the no-op
// pacer passes packets straight through.
//
// A pacer routes each packet by SSRC to the stream it was given, and
// pion's knows only the media streams: the NACK responder's resends carry
// the RTX SSRC, so gcc's no-op pacer refused every one ("unknown ssrc")
// and no lost packet was ever repaired. passPacer also routes a stream's
// RTX SSRC to it.

// Estimator limits, bit/s. The start is what termcall sends on an open
// link at its default quality (VP8 300 kbit/s + Opus 32 kbit/s + headers),
// so a call starts as it did before estimation and falls from there.
const (
	EstimateStart = 400_000
	EstimateMin   = 40_000
	EstimateMax   = 3_000_000
)

// Estimate is the send-side bandwidth estimate of a call.
type Estimate struct {
	// Bitrate is the lowest target bitrate over the peers, bit/s; 0 when
	// there is no peer.
	Bitrate int
	// DelayBitrate is the lowest target of GCC's delay-based half alone
	// (Bitrate is the lower of it and the loss-based half's).
	DelayBitrate int
	// Loss is the highest packet loss (0-1) any peer reported lately in
	// its RTCP reception reports.
	Loss float64
	// FeedbackLoss is the highest loss (0-1) any peer's estimator has
	// seen in the transport-wide feedback lately; late packets count there.
	FeedbackLoss float64
	// Queuing: a peer's estimator saw the delay grow (GCC's "overuse")
	// within queuingFor. Loss with queuing is congestion; loss without it
	// is a lossy link (radio, a bad cable) that sending less does not
	// cure — and RTX repairs it.
	Queuing bool
	// Peers is how many estimators there are (one per peer connection).
	Peers int
}

// estimators holds the live estimators of a mesh's peer connections.
// pion builds one per PeerConnection; each leaves the set when its
// connection closes.
type estimators struct {
	mu  sync.Mutex
	set map[*estimator]struct{}
}

// estimator is a GCC estimator that leaves its set when closed.
type estimator struct {
	cc.BandwidthEstimator
	pacer *passPacer
	set   *estimators
	// overuseAt is when the delay detector last said "overuse" (unix ns).
	overuseAt atomic.Int64
}

// queuingFor is how long an overuse counts as queuing.
const queuingFor = 5 * time.Second

// WriteRTCP also notes the delay detector's verdict on each feedback.
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	if err := e.BandwidthEstimator.WriteRTCP(pkts, a); err != nil {
		return fmt.Errorf("estimator: %w", err)
	}
	st := e.GetStats()
	// Before the delay detector's first verdict its stats are zero, and a
	// zero usage reads "overuse": only a verdict with a target counts.
	if u, _ := st["usage"].(string); u == "overuse" && st["delayTargetBitrate"] != 0 {
		e.overuseAt.Store(time.Now().UnixNano())
	}
	return nil
}

// AddStream also routes the stream's retransmissions.
func (e *estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	out := e.BandwidthEstimator.AddStream(info, w)
	if info.SSRCRetransmission != 0 {
		e.pacer.alias(info.SSRCRetransmission, info.SSRC)
	}
	return out
}

// passPacer sends each packet at once through its stream's writer.
type passPacer struct {
	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter
}

func newPassPacer() *passPacer { return &passPacer{writers: map[uint32]interceptor.RTPWriter{}} }

// errUnknownSSRC is a packet of a stream the connection does not send.
var errUnknownSSRC = errors.New("pacer: unknown ssrc")

func (p *passPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = w
}

// alias sends rtx's packets the way of media's.
func (p *passPacer) alias(rtx, media uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.writers[media]; ok {
		p.writers[rtx] = w
	}
}

func (p *passPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w, ok := p.writers[h.SSRC]
	p.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("%w %d", errUnknownSSRC, h.SSRC)
	}
	return w.Write(h, payload, a) //nolint:wrapcheck // the transport's own error
}

func (*passPacer) SetTargetBitrate(int) {} // the encoders follow the estimate
func (*passPacer) Close() error         { return nil }

func (e *estimator) Close() error {
	e.set.mu.Lock()
	delete(e.set.set, e)
	e.set.mu.Unlock()
	if err := e.BandwidthEstimator.Close(); err != nil {
		return fmt.Errorf("close estimator: %w", err)
	}
	return nil
}

// registerBWE adds the congestion controller and the transport-wide
// sequence numbers to reg. It goes before the NACK responder, so that the
// retransmissions it writes get sequence numbers and are counted too
// (the header-extension interceptor wraps the controller's writer).
func registerBWE(reg *interceptor.Registry, set *estimators) error {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		pacer := newPassPacer()
		g, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(EstimateStart),
			gcc.SendSideBWEMinBitrate(EstimateMin),
			gcc.SendSideBWEMaxBitrate(EstimateMax),
			gcc.SendSideBWEPacer(pacer),
		)
		if err != nil {
			return nil, fmt.Errorf("gcc: %w", err)
		}
		e := &estimator{BandwidthEstimator: g, pacer: pacer, set: set}
		set.mu.Lock()
		set.set[e] = struct{}{}
		set.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return fmt.Errorf("congestion control: %w", err)
	}
	reg.Add(f)
	seq, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return fmt.Errorf("transport-cc sequence numbers: %w", err)
	}
	reg.Add(seq)
	return nil
}

// estimate combines the estimators: the lowest bitrate, the highest
// feedback loss.
func (s *estimators) estimate() Estimate {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Estimate
	for e := range s.set {
		b := e.GetTargetBitrate()
		st := e.GetStats()
		d, _ := st["delayTargetBitrate"].(int)
		if out.Peers == 0 || b < out.Bitrate {
			out.Bitrate = b
		}
		if out.Peers == 0 || d < out.DelayBitrate {
			out.DelayBitrate = d
		}
		if l, ok := st["averageLoss"].(float64); ok && l > out.FeedbackLoss {
			out.FeedbackLoss = l
		}
		if at := e.overuseAt.Load(); at != 0 && time.Since(time.Unix(0, at)) < queuingFor {
			out.Queuing = true
		}
		out.Peers++
	}
	return out
}

// Estimate returns the send-side bandwidth estimate for the shared local
// tracks: the weakest peer's.
func (m *Mesh) Estimate() Estimate {
	est := m.bwe.estimate()
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if r := p.loss.Load(); r != nil && now.Sub(r.at) < lossStale {
			est.Loss = max(est.Loss, r.fraction)
		}
	}
	return est
}

// Receiver-driven size: a receiver tells each sender the largest size it
// shows that sender's video in (a terminal pane is small), as a
// "viewsize" signal through the relay; 0x0 withdraws the limit. Peers
// that never send one (browsers) are taken to show any size.

// maxViewSide bounds the sizes a viewsize signal may carry.
const maxViewSide = 16384

// SendViewSize tells peer to that this client shows its video at most
// w x h pixels (0x0: any size).
func (m *Mesh) SendViewSize(to string, w, h int) error {
	if w < 0 || h < 0 || w > maxViewSide || h > maxViewSide {
		return fmt.Errorf("%w: view size %dx%d", ErrBadSignal, w, h)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return m.sendLocked(to, Signal{Kind: "viewsize", Width: w, Height: h})
}

// viewSizeLocked handles a peer's viewsize signal; the report goes to
// Callbacks.ViewSize once mu is released.
func (m *Mesh) viewSizeLocked(from string, sig Signal) (func(), error) {
	if sig.Width < 0 || sig.Height < 0 || sig.Width > maxViewSide || sig.Height > maxViewSide {
		return nil, fmt.Errorf("%w: view size %dx%d from %s", ErrBadSignal, sig.Width, sig.Height, from)
	}
	if m.cb.ViewSize == nil {
		return nil, nil
	}
	w, h := sig.Width, sig.Height
	return m.callbackLocked(func() { m.cb.ViewSize(from, w, h) }), nil
}

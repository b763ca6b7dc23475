// Package jitter is an adaptive receive jitter buffer for Opus over RTP and
// a decoder pipeline (buffer + Opus with FEC/PLC) that turns packets into
// evenly paced PCM frames.
//
// The Buffer is a data structure driven by the caller's clock: Push is called
// on packet arrival with its arrival time, Pop once per frame duration with
// the current time. It never starts goroutines or reads the clock itself, so
// tests drive it deterministically.
//
// Playout follows RTP timestamps: the playout point advances one frame per
// Pop. Sequence numbers tell loss (a gap in seq) from DTX (consecutive seq,
// timestamp jump). The target delay follows the RFC 3550 interarrival jitter
// (target = clamp(k*jitter)), grows at once and shrinks slowly. The buffer
// grows by holding the playout point when it runs dry and shrinks by skipping
// silence, or, when far above target, one frame of speech.
package jitter

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Kind says what the caller must play for one Pop.
type Kind int

// Frame kinds returned by Pop.
const (
	// KindBuffering: playout has not started (or restarts); play silence.
	KindBuffering Kind = iota
	// KindPacket: decode Frame.Payload.
	KindPacket
	// KindLost: the frame is missing. Recover it from Frame.FEC with Opus
	// FEC when FEC is set, else conceal it with PLC.
	KindLost
	// KindSilence: a DTX gap or a long outage; play comfort silence.
	KindSilence
)

func (k Kind) String() string {
	switch k {
	case KindBuffering:
		return "buffering"
	case KindPacket:
		return "packet"
	case KindLost:
		return "lost"
	case KindSilence:
		return "silence"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Frame is one Pop result.
type Frame struct {
	Kind    Kind
	Payload []byte // KindPacket: the packet to decode
	FEC     []byte // KindLost: the next packet, whose in-band FEC may recover this frame
	Seq     uint16 // KindPacket: RTP sequence number
	TS      uint32 // RTP timestamp of the frame's start
}

// Config tunes a Buffer. Zero fields take the defaults shown.
type Config struct {
	ClockRate     int           // RTP clock rate; 48000
	FrameDuration time.Duration // duration of one packet and one Pop; 20 ms
	MinDelay      time.Duration // lower bound of the target delay; 20 ms
	MaxDelay      time.Duration // upper bound of the target delay; 200 ms
	JitterFactor  float64       // target = JitterFactor * interarrival jitter; 4
	MaxPackets    int           // packets held at most; 200
	ConcealLimit  int           // consecutive concealed frames before playing silence; 5
	// StartDelay is how long after the first packet's arrival playout
	// starts (plus however much the target has grown by then); MinDelay
	// when zero. A caller that re-phases its Pop clock to the first
	// packet can start sooner: a stream that needs more delay makes the
	// target grow as it plays.
	StartDelay time.Duration
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.ClockRate == 0 {
		c.ClockRate = 48000
	}
	def(&c.FrameDuration, 20*time.Millisecond)
	def(&c.MinDelay, 20*time.Millisecond)
	def(&c.MaxDelay, 200*time.Millisecond)
	def(&c.StartDelay, c.MinDelay)
	if c.JitterFactor == 0 {
		c.JitterFactor = 4
	}
	if c.MaxPackets == 0 {
		c.MaxPackets = 200
	}
	if c.ConcealLimit == 0 {
		c.ConcealLimit = 5
	}
	switch {
	case c.ClockRate < 1000 || c.ClockRate > 192000:
		return c, fmt.Errorf("%w: clock rate %d", ErrConfig, c.ClockRate)
	case c.FrameDuration < time.Millisecond || c.FrameDuration > 120*time.Millisecond:
		return c, fmt.Errorf("%w: frame duration %v", ErrConfig, c.FrameDuration)
	case c.MinDelay < 0 || c.MaxDelay < c.MinDelay || c.MaxDelay > 5*time.Second:
		return c, fmt.Errorf("%w: delay bounds %v..%v", ErrConfig, c.MinDelay, c.MaxDelay)
	case c.StartDelay < 0 || c.StartDelay > c.MaxDelay:
		return c, fmt.Errorf("%w: start delay %v (max delay %v)", ErrConfig, c.StartDelay, c.MaxDelay)
	case c.JitterFactor < 0 || c.MaxPackets < 2 || c.ConcealLimit < 1:
		return c, fmt.Errorf("%w: factor %g, max packets %d, conceal limit %d", ErrConfig, c.JitterFactor, c.MaxPackets, c.ConcealLimit)
	}
	return c, nil
}

// Stats is a snapshot of the buffer's counters and estimates.
type Stats struct {
	DelayMs   float64 // smoothed audio buffered ahead of playout
	TargetMs  float64 // current target delay
	JitterMs  float64 // RFC 3550 interarrival jitter
	Received  uint64  // packets pushed (valid)
	Played    uint64  // packets returned for decoding
	Lost      uint64  // packets never received in time
	Late      uint64  // packets dropped because their playout time had passed
	Duplicate uint64  // packets dropped as duplicates
	Reordered uint64  // packets that arrived after a higher sequence number
	Concealed uint64  // KindLost frames returned (FEC or PLC)
	Stretched uint64  // frames inserted because the buffer ran dry
	Skipped   uint64  // frames dropped to cut delay (silence or speech)
	Resets    uint64  // stream restarts (big seq/timestamp jumps)
}

type packet struct {
	seq     int64 // extended (unwrapped) sequence number
	ts      int64 // extended timestamp
	payload []byte
}

// Buffer is the adaptive jitter buffer. It is safe for concurrent use (one
// goroutine pushing, another popping).
type Buffer struct {
	mu    sync.Mutex
	cfg   Config
	frame int64 // RTP ticks per frame

	pkts []packet // sorted by seq

	haveSeq bool
	maxSeq  int64 // highest extended seq seen
	maxTS   int64 // highest extended ts seen (unwrap reference)

	started      bool
	firstArrival time.Time
	playTS       int64 // timestamp of the next frame to play
	lastSeq      int64 // seq of the last frame played or declared lost
	lastLen      int   // payload size of the last packet played
	concealRun   int   // consecutive concealed/empty frames
	sinceAdjust  int   // pops since the last skip, to pace shrinking

	haveTransit bool
	lastTransit float64 // seconds
	jitter      float64 // seconds
	target      float64 // seconds
	level       float64 // smoothed buffer level, seconds

	lostRing [64]int64 // recent seqs declared lost, to tell late from duplicate
	lostIdx  int

	stats Stats
}

// New returns an empty buffer.
func New(cfg Config) (*Buffer, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Buffer{cfg: c, frame: int64(c.ClockRate) * int64(c.FrameDuration) / int64(time.Second)}
	b.target = c.MinDelay.Seconds()
	return b, nil
}

// FrameSamples returns the RTP ticks (samples per channel) in one frame.
func (b *Buffer) FrameSamples() int { return int(b.frame) }

func (b *Buffer) secs(ticks int64) float64 { return float64(ticks) / float64(b.cfg.ClockRate) }
func (b *Buffer) ticks(s float64) int64    { return int64(s * float64(b.cfg.ClockRate)) }

func (b *Buffer) computedTarget() float64 {
	t := b.cfg.JitterFactor * b.jitter
	return math.Max(b.cfg.MinDelay.Seconds(), math.Min(b.cfg.MaxDelay.Seconds(), t))
}

func (b *Buffer) resetStream() {
	b.pkts = b.pkts[:0]
	b.haveSeq = false
	b.started = false
	b.haveTransit = false
	b.concealRun = 0
}

// Push adds a packet that arrived at arrival. The payload is copied. Empty
// payloads are ignored.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte, arrival time.Time) {
	if len(payload) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	if b.haveSeq {
		eseq := b.maxSeq + int64(int16(seq-uint16(b.maxSeq)))
		ets := b.maxTS + int64(int32(ts-uint32(b.maxTS)))
		// A jump of minutes or thousands of packets is a new stream (sender
		// restart), not jitter: start over.
		if abs64(eseq-b.maxSeq) > 3000 || abs64(ets-b.maxTS) > 60*int64(b.cfg.ClockRate) {
			b.resetStream()
			b.stats.Resets++
		}
	}
	if !b.haveSeq {
		b.haveSeq = true
		b.maxSeq = int64(seq) + 1<<16 // offset keeps reordered predecessors positive
		b.maxTS = int64(ts) + 1<<32
		b.firstArrival = arrival
	}
	eseq := b.maxSeq + int64(int16(seq-uint16(b.maxSeq)))
	ets := b.maxTS + int64(int32(ts-uint32(b.maxTS)))
	b.stats.Received++

	reordered := eseq < b.maxSeq
	b.maxSeq = max(b.maxSeq, eseq)
	b.maxTS = max(b.maxTS, ets)

	if b.started && (eseq <= b.lastSeq || ets+b.frame/2 < b.playTS) {
		if eseq <= b.lastSeq && b.wasPlayed(eseq) {
			b.stats.Duplicate++
			return
		}
		b.stats.Late++
		b.updateJitter(ets, arrival)
		// Arriving too late means the delay was too small: grow now.
		b.target = math.Min(b.cfg.MaxDelay.Seconds(), b.target+b.cfg.FrameDuration.Seconds()/2)
		return
	}
	i := sort.Search(len(b.pkts), func(i int) bool { return b.pkts[i].seq >= eseq })
	if i < len(b.pkts) && b.pkts[i].seq == eseq {
		b.stats.Duplicate++
		return
	}
	b.updateJitter(ets, arrival)
	if reordered {
		b.stats.Reordered++
	}
	b.pkts = append(b.pkts, packet{})
	copy(b.pkts[i+1:], b.pkts[i:])
	b.pkts[i] = packet{seq: eseq, ts: ets, payload: append([]byte(nil), payload...)}
	if len(b.pkts) > b.cfg.MaxPackets {
		b.pkts = b.pkts[1:]
		b.stats.Skipped++
	}
}

// updateJitter applies RFC 3550 §6.4.1 (interarrival jitter, in arrival
// order, duplicates excluded) and raises the target at once if needed.
func (b *Buffer) updateJitter(ets int64, arrival time.Time) {
	transit := arrival.Sub(b.firstArrival).Seconds() - b.secs(ets)
	if b.haveTransit {
		d := math.Min(math.Abs(transit-b.lastTransit), 1)
		b.jitter += (d - b.jitter) / 16
	}
	b.lastTransit, b.haveTransit = transit, true
	if t := b.computedTarget(); t > b.target {
		b.target = t
	}
}

// wasPlayed reports whether eseq (≤ lastSeq) was handed out for decoding,
// as opposed to declared lost (then a late arrival is late, not a duplicate).
func (b *Buffer) wasPlayed(eseq int64) bool {
	for _, s := range b.lostRing {
		if s == eseq {
			return false
		}
	}
	return true
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func (b *Buffer) markLost(eseq int64) {
	b.lostRing[b.lostIdx] = eseq
	b.lostIdx = (b.lostIdx + 1) % len(b.lostRing)
	b.stats.Lost++
}

// Pop returns what to play for the next frame at time now. Call it once per
// frame duration.
func (b *Buffer) Pop(now time.Time) Frame {
	b.mu.Lock()
	defer b.mu.Unlock()

	frameSec := b.cfg.FrameDuration.Seconds()
	// Shrink the target slowly towards the jitter-derived value (2 % of a
	// frame per frame: 100 ms of excess takes ~5 s to go).
	if t := b.computedTarget(); b.target > t {
		b.target -= math.Min(b.target-t, frameSec/50)
	}
	b.sinceAdjust++

	if !b.started {
		// Jitter seen before the start raises the wait as it raises the
		// target.
		wait := b.target + (b.cfg.StartDelay - b.cfg.MinDelay).Seconds()
		if len(b.pkts) == 0 || now.Sub(b.firstArrival).Seconds() < wait {
			return Frame{Kind: KindBuffering}
		}
		b.started = true
		b.playTS = b.pkts[0].ts
		b.lastSeq = b.pkts[0].seq - 1
		b.level = b.secs(b.pkts[len(b.pkts)-1].ts + b.frame - b.playTS)
	}

	// Drop packets overtaken by the playout point (e.g. after a skip).
	for len(b.pkts) > 0 && (b.pkts[0].seq <= b.lastSeq || b.pkts[0].ts+b.frame/2 <= b.playTS) {
		b.pkts = b.pkts[1:]
		b.stats.Late++
	}

	if len(b.pkts) == 0 {
		b.level += (0 - b.level) / 8
		// Dry: hold the playout point so the late packet can still play (this
		// is how the delay grows). Conceal briefly, then play silence; after
		// a DTX packet play silence at once.
		b.concealRun++
		if b.lastLen <= 2 || b.concealRun > b.cfg.ConcealLimit {
			return Frame{Kind: KindSilence, TS: uint32(b.playTS)}
		}
		b.stats.Stretched++
		b.stats.Concealed++
		return Frame{Kind: KindLost, TS: uint32(b.playTS)}
	}

	maxTS := b.pkts[len(b.pkts)-1].ts
	level := b.secs(maxTS + b.frame - b.playTS)
	b.level += (level - b.level) / 8
	head := b.pkts[0]

	if head.ts > b.playTS+b.frame/2 && level > b.target+2*frameSec {
		// A gap before head while the buffer holds far more than the target:
		// jump the playout point forward inside the gap, where nothing
		// audible is skipped.
		newPlay := maxTS + b.frame - b.ticks(b.target)
		if off := (head.ts - newPlay) % b.frame; off > 0 {
			newPlay += off // keep head on the frame grid
		}
		newPlay = min(newPlay, head.ts)
		if newPlay > b.playTS {
			b.stats.Skipped += uint64((newPlay - b.playTS) / b.frame)
			b.playTS = newPlay
			b.level = b.secs(maxTS + b.frame - b.playTS)
		}
	}

	if head.ts <= b.playTS+b.frame/2 {
		// Far above target for a while: drop one frame of speech to catch up.
		if b.level > b.target+2*frameSec && b.sinceAdjust >= 10 && len(b.pkts) >= 2 &&
			b.pkts[1].seq == head.seq+1 && b.pkts[1].ts == head.ts+b.frame {
			b.pkts = b.pkts[1:]
			b.lastSeq = head.seq
			b.playTS = head.ts + b.frame
			b.stats.Skipped++
			b.sinceAdjust = 0
			b.level -= frameSec
			head = b.pkts[0]
		}
		b.pkts = b.pkts[1:]
		for s := b.lastSeq + 1; s < head.seq; s++ {
			b.markLost(s) // jumped over inside a gap
		}
		b.lastSeq = head.seq
		b.playTS = head.ts + b.frame
		b.lastLen = len(head.payload)
		b.concealRun = 0
		b.stats.Played++
		return Frame{Kind: KindPacket, Payload: head.payload, Seq: uint16(head.seq), TS: uint32(head.ts)}
	}

	ts := b.playTS
	b.playTS += b.frame
	if head.seq == b.lastSeq+1 {
		// Consecutive seq with a timestamp jump: the sender stopped sending
		// during silence (DTX). Nothing is lost.
		b.concealRun = 0
		return Frame{Kind: KindSilence, TS: uint32(ts)}
	}
	b.lastSeq++
	b.markLost(b.lastSeq)
	b.concealRun++
	if b.concealRun > b.cfg.ConcealLimit {
		return Frame{Kind: KindSilence, TS: uint32(ts)}
	}
	b.stats.Concealed++
	f := Frame{Kind: KindLost, TS: uint32(ts)}
	if head.seq == b.lastSeq+1 && head.ts == ts+b.frame {
		f.FEC = head.payload
	}
	return f
}

// Stats returns a snapshot of the counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.DelayMs = b.level * 1000
	s.TargetMs = b.target * 1000
	s.JitterMs = b.jitter * 1000
	return s
}

// Len returns the number of packets waiting.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pkts)
}

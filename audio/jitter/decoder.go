package jitter

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/termcall/termcall/audio/opus"
)

// DecoderStats adds the decoder's concealment counters to the buffer's.
type DecoderStats struct {
	Stats
	FECRecovered uint64 // lost frames rebuilt from the next packet's FEC
	PLCFrames    uint64 // lost frames concealed by PLC
	DecodeErrors uint64 // packets libopus rejected (concealed instead)
	StreamFrame  time.Duration
}

// switchAfter is how many consecutive packets of a new duration it takes to
// re-frame the buffer, so one odd packet cannot.
const switchAfter = 3

// Decoder combines a Buffer with a mono Opus decoder: packets in, PCM frames
// of the configured duration out, with FEC or PLC for lost frames and
// silence for DTX gaps. The sender's packet duration may differ from the
// output frame (10 ms packets, 20 ms output or the reverse): the buffer is
// framed by the packets, detected from their TOC byte, and the output is cut
// from the decoded audio. Safe for one goroutine to Push while another Pops.
type Decoder struct {
	cfg Config // output frame in cfg.FrameDuration

	mu       sync.Mutex
	buf      *Buffer
	prev     Stats // counters of buffers replaced by a re-framing
	dec      *opus.Decoder
	out      int     // output frame samples
	pending  []int16 // decoded audio not yet returned
	scratch  []int16
	newDur   int // candidate packet duration (samples) and how often seen
	newCount int
	fec      uint64
	plc      uint64
	bad      uint64
}

// NewDecoder returns a pipeline decoding mono Opus at cfg.ClockRate (48 kHz
// by default) into frames of cfg.FrameDuration.
func NewDecoder(cfg Config) (*Decoder, error) {
	b, err := New(cfg)
	if err != nil {
		return nil, err
	}
	dec, err := opus.NewDecoder(b.cfg.ClockRate, 1)
	if err != nil {
		return nil, fmt.Errorf("jitter decoder: %w", err)
	}
	return &Decoder{
		cfg: b.cfg, buf: b, dec: dec, out: b.FrameSamples(),
		scratch: make([]int16, b.cfg.ClockRate*120/1000),
	}, nil
}

// FrameSamples returns the samples in one output frame.
func (d *Decoder) FrameSamples() int { return d.out }

// Push hands an arrived RTP packet to the jitter buffer.
func (d *Decoder) Push(seq uint16, ts uint32, payload []byte, arrival time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.maybeReframe(payload)
	d.buf.Push(seq, ts, payload, arrival)
}

// maybeReframe switches the buffer's frame to the packets' duration once
// switchAfter packets in a row agree (or at once for the first packet).
func (d *Decoder) maybeReframe(payload []byte) {
	n, err := opus.PacketSamples(payload, d.cfg.ClockRate)
	unit := d.cfg.ClockRate / 400 // 2.5 ms
	if err != nil || n <= 0 || n%unit != 0 || n > d.cfg.ClockRate*60/1000 || n == d.buf.FrameSamples() {
		d.newCount = 0
		return
	}
	if n != d.newDur {
		d.newDur, d.newCount = n, 0
	}
	d.newCount++
	if d.newCount < switchAfter && d.buf.Stats().Received > 0 {
		return
	}
	cfg := d.cfg
	cfg.FrameDuration = time.Duration(n) * time.Second / time.Duration(cfg.ClockRate)
	nb, err := New(cfg)
	if err != nil {
		return
	}
	if old := d.buf.Stats(); old.Received > 0 {
		d.prev = addStats(d.prev, old)
		d.prev.Resets++
	}
	d.buf = nb
	d.newCount = 0
}

// Pop fills pcm (exactly one output frame) with the audio due at now and
// reports what produced it (the kind of the last stream frame used).
// Undecodable packets are concealed and counted, never returned as errors;
// errors mean misuse (wrong buffer size, closed).
func (d *Decoder) Pop(now time.Time, pcm []int16) (Kind, error) {
	if len(pcm) != d.out {
		return 0, fmt.Errorf("%w: got %d samples, want %d", ErrFrameSize, len(pcm), d.out)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	kind := KindPacket
	for len(d.pending) < len(pcm) {
		k, n, err := d.next(now)
		if err != nil {
			return 0, err
		}
		kind = k
		d.pending = append(d.pending, d.scratch[:n]...)
	}
	copy(pcm, d.pending)
	d.pending = append(d.pending[:0], d.pending[len(pcm):]...)
	return kind, nil
}

// next pops one stream frame from the buffer and decodes it into scratch.
func (d *Decoder) next(now time.Time) (Kind, int, error) {
	f := d.buf.Pop(now)
	n := d.buf.FrameSamples()
	pcm := d.scratch[:n]
	switch f.Kind {
	case KindPacket:
		got, err := d.dec.Decode(f.Payload, pcm)
		if err == nil {
			clear(pcm[got:]) // a packet shorter than the frame: pad
			return f.Kind, n, nil
		}
		if errors.Is(err, opus.ErrClosed) {
			return 0, 0, err
		}
		d.bad++
		if _, err := d.dec.DecodePLC(pcm); err != nil {
			return 0, 0, fmt.Errorf("conceal bad packet: %w", err)
		}
		d.plc++
		return KindLost, n, nil
	case KindLost:
		if f.FEC != nil {
			if _, err := d.dec.DecodeFEC(f.FEC, pcm); err == nil {
				d.fec++
				return f.Kind, n, nil
			}
		}
		if _, err := d.dec.DecodePLC(pcm); err != nil {
			return 0, 0, fmt.Errorf("plc: %w", err)
		}
		d.plc++
		return f.Kind, n, nil
	default:
		clear(pcm)
		return f.Kind, n, nil
	}
}

// Stats returns buffer and concealment counters.
func (d *Decoder) Stats() DecoderStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := DecoderStats{Stats: addStats(d.prev, d.buf.Stats())}
	s.FECRecovered, s.PLCFrames, s.DecodeErrors = d.fec, d.plc, d.bad
	s.StreamFrame = d.buf.cfg.FrameDuration
	return s
}

// addStats sums the counters of a and b and keeps b's estimates.
func addStats(a, b Stats) Stats {
	b.Received += a.Received
	b.Played += a.Played
	b.Lost += a.Lost
	b.Late += a.Late
	b.Duplicate += a.Duplicate
	b.Reordered += a.Reordered
	b.Concealed += a.Concealed
	b.Stretched += a.Stretched
	b.Skipped += a.Skipped
	b.Resets += a.Resets
	return b
}

// Close frees the Opus decoder.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dec.Close()
}

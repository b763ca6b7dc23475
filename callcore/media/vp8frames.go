package media

import (
	"sort"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Limits of the VP8 frame assembler.
const (
	// maxFramePackets bounds one frame: 1200-byte packets, so ~150 KB.
	maxFramePackets = 128
	// maxPendingFrames bounds the frames held while an older one waits
	// for a retransmission.
	maxPendingFrames = 8
	// frameWait is how long an incomplete frame may wait for its missing
	// packets (NACK retransmissions take about an RTT plus the NACK
	// interval) before it is given up and a keyframe is needed.
	frameWait = 250 * time.Millisecond
)

// vp8Frame is one reassembled frame.
type vp8Frame struct {
	data []byte
	// lossBefore reports that something was lost since the previous frame
	// (a packet, a whole frame, or a frame given up): the decoder needs a
	// keyframe before it can go on.
	lossBefore bool
}

// vp8Assembler rebuilds VP8 frames from RTP packets (RFC 7741). A frame is
// released as soon as its last packet (the marker) is in and nothing
// between its first and last sequence number is missing, in timestamp
// order, so video is not held back until the next frame starts, as a
// generic sample builder would. Frames that cannot complete within
// frameWait are dropped and reported as loss.
type vp8Assembler struct {
	pending  map[uint32]*partialFrame // by RTP timestamp
	started  bool
	lastTS   uint32 // timestamp of the last released or dropped frame
	lastSeq  uint16 // last sequence number of the last released frame
	haveSeq  bool
	lossNext bool
	stale    int // packets in a row older than what was released
}

type partialFrame struct {
	ts         uint32
	first      time.Time
	pkts       map[uint16][]byte // seq -> VP8 payload without the descriptor
	start, end uint16
	haveStart  bool
	haveEnd    bool
}

func newVP8Assembler() *vp8Assembler {
	return &vp8Assembler{pending: map[uint32]*partialFrame{}}
}

// tsBefore reports a < b in RTP timestamp order (with wraparound).
func tsBefore(a, b uint32) bool { return a != b && b-a < 1<<31 }

// push adds a packet that arrived at now and returns the frames it
// completes, oldest first.
func (a *vp8Assembler) push(p *rtp.Packet, now time.Time) []vp8Frame {
	var d codecs.VP8Packet
	payload, err := d.Unmarshal(p.Payload)
	if err != nil || len(payload) == 0 {
		return a.release(now) // padding or garbage: not part of a frame; time may still expire frames
	}
	if a.started && !tsBefore(a.lastTS, p.Timestamp) {
		// A frame already released or given up: a late retransmission.
		// A long run of them means the sender restarted its clock.
		if a.stale++; a.stale < maxFramePackets {
			return a.release(now)
		}
		*a = vp8Assembler{pending: map[uint32]*partialFrame{}, lossNext: true}
	}
	a.stale = 0
	f := a.pending[p.Timestamp]
	if f == nil {
		if len(a.pending) >= maxPendingFrames {
			a.dropOldest()
		}
		f = &partialFrame{ts: p.Timestamp, first: now, pkts: map[uint16][]byte{}}
		a.pending[p.Timestamp] = f
	}
	if _, dup := f.pkts[p.SequenceNumber]; !dup && len(f.pkts) < maxFramePackets {
		f.pkts[p.SequenceNumber] = payload
	}
	if d.S == 1 && d.PID == 0 {
		f.start, f.haveStart = p.SequenceNumber, true
	}
	if p.Marker {
		f.end, f.haveEnd = p.SequenceNumber, true
	}
	return a.release(now)
}

// complete reports whether every packet from start to end is in.
func (f *partialFrame) complete() bool {
	if !f.haveStart || !f.haveEnd {
		return false
	}
	n := int(f.end-f.start) + 1
	if n > maxFramePackets || n != len(f.pkts) {
		return false
	}
	for s := f.start; ; s++ {
		if _, ok := f.pkts[s]; !ok {
			return false
		}
		if s == f.end {
			return true
		}
	}
}

// oldest returns the pending frame with the earliest timestamp.
func (a *vp8Assembler) oldest() *partialFrame {
	var o *partialFrame
	for _, f := range a.pending {
		if o == nil || tsBefore(f.ts, o.ts) {
			o = f
		}
	}
	return o
}

func (a *vp8Assembler) dropOldest() {
	if o := a.oldest(); o != nil {
		a.drop(o)
	}
}

func (a *vp8Assembler) drop(f *partialFrame) {
	delete(a.pending, f.ts)
	a.started, a.lastTS = true, f.ts
	a.lossNext = true
}

// release hands out complete frames in timestamp order. An older frame
// still incomplete holds newer ones back until it completes or expires.
func (a *vp8Assembler) release(now time.Time) []vp8Frame {
	var out []vp8Frame
	for {
		o := a.oldest()
		if o == nil {
			return out
		}
		// A gap in sequence numbers before the oldest frame is a frame we
		// have not seen a packet of yet: wait for its retransmission too
		// (unless a frame was given up already: then only a keyframe helps).
		gap := !a.lossNext && a.haveSeq && o.haveStart && o.start != a.lastSeq+1
		if !o.complete() || gap {
			if now.Sub(o.first) < frameWait && len(a.pending) < maxPendingFrames {
				return out
			}
			if !o.complete() {
				a.drop(o)
				continue
			}
		}
		delete(a.pending, o.ts)
		seqs := make([]uint16, 0, len(o.pkts))
		size := 0
		for s, b := range o.pkts {
			seqs = append(seqs, s)
			size += len(b)
		}
		// Sort by distance from start, which handles wraparound.
		sort.Slice(seqs, func(i, j int) bool { return seqs[i]-o.start < seqs[j]-o.start })
		data := make([]byte, 0, size)
		for _, s := range seqs {
			data = append(data, o.pkts[s]...)
		}
		loss := a.lossNext || (a.haveSeq && o.start != a.lastSeq+1)
		a.started, a.lastTS = true, o.ts
		a.lastSeq, a.haveSeq = o.end, true
		a.lossNext = false
		out = append(out, vp8Frame{data: data, lossBefore: loss})
	}
}

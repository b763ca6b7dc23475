package rtc

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// termcall's own NACK generator. pion's (pkg/nack) logs the sequence
// numbers of the media stream only: a packet repaired through RTX arrives
// on the RTX stream, which it never sees, so it asks for that packet every
// 100 ms until it falls out of a 512-packet log — each lost packet is
// resent some 300 times, which on a thin link costs more than the video
// itself and reads as loss to the congestion control. This one also reads
// the RTX stream (the original sequence number is the payload's first two
// bytes, RFC 4588 §4), asks for a missing packet at once, and asks again
// only while the answer could still complete its frame.

const (
	// nackRetryEvery is the wait before asking again for a packet.
	nackRetryEvery = 100 * time.Millisecond
	// nackGiveUpAfter: the receiver's frame assembler waits 250 ms for a
	// missing packet (callcore/media), so asking later is wasted.
	nackGiveUpAfter = 300 * time.Millisecond
	// nackMaxTries bounds how often one packet is asked for.
	nackMaxTries = 4
	// nackMaxGap is the largest jump of sequence numbers taken as loss; a
	// larger one is a restarted stream, not 1,000 lost packets.
	nackMaxGap = 200
	// nackMaxMissing bounds what one stream keeps asking for.
	nackMaxMissing = 256
)

// nackGenerator is one peer connection's NACK generator.
type nackGenerator struct {
	interceptor.NoOp
	now func() time.Time

	mu      sync.Mutex
	streams map[uint32]*nackStream // by media SSRC
	rtx     map[uint32]uint32      // RTX SSRC -> media SSRC
	writer  interceptor.RTCPWriter
	kick    chan struct{}
	close   chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

// nackStream is what one media stream is missing.
type nackStream struct {
	started bool
	highest uint16
	missing map[uint16]*nackEntry
}

type nackEntry struct {
	lostAt, nextAt time.Time
	tries          int
}

// nackFactory builds a generator per peer connection.
type nackFactory struct{}

func (nackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackGenerator{
		now:     time.Now,
		streams: map[uint32]*nackStream{},
		rtx:     map[uint32]uint32{},
		kick:    make(chan struct{}, 1),
		close:   make(chan struct{}),
	}, nil
}

// BindRTCPWriter starts the loop that writes the NACKs.
func (g *nackGenerator) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.writer == nil && !g.closed {
		g.writer = w
		g.wg.Add(1)
		go g.loop(w)
	}
	return w
}

func wantsNACK(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// BindRemoteStream logs a media stream that takes NACKs, and the
// repairs of an RTX stream.
func (g *nackGenerator) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	switch {
	case wantsNACK(info):
		g.mu.Lock()
		g.streams[info.SSRC] = &nackStream{missing: map[uint16]*nackEntry{}}
		if info.SSRCRetransmission != 0 {
			g.rtx[info.SSRCRetransmission] = info.SSRC
		}
		g.mu.Unlock()
		ssrc := info.SSRC
		return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n, a, err := r.Read(b, a)
			if err != nil {
				return n, a, err
			}
			if a == nil {
				a = interceptor.Attributes{}
			}
			if h, herr := a.GetRTPHeader(b[:n]); herr == nil {
				g.received(ssrc, h.SequenceNumber, false)
			}
			return n, a, nil
		})
	case info.MimeType == webrtc.MimeTypeRTX:
		rtxSSRC := info.SSRC
		return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n, a, err := r.Read(b, a)
			if err != nil {
				return n, a, err
			}
			if osn, ok := originalSeq(b[:n]); ok {
				g.repaired(rtxSSRC, osn)
			}
			return n, a, nil
		})
	}
	return r
}

// originalSeq is the sequence number an RTX packet repairs; false for
// padding-only packets (bandwidth probes) and what does not parse.
func originalSeq(pkt []byte) (uint16, bool) {
	var p rtp.Packet
	if err := p.Unmarshal(pkt); err != nil || len(p.Payload) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(p.Payload), true
}

// repaired notes a repair of osn that came on rtxSSRC. pion's receiver
// does not say which media stream an RTX stream repairs (its StreamInfo
// has no SSRCRetransmission), so the first repair of a packet only one
// stream is missing binds the two.
func (g *nackGenerator) repaired(rtxSSRC uint32, osn uint16) {
	g.mu.Lock()
	media, known := g.rtx[rtxSSRC]
	if !known {
		var candidates int
		for ssrc, s := range g.streams {
			if _, missing := s.missing[osn]; missing {
				media, candidates = ssrc, candidates+1
			}
		}
		if candidates != 1 {
			g.mu.Unlock()
			return
		}
		g.rtx[rtxSSRC] = media
	}
	g.mu.Unlock()
	g.received(media, osn, true)
}

// UnbindRemoteStream forgets a stream.
func (g *nackGenerator) UnbindRemoteStream(info *interceptor.StreamInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, info.SSRC)
	delete(g.rtx, info.SSRC)
}

// received notes seq of ssrc: a repair or a late packet fills its gap, a
// jump opens gaps to ask for.
func (g *nackGenerator) received(ssrc uint32, seq uint16, repair bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streams[ssrc]
	if s == nil {
		return
	}
	if !s.started {
		if repair {
			return
		}
		s.started, s.highest = true, seq
		return
	}
	d := seq - s.highest // forward distance, mod 2^16
	switch {
	case d == 0:
		return
	case d < 1<<15 && !repair:
		if d > nackMaxGap {
			clear(s.missing)
		} else {
			now := g.now()
			for q := s.highest + 1; q != seq; q++ {
				if len(s.missing) < nackMaxMissing {
					s.missing[q] = &nackEntry{lostAt: now, nextAt: now}
				}
			}
			if d > 1 {
				select {
				case g.kick <- struct{}{}:
				default:
				}
			}
		}
		s.highest = seq
	default:
		delete(s.missing, seq) // late or repaired
	}
}

// loop writes NACKs when gaps open and retries them, sleeping while
// nothing is missing (no ticker per connection).
func (g *nackGenerator) loop(w interceptor.RTCPWriter) {
	defer g.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	senderSSRC := uint32(time.Now().UnixNano())
	for {
		select {
		case <-g.close:
			return
		case <-g.kick:
		case <-timer.C:
		}
		pkts, next := g.due(senderSSRC)
		if len(pkts) > 0 {
			// An error here is a closing connection; the loop ends with it.
			_, _ = w.Write(pkts, interceptor.Attributes{})
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if next > 0 {
			timer.Reset(next)
		} else {
			timer.Reset(time.Hour)
		}
	}
}

// due collects the NACKs to send now and how long until the next is due
// (0: nothing missing).
func (g *nackGenerator) due(senderSSRC uint32) ([]rtcp.Packet, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var pkts []rtcp.Packet
	var next time.Duration
	for ssrc, s := range g.streams {
		var seqs []uint16
		for q, e := range s.missing {
			if e.tries >= nackMaxTries || now.Sub(e.lostAt) > nackGiveUpAfter {
				delete(s.missing, q)
				continue
			}
			if !now.Before(e.nextAt) {
				seqs = append(seqs, q)
				e.tries++
				e.nextAt = now.Add(nackRetryEvery)
			}
			if wait := e.nextAt.Sub(now); next == 0 || wait < next {
				next = max(wait, time.Millisecond)
			}
		}
		if len(seqs) > 0 {
			sortSeqs(seqs, s.highest)
			pkts = append(pkts, &rtcp.TransportLayerNack{
				SenderSSRC: senderSSRC, MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs),
			})
		}
	}
	return pkts, next
}

// sortSeqs orders seqs oldest first, relative to highest (they wrap), as
// NackPairsFromSequenceNumbers needs.
func sortSeqs(seqs []uint16, highest uint16) {
	age := func(q uint16) uint16 { return highest - q }
	for i := 1; i < len(seqs); i++ {
		for j := i; j > 0 && age(seqs[j]) > age(seqs[j-1]); j-- {
			seqs[j], seqs[j-1] = seqs[j-1], seqs[j]
		}
	}
}

// Close stops the loop.
func (g *nackGenerator) Close() error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.close)
	}
	g.mu.Unlock()
	g.wg.Wait()
	return nil
}

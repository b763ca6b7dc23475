package rtc

import (
	"fmt"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// RTCP: keyframe requests in both directions, and the round-trip time
// from reception reports. NACKs are pion's (nackcount.go counts them).

// readRTCP keeps the sender's interceptors running, turns PLI/FIR into
// keyframe requests and takes the round-trip time from receiver reports.
func (m *Mesh) readRTCP(p *peer, s *webrtc.RTPSender, video bool) {
	defer m.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, pkt := range pkts {
			switch x := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if video && m.cb.KeyframeRequest != nil {
					m.cb.KeyframeRequest(p.id)
				}
			case *rtcp.ReceiverReport:
				p.noteRTT(now, x.Reports)
				p.noteLoss(now, x.Reports)
			case *rtcp.SenderReport:
				p.noteRTT(now, x.Reports)
				p.noteLoss(now, x.Reports)
			}
		}
	}
}

// noteRTT computes the round trip from reception reports (RFC 3550
// §6.4.1: arrival - LSR - DLSR, in 1/65536 s of the NTP clock). Computing
// it here, rather than asking pion's GetStats, also keeps clear of a data
// race between GetStats and a PeerConnection that pion closes by itself.
func (p *peer) noteRTT(now time.Time, reports []rtcp.ReceptionReport) {
	arrival := ntpMiddle(now)
	for _, r := range reports {
		if r.LastSenderReport == 0 {
			continue
		}
		d := arrival - r.LastSenderReport - r.Delay
		if d >= 1<<31 {
			continue // clocks disagree: a negative round trip
		}
		p.rtt.Store(int64(d) * int64(time.Second) / 65536)
	}
}

// lossReport is the loss a peer reported on this client's streams.
type lossReport struct {
	at       time.Time
	fraction float64 // 0-1, the highest over the streams reported
}

// noteLoss keeps the fraction lost the peer reports (RFC 3550 §6.4.1):
// counted by the receiver over its last report interval, after late and
// reordered packets arrived and before any repair, it is the link's own
// loss. The estimator's loss from transport-wide feedback is not: a packet
// that misses one feedback message counts as lost there.
func (p *peer) noteLoss(now time.Time, reports []rtcp.ReceptionReport) {
	if len(reports) == 0 {
		return
	}
	worst := 0.0
	for _, r := range reports {
		worst = max(worst, float64(r.FractionLost)/256)
	}
	if prev := p.loss.Load(); prev != nil && now.Sub(prev.at) < lossMerge {
		// Audio and video reports of one interval arrive apart: keep the
		// worse of the two.
		worst = max(worst, prev.fraction)
	}
	p.loss.Store(&lossReport{at: now, fraction: worst})
}

// lossMerge: reports this close together describe one interval.
const lossMerge = 200 * time.Millisecond

// lossStale: a report older than this says nothing about the link now
// (pion sends one a second).
const lossStale = 5 * time.Second

// ntpMiddle returns the middle 32 bits of the NTP timestamp of t.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32((secs<<32 | frac) >> 16)
}

// RTT returns the latest round-trip time to userID from RTCP, and false
// before the first receiver report.
func (m *Mesh) RTT(userID string) (time.Duration, bool) {
	m.mu.Lock()
	p := m.peers[userID]
	m.mu.Unlock()
	if p == nil {
		return 0, false
	}
	ns := p.rtt.Load()
	return time.Duration(ns), ns > 0
}

// drainRTCP reads a receiver's incoming RTCP (the peer's sender reports)
// until the connection closes: it only passes the interceptors when read,
// and without it receiver reports carry no LSR and nobody learns the round
// trip. The caller counted it in the wait group.
func (m *Mesh) drainRTCP(recv *webrtc.RTPReceiver) {
	defer m.wg.Done()
	for {
		if _, _, err := recv.ReadRTCP(); err != nil {
			return
		}
	}
}

// RequestKeyframe asks userID's sender for a keyframe (PLI) on the given
// remote video SSRC.
func (m *Mesh) RequestKeyframe(userID string, ssrc uint32) error {
	pc, ok := m.PeerConnection(userID)
	if !ok {
		return ErrUnknownPeer
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		return fmt.Errorf("keyframe request to %s: %w", userID, err)
	}
	return nil
}

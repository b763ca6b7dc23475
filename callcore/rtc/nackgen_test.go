package rtc

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newTestGenerator is a generator with one VP8 stream (ssrc 1, RTX ssrc 2)
// on a clock the test moves.
func newTestGenerator(t *testing.T) (*nackGenerator, *time.Time, interceptor.RTPReader, interceptor.RTPReader) {
	t.Helper()
	i, err := nackFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	g := i.(*nackGenerator)
	clock := time.Unix(1000, 0)
	g.now = func() time.Time { return clock }
	media := g.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1, SSRCRetransmission: 2, MimeType: webrtc.MimeTypeVP8,
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, passThrough{})
	repair := g.BindRemoteStream(&interceptor.StreamInfo{SSRC: 2, MimeType: webrtc.MimeTypeRTX}, passThrough{})
	return g, &clock, media, repair
}

type passThrough struct{}

func (passThrough) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return len(b), a, nil
}

func readPacket(t *testing.T, r interceptor.RTPReader, ssrc uint32, seq uint16, payload []byte) {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: seq, PayloadType: 96}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Read(b, nil); err != nil {
		t.Fatal(err)
	}
}

func nackedSeqs(pkts []rtcp.Packet) []uint16 {
	var out []uint16
	for _, p := range pkts {
		for _, pair := range p.(*rtcp.TransportLayerNack).Nacks {
			out = append(out, pair.PacketList()...)
		}
	}
	return out
}

func TestNACKGeneratorStopsAskingOnceRTXRepairs(t *testing.T) {
	g, clock, media, repair := newTestGenerator(t)
	for _, seq := range []uint16{65533, 65534, 1, 2} { // 65535 and 0 lost, across the wrap
		readPacket(t, media, 1, seq, []byte{0x10})
	}
	pkts, next := g.due(7)
	if got := nackedSeqs(pkts); !slices.Equal(got, []uint16{65535, 0}) {
		t.Fatalf("first NACK asks for %v, want [65535 0]", got)
	}
	if next != nackRetryEvery {
		t.Errorf("next retry in %v, want %v", next, nackRetryEvery)
	}
	// 0 comes back through RTX (original sequence number first in the
	// payload); 65535 does not.
	readPacket(t, repair, 2, 900, []byte{0x00, 0x00, 0x10})
	*clock = clock.Add(nackRetryEvery)
	pkts, _ = g.due(7)
	if got := nackedSeqs(pkts); !slices.Equal(got, []uint16{65535}) {
		t.Fatalf("retry asks for %v, want only the unrepaired [65535]", got)
	}
	// It is given up on after nackGiveUpAfter, whatever the tries left.
	*clock = clock.Add(nackGiveUpAfter)
	if pkts, next := g.due(7); len(pkts) != 0 || next != 0 {
		t.Errorf("after %v: NACKs %v, next %v; want none", nackGiveUpAfter, nackedSeqs(pkts), next)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNACKGeneratorIgnoresJumpsAndProbes(t *testing.T) {
	g, _, media, repair := newTestGenerator(t)
	readPacket(t, media, 1, 10, []byte{0x10})
	readPacket(t, media, 1, 10+nackMaxGap+5, []byte{0x10}) // a restarted stream
	readPacket(t, repair, 2, 5, nil)                       // padding-only probe
	readPacket(t, media, 1, 9, []byte{0x10})               // late, older than anything missing
	if pkts, _ := g.due(7); len(pkts) != 0 {
		t.Errorf("NACKs %v after a jump, a probe and a late packet; want none", nackedSeqs(pkts))
	}
	// Garbage on either stream is passed on and changes nothing.
	for _, r := range []interceptor.RTPReader{media, repair} {
		if _, _, err := r.Read([]byte{0x80}, nil); err != nil {
			t.Errorf("garbage packet: %v", err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

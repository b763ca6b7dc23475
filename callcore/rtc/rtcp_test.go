package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestNTPMiddleAndRTT(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 500_000_000)
	lsr := ntpMiddle(t0)
	// The report left the peer 10 ms after our SR reached it and arrives
	// 50 ms after we sent the SR: 40 ms of network round trip.
	p := &peer{}
	dlsr := uint32(10 * 65536 / 1000)
	p.noteRTT(t0.Add(50*time.Millisecond), []rtcp.ReceptionReport{{LastSenderReport: lsr, Delay: dlsr}})
	got := time.Duration(p.rtt.Load())
	if got < 39*time.Millisecond || got > 41*time.Millisecond {
		t.Fatalf("rtt %v, want 40ms", got)
	}
	// A report from before our clock (negative round trip) is ignored.
	p.noteRTT(t0, []rtcp.ReceptionReport{{LastSenderReport: lsr + 65536, Delay: 0}})
	if time.Duration(p.rtt.Load()) != got {
		t.Fatal("negative round trip was stored")
	}
}

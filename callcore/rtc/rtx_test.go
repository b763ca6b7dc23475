package rtc

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/netsim"
)

// A video packet lost on the way is asked for and arrives through RTX:
// the receiver's track sees almost every sequence number, and a loss
// costs a NACK or two, not a flood.
func TestMeshRepairsLostVideo(t *testing.T) {
	t.Parallel()
	bobNet, err := netsim.NewNet(newCountingNet(t), netsim.Config{Loss: 0.05, Seed: 7})
	must(t, err)
	sides, _ := newPairWith(t, map[string]transport.Net{"bob": bobNet}, "alice", "bob")
	a, b := sides["alice"], sides["bob"]
	must(t, a.mesh.AddPeer("bob", false))
	must(t, b.mesh.AddPeer("alice", true))
	waitFor(t, "both peers up", 15*time.Second, func() bool { return a.isUp("bob") && b.isUp("alice") })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pump(a.mesh, stop, &wg)
	// 50 video packets a second: 8 s is ~400, ~20 of them lost.
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // the last repairs
	pc, _ := b.mesh.PeerConnection("alice")
	var nacks uint64
	for _, tr := range pc.GetReceivers() {
		if tr.Track() != nil && tr.Track().Kind() == webrtc.RTPCodecTypeVideo {
			nacks = b.mesh.NACKsSent(uint32(tr.Track().SSRC()))
		}
	}
	missing, span := b.gaps("alice/video")
	st := bobNet.Stats()
	t.Logf("bob's inbound %+v; video: %d of %d packets never arrived; %d NACKs sent", st, missing, span, nacks)
	if span < 200 || st.Dropped < 10 {
		t.Fatalf("too little to judge: %d video packets, %d dropped", span, st.Dropped)
	}
	// Without repair ~5 % would be missing; a repair is lost too only with
	// 5 % × 5 % per try.
	if float64(missing) > 0.01*float64(span) {
		t.Errorf("%d of %d video packets missing at bob (5 %% loss), want under 1 %%: repairs do not arrive", missing, span)
	}
	// Every loss is asked for about once (a few again when the repair is
	// lost too); pion's own generator asked ~300 times.
	if lost := uint64(st.Dropped); nacks > 3*lost {
		t.Errorf("%d NACKs for %d packets lost on bob's inbound, want at most 3 a loss", nacks, lost)
	}
}

package media

import (
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/rtc"
)

// gccLink stands in for the estimator on a link: like GCC, its estimate
// grows a few per cent a step but never far above what arrives (the
// ratio 1.4 is what CI measured: 126 kbit/s estimated over 89 sent).
type gccLink struct {
	a           *adapter
	now         time.Time
	video, sent uint64
	estKbps     float64
}

// step runs one adapt period with the link carrying at most linkKbps and
// reporting loss. A busy source spends all of its video target, and no
// less than 60 % of its rung's need however low the target (VP8 at its
// coarsest quantizer).
func (g *gccLink) step(linkKbps, loss float64) videoTarget {
	g.a.update(g.now, rtc.Estimate{Bitrate: int(g.estKbps * 1000), Loss: loss, Queuing: loss > 0, Peers: 1},
		[]string{"bob"}, g.video, g.sent)
	t := *g.a.video.Load()
	vk := max(float64(t.Kbps), 0.6*need(rung{Width: t.Width, Height: t.Height, FPS: t.FPS}))
	ak := float64(g.a.audioBps.Load()) / 1000
	secs := adaptEvery.Seconds()
	g.video += uint64(vk * 1000 / 8 * secs)
	g.sent += uint64((vk + ak) * 1000 / 8 * secs)
	g.estKbps = min(linkKbps, g.estKbps*1.04, 1.4*(vk+ak+overheadKbps))
	g.now = g.now.Add(adaptEvery)
	return t
}

// TestAdapterClimbsBackAfterCongestion: congestion takes the video down
// the ladder; once the link is open again the video climbs back to its
// full size and rate, although on a low rung it sends too little for the
// estimate alone to cover the next one (CI saw it held at 160x120@10,
// 74 kbit/s, for 20 s after the limit lifted).
func TestAdapterClimbsBackAfterCongestion(t *testing.T) {
	p := callcore.VideoProfile{Width: 320, Height: 240, FPS: 15, MaxKbps: 300}
	g := &gccLink{a: newAdapter(p, 32000), now: time.Unix(1_800_000_000, 0), estKbps: rtc.EstimateStart / 1000}
	var tgt videoTarget
	for range 20 { // 10 s congested: 80 kbit/s with loss while queuing
		g.estKbps = 80
		tgt = g.step(80, 0.05)
	}
	if tgt.Width >= 320 {
		t.Fatalf("after 10 s at 80 kbit/s with loss the video is %+v, want a lower rung", tgt)
	}
	t.Logf("congested: %+v", tgt)
	opened := g.now
	for g.now.Sub(opened) < 25*time.Second {
		tgt = g.step(3000, 0)
		if tgt.Width == 320 && tgt.Height == 240 && tgt.FPS == 15 && tgt.Kbps >= 250 {
			t.Logf("link open: back to %+v after %v", tgt, g.now.Sub(opened))
			return
		}
	}
	t.Fatalf("25 s after the link opened the video is %+v (estimate %.0f kbit/s), want 320x240@15 at 250 kbit/s or more", tgt, g.estKbps)
}

// TestAdapterLossyLinkKeepsVideo: on a link that loses 5 % without
// queuing, GCC's loss-based half falls to its floor and stays (it rises
// only below 2 % loss); the video follows the delay-based half and keeps
// its full size. With the delay growing too, the same loss is congestion
// and the video steps down.
func TestAdapterLossyLinkKeepsVideo(t *testing.T) {
	p := callcore.VideoProfile{Width: 320, Height: 240, FPS: 15, MaxKbps: 300}
	for _, tc := range []struct {
		queuing bool
		full    bool
	}{{queuing: false, full: true}, {queuing: true, full: false}} {
		a := newAdapter(p, 32000)
		now := time.Unix(1_800_000_000, 0)
		var video, sent uint64
		var tgt videoTarget
		for range 20 {
			a.update(now, rtc.Estimate{Bitrate: 43_000, DelayBitrate: 520_000, Loss: 0.05, Queuing: tc.queuing, Peers: 1},
				[]string{"bob"}, video, sent)
			tgt = *a.video.Load()
			video += uint64(tgt.Kbps * 1000 / 8 / 2)
			sent += uint64((tgt.Kbps + int(a.audioBps.Load())/1000) * 1000 / 8 / 2)
			now = now.Add(adaptEvery)
		}
		full := tgt.Width == 320 && tgt.FPS == 15 && tgt.Kbps >= 250
		if full != tc.full {
			t.Errorf("5 %% loss, queuing %v: video %+v after 10 s, want full size %v", tc.queuing, tgt, tc.full)
		}
	}
}

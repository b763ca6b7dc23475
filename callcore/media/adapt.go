package media

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/audio/opus"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/rtc"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/vp8"
)

// What the session sends follows three limits, the smallest winning:
// the profile (setVideoQuality), the largest size any receiver shows
// (viewsize signals), and the bandwidth estimate (rtc.Mesh.Estimate, the
// weakest receiver's: one encode serves every peer). Audio is served
// first; video gets what is left and steps down a ladder of sizes and
// frame rates instead of starving at one size.

// videoTarget is what the video encoder is set to.
type videoTarget struct {
	Width, Height, FPS int
	Kbps               int
}

// rung is one step of the ladder.
type rung struct{ Width, Height, FPS int }

// adaptEvery is how often the targets are recomputed: GCC updates on each
// feedback (~every 100 ms); twice a second follows it without chasing
// every wobble.
const adaptEvery = 500 * time.Millisecond

// Ladder tuning.
const (
	// bitsPerPixel is the VP8 rate below which a rung looks worse than
	// the next one down (realtime, cpu-used -6, moving content).
	bitsPerPixel = 0.08
	// upMargin and upAfter: a step up needs this much more than the
	// higher rung's need, held this long (a new size costs a keyframe).
	upMargin = 1.3
	upAfter  = 3 * time.Second
	// minVideoKbps is the floor of the encoder's target.
	minVideoKbps = 20
	// overheadKbps is what RTP headers and extensions of 50 audio and
	// ~20 video packets a second cost: GCC counts them, the encoders'
	// bitrates do not.
	overheadKbps = 15
	// estimateShare is the share of the estimate the encoders are given:
	// GCC's target is where queues start to grow, not a safe mean.
	estimateShare = 0.9
	// lossyAbove and lossyFor: reports of more loss than this, while the
	// delay grows (rtc.Estimate.Queuing), make the link count as
	// congested for a while. Loss without queuing is a lossy link: RTX
	// repairs it and sending less would only make the video worse.
	lossyAbove = 0.02
	lossyFor   = 5 * time.Second
	// heavyLoss is congestion without queuing too: a full tbf queue
	// drops 10-50 % at a constant delay, which GCC's delay detector (it
	// sees delay growth) reads as normal.
	heavyLoss = 0.1
	// probeAfter: a cheap source steps up after this long without loss.
	probeAfter = 10 * time.Second
)

// adapter holds the session's sending targets. update runs on the
// adapt loop; the send loops read the targets through atomics.
type adapter struct {
	mu        sync.Mutex
	profile   callcore.VideoProfile
	limits    map[string]rung // by peer: the largest size it shows (FPS unused)
	top       rung            // of the current ladder
	ladder    []rung
	rung      int
	upSince   time.Time
	lastVideo uint64 // video payload bytes sent, at lastAt
	lastSent  uint64 // all payload bytes sent, at lastAt
	lastAt    time.Time
	videoKbps float64 // what the encoder really produced lately (EWMA)
	sentKbps  float64 // audio and video payload sent lately (EWMA)
	// lossyUntil: the feedback showed loss lately (until then).
	lossyUntil time.Time
	// calmSince: no loss and no step since then (for probing up).
	calmSince time.Time
	est       rtc.Estimate

	video    atomic.Pointer[videoTarget]
	audioBps atomic.Int32
	lossPerc atomic.Int32
}

func newAdapter(p callcore.VideoProfile, opusBps int) *adapter {
	a := &adapter{profile: p, limits: map[string]rung{}}
	a.top = a.topLocked(nil)
	a.ladder = ladderFor(a.top, p.FPS)
	top := a.ladder[0]
	a.video.Store(&videoTarget{Width: top.Width, Height: top.Height, FPS: top.FPS, Kbps: p.MaxKbps})
	a.audioBps.Store(int32(opusBps))
	a.lossPerc.Store(initialLossPerc)
	return a
}

// initialLossPerc is the in-band FEC setting before any loss is measured.
const initialLossPerc = 5

// profileFromOptions is the profile the options describe (the default
// before any setVideoQuality).
func profileFromOptions(o Options) callcore.VideoProfile {
	p := callcore.VideoProfile{Width: o.Width, Height: o.Height, FPS: o.FPS, MaxKbps: o.VideoKbps}
	for _, q := range callcore.VideoQualities() {
		if qp, err := q.Profile(); err == nil && qp.Width == p.Width && qp.Height == p.Height {
			p.Quality = q
		}
	}
	return p
}

// setProfile changes the profile; the next update rebuilds the ladder.
func (a *adapter) setProfile(p callcore.VideoProfile) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.profile = p
	a.top = rung{} // rebuild even if the top size stays
}

// setLimit records the largest size peer shows (0x0: no limit).
func (a *adapter) setLimit(peer string, w, h int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w <= 0 || h <= 0 {
		delete(a.limits, peer)
	} else {
		a.limits[peer] = rung{Width: w, Height: h}
	}
}

// dropPeer forgets a peer's limit (it left).
func (a *adapter) dropPeer(peer string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.limits, peer)
}

// topLocked is the profile's size scaled down (aspect kept) to fit the
// largest size any of peers shows. A peer that has not said shows video
// at any size (a browser, a headless client writing files), and so does
// a call with no peer yet.
func (a *adapter) topLocked(peers []string) rung {
	w, h := a.profile.Width, a.profile.Height
	limited := len(peers) > 0
	maxW, maxH := 0, 0
	for _, id := range peers {
		l, ok := a.limits[id]
		if !ok {
			limited = false
			break
		}
		maxW, maxH = max(maxW, l.Width), max(maxH, l.Height)
	}
	if limited {
		f := min(1, float64(maxW)/float64(w), float64(maxH)/float64(h))
		w, h = evenAtLeast(float64(w)*f, minSide), evenAtLeast(float64(h)*f, minSide)
	}
	return rung{Width: w, Height: h, FPS: a.profile.FPS}
}

// minSide is the smallest width or height sent.
const minSide = 16

func evenAtLeast(v float64, floor int) int {
	return max(floor, int(v)&^1)
}

// ladderFor lists the rungs from top down: the full size at the profile's
// rate and at two thirds of it, then at 10 fps; half and quarter size at
// 10 fps; the quarter size at 5 fps last.
func ladderFor(top rung, fps int) []rung {
	low := min(fps, 10)
	half := rung{Width: evenAtLeast(float64(top.Width)/2, minSide), Height: evenAtLeast(float64(top.Height)/2, minSide)}
	quarter := rung{Width: evenAtLeast(float64(top.Width)/4, minSide), Height: evenAtLeast(float64(top.Height)/4, minSide)}
	cand := []rung{
		{top.Width, top.Height, fps},
		{top.Width, top.Height, max(low, fps*2/3)},
		{top.Width, top.Height, low},
		{half.Width, half.Height, low},
		{quarter.Width, quarter.Height, low},
		{quarter.Width, quarter.Height, min(fps, 5)},
	}
	out := cand[:1]
	for _, r := range cand[1:] {
		if r != out[len(out)-1] {
			out = append(out, r)
		}
	}
	return out
}

// need is the video bitrate, kbit/s, a rung needs to look right.
func need(r rung) float64 {
	return max(minVideoKbps, bitsPerPixel*float64(r.Width*r.Height*r.FPS)/1000)
}

// capKbps is the most worth spending on r: the profile's cap scaled by
// the pixel rate, so that a small view does not cost a large stream's bits.
func (a *adapter) capKbps(r rung) int {
	p := a.profile
	share := float64(r.Width*r.Height*r.FPS) / float64(p.Width*p.Height*max(1, p.FPS))
	return max(minVideoKbps, int(math.Round(float64(p.MaxKbps)*min(1, share))))
}

// audioFor picks the Opus bitrate for a total estimate: audio keeps its
// full rate down to links video would be hardly usable on.
func audioFor(estKbps float64) int {
	switch {
	case estKbps >= 140:
		return 32000
	case estKbps >= 90:
		return 24000
	}
	return 16000
}

// lossPercFor is Opus's expected loss for in-band FEC: what the feedback
// measures, with some margin, within 2..30 %.
func lossPercFor(loss float64) int {
	return min(30, max(2, int(math.Ceil(loss*100*1.25))+2))
}

// update recomputes the targets from the estimate est, the peers of the
// call and the video bytes sent so far.
func (a *adapter) update(now time.Time, est rtc.Estimate, peers []string, videoBytes, sentBytes uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.est = est
	for id := range a.limits {
		if !slices.Contains(peers, id) {
			delete(a.limits, id) // gone: a peer of the same name starts afresh
		}
	}
	if top := a.topLocked(peers); top != a.top {
		// A new ladder: the next pick takes the rung that fits the
		// estimate, without the wait of a step up.
		a.top = top
		a.ladder = ladderFor(top, a.profile.FPS)
		a.rung = -1
		a.upSince = time.Time{}
	}
	if !a.lastAt.IsZero() {
		if secs := now.Sub(a.lastAt).Seconds(); secs > 0 {
			a.videoKbps += 0.3 * (float64(videoBytes-a.lastVideo)*8/1000/secs - a.videoKbps)
			a.sentKbps += 0.3 * (float64(sentBytes-a.lastSent)*8/1000/secs - a.sentKbps)
		}
	}
	a.lastAt, a.lastVideo, a.lastSent = now, videoBytes, sentBytes
	if est.Loss > lossyAbove && (est.Queuing || est.Loss > heavyLoss) {
		a.lossyUntil = now.Add(lossyFor)
	}
	lossy := now.Before(a.lossyUntil)

	budget := math.Inf(1)
	if est.Peers > 0 && est.Bitrate > 0 {
		total := float64(est.Bitrate) / 1000
		if !est.Queuing && est.Loss <= heavyLoss && est.DelayBitrate > est.Bitrate {
			// Loss without queuing is the link's (radio, a bad cable), which
			// RTX and FEC repair: GCC's loss-based half holds a 5 % lossy link
			// at its floor for good (it only rises below 2 % loss), while
			// its delay-based half still sees congestion coming. CI saw a
			// call at 80x60@5 for the whole of a 5 %-loss, 30 ms-jitter call.
			total = float64(est.DelayBitrate) / 1000
		}
		if !lossy {
			// Everything sent arrives: the link carries at least that.
			// GCC's own estimate falls to 85 % of what arrives on a delay
			// spike and climbs back slowly when the source needs little
			// (a still picture, a pattern); that alone is no reason for
			// smaller video.
			total = max(total, a.sentKbps+overheadKbps)
		}
		abps := audioFor(total)
		a.audioBps.Store(int32(abps))
		budget = total*estimateShare - float64(abps)/1000 - overheadKbps
		a.lossPerc.Store(int32(lossPercFor(est.Loss)))
	}
	a.pickLocked(now, budget, lossy)
	r := a.ladder[a.rung]
	kbps := a.capKbps(r)
	if !math.IsInf(budget, 1) {
		kbps = min(kbps, max(minVideoKbps, int(budget)))
	}
	t := &videoTarget{Width: r.Width, Height: r.Height, FPS: r.FPS, Kbps: kbps}
	if cur := a.video.Load(); cur == nil || *cur != *t {
		a.video.Store(t)
	}
}

// pickLocked moves down the ladder at once when the budget does not cover
// the current rung and the video really uses more than the budget (a
// cheap source is left at its size: its bitrate target falls, which
// costs it nothing). It moves up one rung when the budget has covered the
// next one with margin for upAfter, or, for a source that does not use
// its target (the estimate cannot rise above what is sent, so the budget
// never covers the next rung), after probeAfter without loss; for one
// held back by its rung's cap below the budget, after upAfter.
func (a *adapter) pickLocked(now time.Time, budget float64, lossy bool) {
	last := len(a.ladder) - 1
	if a.rung < 0 || a.rung > last {
		// A new ladder: the highest rung that fits.
		a.rung = last
		for i, r := range a.ladder {
			if need(r) <= budget {
				a.rung = i
				break
			}
		}
		a.upSince, a.calmSince = time.Time{}, now
		return
	}
	if lossy {
		a.calmSince = now
	}
	cur := a.ladder[a.rung]
	if budget < need(cur) && budget < a.videoKbps*0.9 {
		for a.rung < last && need(a.ladder[a.rung]) > budget {
			a.rung++
		}
		a.upSince, a.calmSince = time.Time{}, now
		return
	}
	if a.rung == 0 {
		return
	}
	// The estimate cannot rise far above what is sent, so two kinds of
	// video never see a budget that covers the next rung: a source that
	// does not use its target, and a rung whose own cap (capKbps), not
	// the budget, holds the encoder back. Both probe up when calm; the
	// capped one sooner, as the budget already shows spare bandwidth.
	target := float64(a.video.Load().Kbps)
	calm := now.Sub(a.calmSince)
	starved := a.videoKbps < target*0.7 && calm >= probeAfter
	capped := float64(a.capKbps(cur)) < budget && calm >= upAfter
	if !lossy && (starved || capped) {
		a.rung--
		a.upSince, a.calmSince = time.Time{}, now
		return
	}
	if budget < need(a.ladder[a.rung-1])*upMargin {
		a.upSince = time.Time{}
		return
	}
	if a.upSince.IsZero() {
		a.upSince = now
		return
	}
	if now.Sub(a.upSince) >= upAfter {
		a.rung--
		a.upSince, a.calmSince = time.Time{}, now
	}
}

// snapshot returns the current target, estimate and quality (for stats).
func (a *adapter) snapshot() (videoTarget, rtc.Estimate, callcore.VideoQuality) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.video.Load(), a.est, a.profile.Quality
}

// adaptLoop keeps the targets current and tells peers how large this
// client shows their video.
func (s *Session) adaptLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(adaptEvery)
	defer tick.Stop()
	sent := map[string]viewSize{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			s.adapt.update(now, s.mesh.Estimate(), s.mesh.Peers(), s.send.videoBytes.Load(), s.sentBytes())
			s.sendViewSizes(sent)
		}
	}
}

// audioEncoderState is what sendAudio last set on its encoder.
type audioEncoderState struct{ bps, lossPerc int32 }

// applyAudio sets the Opus encoder to the adapter's targets when they
// changed since st.
func (s *Session) applyAudio(enc *opus.Encoder, st *audioEncoderState) {
	bps, perc := s.adapt.audioBps.Load(), s.adapt.lossPerc.Load()
	if bps != st.bps {
		if err := enc.SetBitrate(int(bps)); err != nil {
			s.log.Debug("opus bitrate", "err", err)
		}
		st.bps = bps
	}
	if perc != st.lossPerc {
		if err := enc.SetPacketLossPerc(int(perc)); err != nil {
			s.log.Debug("opus loss", "err", err)
		}
		st.lossPerc = perc
	}
}

// resizable is a source that can deliver another size itself (the busy
// pattern): asking it costs less than scaling each frame.
type resizable interface{ SetSize(w, h int) }

// applyVideo brings the encoder to the adapter's target: a new bitrate
// is set in place; a new size or frame rate needs a new encoder (VP8
// cannot grow a running one), whose first frame is a keyframe. It returns
// the encoder to use (enc, or its replacement) and whether the frame rate
// changed.
func (s *Session) applyVideo(enc *vp8.Encoder) (*vp8.Encoder, bool) {
	t := s.adapt.video.Load()
	c := enc.Config()
	if t.Width == c.Width && t.Height == c.Height && t.FPS == c.FPS {
		if t.Kbps != c.BitrateKbps {
			if err := enc.SetBitrate(t.Kbps); err != nil {
				s.log.Debug("vp8 bitrate", "err", err)
			}
		}
		return enc, false
	}
	next, err := vp8.NewEncoder(vp8.EncoderConfig{Width: t.Width, Height: t.Height, FPS: t.FPS, BitrateKbps: t.Kbps})
	if err != nil {
		s.log.Warn("video encoder", "size", t.Width, "height", t.Height, "err", err)
		return enc, false
	}
	_ = enc.Close()
	if r, ok := s.opts.VideoIn.(resizable); ok {
		r.SetSize(t.Width, t.Height)
	}
	s.log.Debug("video step", "width", t.Width, "height", t.Height, "fps", t.FPS, "kbps", t.Kbps)
	return next, t.FPS != c.FPS
}

// scaleTo gives f the encoder's size (sources other than the busy
// pattern keep their own).
func scaleTo(f *video.Frame, c vp8.EncoderConfig) *video.Frame {
	if f.Width != c.Width || f.Height != c.Height {
		return video.Resize(f, c.Width, c.Height)
	}
	return f
}

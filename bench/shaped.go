package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pion/transport/v5/stdnet"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/netsim"
	"github.com/termcall/termcall/video"
)

// The shaped-link run: a call whose links are shaped mid-call to
// ShapedLinkKbps both ways (in-process, netsim's rate shaper: a FIFO at
// that rate with an 80 ms queue, as a home router's tbf), then lifted. The
// sender sends a moving, noisy picture that fills any bitrate. The e2e
// test TestShapedLinkAdapts does the same with tbf in network namespaces
// and asserts on it; this measures it.
const (
	ShapedLinkKbps    = 200
	DefaultShapedHold = 10 // one-second windows judged while shaped
	// recoverKbps is what counts as "back" once the limit is lifted.
	recoverKbps = 250
	// shapedWarmup is the unshaped start of each run.
	shapedWarmup = 4 * time.Second
	// adaptWithin and recoverWithin bound the waits; a run that does not
	// get there in time reports the bound.
	adaptWithin   = 15 * time.Second
	recoverWithin = 25 * time.Second
)

// ShapedResult is the shaped-link row: medians over the runs.
type ShapedResult struct {
	Runs     int `json:"runs"`
	LinkKbps int `json:"linkKbps"`
	// AdaptS: from the shaping to the first one-second window in which
	// the sender sends less than the link.
	AdaptS float64 `json:"adaptS"`
	// HeldKbps and HeldFPS: what the sender sent and the receiver decoded
	// over the windows judged while shaped.
	HeldKbps float64 `json:"heldKbps"`
	HeldFPS  float64 `json:"heldFps"`
	// MaxFreezeMs is the longest freeze of the sender's video at the
	// receiver over every shaped window of every run.
	MaxFreezeMs float64 `json:"maxFreezeMs"`
	// RecoverS: from lifting the limit to the first window above 250
	// kbit/s.
	RecoverS float64 `json:"recoverS"`
	// HeardPercent is the share of shaped windows in which the receiver
	// heard the sender's tone.
	HeardPercent float64 `json:"heardPercent"`
}

// shapedRun is one run's numbers.
type shapedRun struct {
	adapt, recover time.Duration
	held, fps      []float64
	maxFreeze      float64
	heard, windows int
}

// shapedParty is a party on its own shaped inbound link, whose stats
// arrive on a channel.
type shapedParty struct {
	*party
	net   *netsim.Net
	stats chan media.Stats
}

func newShapedParty(ctx context.Context, env benchEnv, user string, hz float64, busy bool) (*shapedParty, error) {
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("net: %w", err)
	}
	n, err := netsim.NewNet(std, netsim.Config{})
	if err != nil {
		return nil, err
	}
	tone, err := audio.NewTone(audio.DefaultFormat(), hz, 0.3)
	if err != nil {
		return nil, err
	}
	sp := &shapedParty{net: n, stats: make(chan media.Stats, 64)}
	opts := media.Options{AudioIn: tone, Net: n, StatsEvery: time.Second, OnStats: func(s media.Stats) {
		select {
		case sp.stats <- s:
		default: // the run is not reading: drop
		}
	}}
	if busy {
		if opts.VideoIn, err = video.NewBusy(320, 240); err != nil {
			return nil, err
		}
	}
	if sp.party, err = newParty(ctx, env, user, opts); err != nil {
		return nil, err
	}
	return sp, nil
}

// nextStats returns the party's next stats about peer.
func (p *shapedParty) nextStats(ctx context.Context, peer string) (media.Stats, error) {
	t := time.NewTimer(stepWait)
	defer t.Stop()
	for {
		select {
		case s := <-p.stats:
			if s.UserID == peer {
				return s, nil
			}
		case <-t.C:
			return media.Stats{}, fmt.Errorf("%w: %s got no stats about %s in %v", ErrTimeout, p.user, peer, stepWait)
		case <-ctx.Done():
			return media.Stats{}, ctx.Err()
		}
	}
}

func (p *shapedParty) setRate(kbps int) error { return p.net.SetRate(kbps * 1000) }

// sendsWithin is how long from now until a one-second window in which
// what the party sends satisfies ok (within, if none does).
func (p *shapedParty) sendsWithin(ctx context.Context, peer string, within time.Duration, ok func(kbps float64) bool) (time.Duration, error) {
	start := time.Now()
	p.drain()
	for time.Since(start) < within {
		s, err := p.nextStats(ctx, peer)
		if err != nil {
			return 0, err
		}
		if ok(s.SendKbps) {
			return time.Since(start), nil
		}
	}
	return within, nil
}

// drain drops the stats queued so far: the next are of what comes now.
func (p *shapedParty) drain() {
	for {
		select {
		case <-p.stats:
		default:
			return
		}
	}
}

// measureShaped makes runs shaped-link calls from a sender of a busy
// picture to a receiver that sends only audio.
func measureShaped(ctx context.Context, env benchEnv, runs, hold int) (ShapedResult, error) {
	res := ShapedResult{Runs: runs, LinkKbps: ShapedLinkKbps}
	alice, err := newShapedParty(ctx, env, "bench-shaped-sender", 440, true)
	if err != nil {
		return res, err
	}
	defer alice.close()
	bob, err := newShapedParty(ctx, env, "bench-shaped-receiver", 880, false)
	if err != nil {
		return res, err
	}
	defer bob.close()

	var adapt, recover, held, fps []float64
	var heard, windows int
	for i := range runs {
		env.printf("shaped link: run %d of %d", i+1, runs)
		r, err := shapedCall(ctx, alice, bob, hold)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", i+1, err)
		}
		adapt = append(adapt, r.adapt.Seconds())
		recover = append(recover, r.recover.Seconds())
		held = append(held, median(r.held))
		fps = append(fps, median(r.fps))
		res.MaxFreezeMs = math.Max(res.MaxFreezeMs, r.maxFreeze)
		heard, windows = heard+r.heard, windows+r.windows
	}
	res.AdaptS, res.RecoverS = median(adapt), median(recover)
	res.HeldKbps, res.HeldFPS = median(held), median(fps)
	if windows > 0 {
		res.HeardPercent = 100 * float64(heard) / float64(windows)
	}
	return res, nil
}

// shapedCall is one run: warm up unshaped, shape both links, judge hold
// windows, lift and wait for the sender to climb back.
func shapedCall(ctx context.Context, alice, bob *shapedParty, hold int) (shapedRun, error) {
	var r shapedRun
	if _, err := call(ctx, alice.party, bob.party, 0); err != nil {
		return r, err
	}
	for _, p := range []*party{alice.party, bob.party} {
		if _, err := p.next(ctx, callcore.EventUserEnter); err != nil {
			return r, err
		}
	}
	defer func() {
		// Unshaped for the next run, whatever happened.
		_ = alice.setRate(0)
		_ = bob.setRate(0)
	}()
	if err := sleep(ctx, shapedWarmup); err != nil {
		return r, err
	}
	for _, p := range []*shapedParty{alice, bob} {
		if err := p.setRate(ShapedLinkKbps); err != nil {
			return r, err
		}
	}
	var err error
	r.adapt, err = alice.sendsWithin(ctx, bob.user, adaptWithin, func(kbps float64) bool { return kbps < ShapedLinkKbps })
	if err != nil {
		return r, err
	}
	alice.drain()
	bob.drain()
	for range hold {
		s, err := bob.nextStats(ctx, alice.user)
		if err != nil {
			return r, err
		}
		a, err := alice.nextStats(ctx, bob.user)
		if err != nil {
			return r, err
		}
		r.held = append(r.held, a.SendKbps)
		r.fps = append(r.fps, s.Video.FPS)
		r.maxFreeze = math.Max(r.maxFreeze, s.Video.FreezeMs)
		r.windows++
		if math.Abs(s.Audio.FrequencyHz-440) < 5 {
			r.heard++
		}
	}
	for _, p := range []*shapedParty{alice, bob} {
		if err := p.setRate(0); err != nil {
			return r, err
		}
	}
	r.recover, err = alice.sendsWithin(ctx, bob.user, recoverWithin, func(kbps float64) bool { return kbps > recoverKbps })
	if err != nil {
		return r, err
	}
	return r, hangup(ctx, alice.party, bob.party)
}

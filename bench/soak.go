package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// DefaultSoakHold is how long each soak call stays connected.
const DefaultSoakHold = 1500 * time.Millisecond

// soakEvery is how often (in calls) the soak samples both clients' RSS.
const soakEvery = 10

// SoakOptions choose what RunSoak does.
type SoakOptions struct {
	// Calls is the number of audio+video calls made one after another.
	Calls int
	// Hold is how long each call stays up once both sides decode video
	// (default DefaultSoakHold).
	Hold time.Duration
	// Binary is the termcall executable run as the two `headless` clients.
	Binary string
	// BinaryEnv is added to the clients' environment.
	BinaryEnv []string
	// Progress receives one line per RSS sample (nil: silent).
	Progress io.Writer
	// Logger gets the server's logs (nil: discarded).
	Logger *slog.Logger
}

// SoakResult is the memory of both client processes over a soak.
type SoakResult struct {
	Calls   int          `json:"calls"`
	HoldSec float64      `json:"holdSec"`
	Samples []SoakSample `json:"samples"`
	// GrowthMiB is each client's RSS after the last call minus its RSS
	// after call 10 (after the first sample when fewer calls were made):
	// the first calls warm up caches and pools, later growth is a leak.
	GrowthMiB map[string]float64 `json:"growthMiB"`
}

// SoakSample is both clients' resident set size after a call.
type SoakSample struct {
	AfterCall int                `json:"afterCall"` // 0: logged in, before the first call
	RSSMiB    map[string]float64 `json:"rssMiB"`    // by role: caller, callee
}

// RunSoak starts a signaling server on 127.0.0.1 and two `termcall
// headless` processes, and makes o.Calls audio+video calls between them in
// a row, each held o.Hold after both sides decoded video, sampling both
// processes' VmRSS every 10 calls. The callee answers: its side sees the
// caller leave (RemovePeer) before the call ends, as in the leak the soak
// was written for.
func RunSoak(ctx context.Context, o SoakOptions) (SoakResult, error) {
	if o.Hold == 0 {
		o.Hold = DefaultSoakHold
	}
	if o.Calls < 1 || o.Hold < 0 || o.Binary == "" {
		return SoakResult{}, fmt.Errorf("%w: soak of %d calls held %v with binary %q (want >= 1 call, a binary)",
			ErrBadOptions, o.Calls, o.Hold, o.Binary)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	res := SoakResult{Calls: o.Calls, HoldSec: o.Hold.Seconds(), GrowthMiB: map[string]float64{}}
	env, stop, err := startBenchServer(o.Logger, o.Progress)
	if err != nil {
		return res, err
	}
	defer stop()

	caller, err := startClient(env, o.Binary, o.BinaryEnv, "caller", "soak-caller", "--audio-in", "tone:440", "--stats", "0")
	if err != nil {
		return res, err
	}
	defer caller.stop()
	callee, err := startClient(env, o.Binary, o.BinaryEnv, "callee", "soak-callee", "--audio-in", "tone:880", "--stats", "0", "--auto-accept")
	if err != nil {
		return res, err
	}
	defer callee.stop()
	clients := []*client{caller, callee}
	for _, c := range clients {
		if _, err := c.expectFrom(ctx, 0, "SDK_READY", nil); err != nil {
			return res, err
		}
	}
	sample := func(after int) error {
		s := SoakSample{AfterCall: after, RSSMiB: map[string]float64{}}
		for _, c := range clients {
			rss, err := rssMiB(c.cmd.Process.Pid)
			if err != nil {
				return err
			}
			s.RSSMiB[c.role] = round2(rss)
		}
		res.Samples = append(res.Samples, s)
		env.printf("soak: after call %d/%d: RSS caller %.1f MiB, callee %.1f MiB", after, o.Calls, s.RSSMiB["caller"], s.RSSMiB["callee"])
		return nil
	}
	if err := sample(0); err != nil {
		return res, err
	}
	for i := 1; i <= o.Calls; i++ {
		if err := soakCall(ctx, caller, callee, o.Hold); err != nil {
			return res, fmt.Errorf("soak call %d: %w", i, err)
		}
		if i%soakEvery == 0 || i == o.Calls {
			if err := sample(i); err != nil {
				return res, err
			}
		}
	}
	base := res.Samples[min(1, len(res.Samples)-1)]
	for _, s := range res.Samples {
		if s.AfterCall == soakEvery {
			base = s
		}
	}
	last := res.Samples[len(res.Samples)-1]
	for role, v := range last.RSSMiB {
		res.GrowthMiB[role] = round2(v - base.RSSMiB[role])
	}
	return res, nil
}

// soakCall makes one call from caller to callee, checks that both decode
// the other's video, holds it and hangs up, waiting for both CALL_ENDs.
func soakCall(ctx context.Context, caller, callee *client, hold time.Duration) error {
	from := map[*client]int{caller: caller.mark(), callee: callee.mark()}
	caller.send("call soak-callee video 30")
	for _, c := range []*client{caller, callee} {
		if _, err := c.expectFrom(ctx, from[c], "USER_ENTER", nil); err != nil {
			return err
		}
	}
	for _, c := range []*client{caller, callee} {
		if err := waitDecoding(ctx, c); err != nil {
			return err
		}
	}
	if err := sleep(ctx, hold); err != nil {
		return err
	}
	caller.send("hangup")
	for _, c := range []*client{caller, callee} {
		if _, err := c.expectFrom(ctx, from[c], "CALL_END", nil); err != nil {
			return err
		}
	}
	return nil
}

// waitDecoding waits until c's snapshot shows decoded video. The stats
// command prints one STATS line per peer whose media arrived, and nothing
// before, so each query waits only briefly.
func waitDecoding(ctx context.Context, c *client) error {
	deadline := time.Now().Add(stepWait)
	for {
		at := c.mark()
		c.send("stats")
		ev, err := c.expectWithin(ctx, 200*time.Millisecond, at, "STATS", nil)
		switch {
		case err == nil && framesDecoded(ev) > 0:
			return nil
		case err != nil && !errors.Is(err, ErrTimeout):
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %s decoded no video within %v", ErrNoMedia, c.role, stepWait)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func framesDecoded(ev map[string]any) float64 {
	v, _ := ev["video"].(map[string]any)
	n, _ := v["framesDecoded"].(float64)
	return n
}

// WriteSoakTable prints a soak's RSS samples and growth.
func WriteSoakTable(w io.Writer, r SoakResult) error {
	if _, err := fmt.Fprintf(w, "termcall bench --soak: %d audio+video calls, each held %.1f s, two headless processes\n\n", r.Calls, r.HoldSec); err != nil {
		return err
	}
	fmt.Fprintf(w, "%12s  %14s  %14s\n", "after call", "caller RSS MiB", "callee RSS MiB")
	for _, s := range r.Samples {
		fmt.Fprintf(w, "%12d  %14.1f  %14.1f\n", s.AfterCall, s.RSSMiB["caller"], s.RSSMiB["callee"])
	}
	_, err := fmt.Fprintf(w, "\ngrowth after call %d: caller %+.1f MiB, callee %+.1f MiB\n", min(soakEvery, r.Calls), r.GrowthMiB["caller"], r.GrowthMiB["callee"])
	return err
}

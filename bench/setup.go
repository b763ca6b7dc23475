package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/video"
)

// SetupResult is the call setup time over Calls calls, each from just
// before the callee's Accept. Caller and Callee name whose side saw it.
type SetupResult struct {
	Calls      int      `json:"calls"`
	UserEnter  SidePair `json:"acceptToUserEnter"`
	FirstAudio SidePair `json:"acceptToFirstAudio"`
	FirstVideo SidePair `json:"acceptToFirstVideo"`
	// Steps take the first media apart: each step of the start of media
	// (media.Startup), ms from accept, both sides together.
	Steps []StepDist `json:"steps"`
}

// StepDist is one step of the start of media over every call and side.
type StepDist struct {
	Step string `json:"step"`
	Dist
}

// startupSteps names the steps of media.Startup in the order they happen.
var startupSteps = []struct {
	name string
	at   func(media.Startup) time.Time
}{
	{"media connected (PeerUp)", func(s media.Startup) time.Time { return s.PeerUp }},
	{"first audio sent", func(s media.Startup) time.Time { return s.AudioSent }},
	{"first keyframe sent", func(s media.Startup) time.Time { return s.KeyframeSent }},
	{"first audio received", func(s media.Startup) time.Time { return s.AudioReceived }},
	{"first audio played", func(s media.Startup) time.Time { return s.AudioPlayed }},
	{"first video received", func(s media.Startup) time.Time { return s.VideoReceived }},
	{"first video decoded", func(s media.Startup) time.Time { return s.VideoDecoded }},
}

// SidePair is one measurement on both sides of the call.
type SidePair struct {
	Caller Dist `json:"caller"`
	Callee Dist `json:"callee"`
}

// firsts records, for one side of the current call, when the first
// decoded audio and video of the other side arrived.
type firsts struct {
	mu    sync.Mutex
	armed bool
	audio time.Time
	video time.Time
}

func (f *firsts) arm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.audio, f.video = true, time.Time{}, time.Time{}
}

func (f *firsts) mark(which *time.Time) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.armed && which.IsZero() {
		*which = now
	}
}

func (f *firsts) onAudio(string)               { f.mark(&f.audio) }
func (f *firsts) onFrame(string, *video.Frame) { f.mark(&f.video) }

func (f *firsts) get() (a, v time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.audio, f.video
}

// avParty makes a party sending a tone and the test pattern, whose first
// decoded audio and video are recorded in rec.
func avParty(ctx context.Context, env benchEnv, user string, hz float64, rec *firsts) (*party, error) {
	tone, err := audio.NewTone(audio.DefaultFormat(), hz, 0.3)
	if err != nil {
		return nil, err
	}
	pat, err := video.NewPattern(320, 240)
	if err != nil {
		return nil, err
	}
	return newParty(ctx, env, user, media.Options{
		AudioIn: tone, VideoIn: pat, OnAudio: rec.onAudio, OnFrame: rec.onFrame,
	})
}

func measureSetup(ctx context.Context, env benchEnv, calls int) (SetupResult, error) {
	res := SetupResult{Calls: calls}
	var recA, recB firsts
	alice, err := avParty(ctx, env, "bench-caller", 440, &recA)
	if err != nil {
		return res, err
	}
	defer alice.close()
	bob, err := avParty(ctx, env, "bench-callee", 880, &recB)
	if err != nil {
		return res, err
	}
	defer bob.close()

	var enterA, enterB, audioA, audioB, videoA, videoB []time.Duration
	steps := make([][]time.Duration, len(startupSteps))
	for i := range calls {
		recA.arm()
		recB.arm()
		t0, err := call(ctx, alice, bob, 0)
		if err != nil {
			return res, fmt.Errorf("call %d: %w", i+1, err)
		}
		evA, err := alice.next(ctx, callcore.EventUserEnter)
		if err != nil {
			return res, fmt.Errorf("call %d: %w", i+1, err)
		}
		evB, err := bob.next(ctx, callcore.EventUserEnter)
		if err != nil {
			return res, fmt.Errorf("call %d: %w", i+1, err)
		}
		var aA, vA, aB, vB time.Time
		deadline := time.Now().Add(stepWait)
		for {
			aA, vA = recA.get()
			aB, vB = recB.get()
			if !aA.IsZero() && !vA.IsZero() && !aB.IsZero() && !vB.IsZero() {
				break
			}
			if time.Now().After(deadline) {
				return res, fmt.Errorf("%w: call %d: first media not decoded within %v (caller audio %v video %v, callee audio %v video %v)",
					ErrNoMedia, i+1, stepWait, !aA.IsZero(), !vA.IsZero(), !aB.IsZero(), !vB.IsZero())
			}
			time.Sleep(5 * time.Millisecond)
		}
		for _, side := range []struct {
			p    *party
			peer string
		}{{alice, bob.user}, {bob, alice.user}} {
			st, ok := side.p.factory.startup(side.peer)
			if !ok {
				continue
			}
			for j, step := range startupSteps {
				if at := step.at(st); !at.IsZero() {
					steps[j] = append(steps[j], at.Sub(t0))
				}
			}
		}
		enterA, enterB = append(enterA, evA.Time.Sub(t0)), append(enterB, evB.Time.Sub(t0))
		audioA, audioB = append(audioA, aA.Sub(t0)), append(audioB, aB.Sub(t0))
		videoA, videoB = append(videoA, vA.Sub(t0)), append(videoB, vB.Sub(t0))
		env.printf("call %d/%d: accept -> audio %v/%v, video %v/%v (caller/callee)", i+1, calls,
			ms(aA.Sub(t0)), ms(aB.Sub(t0)), ms(vA.Sub(t0)), ms(vB.Sub(t0)))
		if err := hangup(ctx, alice, bob); err != nil {
			return res, fmt.Errorf("call %d: %w", i+1, err)
		}
	}
	res.UserEnter = SidePair{Caller: newDist(enterA), Callee: newDist(enterB)}
	res.FirstAudio = SidePair{Caller: newDist(audioA), Callee: newDist(audioB)}
	res.FirstVideo = SidePair{Caller: newDist(videoA), Callee: newDist(videoB)}
	for j, step := range startupSteps {
		res.Steps = append(res.Steps, StepDist{Step: step.name, Dist: newDist(steps[j])})
	}
	return res, nil
}

// ms rounds d for progress lines.
func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/config/usersig"
)

// stepWait bounds each awaited step of a call on a loaded machine.
const stepWait = 15 * time.Second

// party is one logged-in engine with real media.
type party struct {
	user    string
	eng     *callcore.Engine
	factory *trackingFactory
	events  chan callcore.Event
	done    chan struct{}
}

// watchedEvents are the events a party queues for the benchmark to read.
func watchedEvents() []callcore.EventName {
	return []callcore.EventName{
		callcore.EventInvited, callcore.EventUserEnter, callcore.EventCallEnd,
		callcore.EventUserLeave, callcore.EventReject, callcore.EventNoResp,
	}
}

// newParty creates an engine for user with media from opts and logs it in.
func newParty(ctx context.Context, env benchEnv, user string, opts media.Options) (*party, error) {
	opts.LoopbackOnly = true
	opts.Logger = env.log
	f, err := media.NewFactory(opts)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	tf := &trackingFactory{f: f}
	eng, err := callcore.New(callcore.Config{ServerURL: env.url, SDKAppID: sdkAppID},
		callcore.WithMedia(tf), callcore.WithLogger(env.log.With("user", user)))
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	p := &party{user: user, eng: eng, factory: tf, events: make(chan callcore.Event, 256), done: make(chan struct{})}
	watched := watchedEvents()
	eng.Subscribe(func(ev callcore.Event) {
		if !slices.Contains(watched, ev.Name) {
			return
		}
		select {
		case p.events <- ev:
		case <-p.done:
		}
	})
	sig, err := usersig.GenerateNow(env.secret, sdkAppID, user, time.Hour)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("usersig: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	if err := eng.Login(lctx, user, sig); err != nil {
		p.close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return p, nil
}

func (p *party) close() {
	close(p.done)
	_ = p.eng.Close()
}

// next returns the next queued event called name, skipping others. An
// unexpected end of the call fails it.
func (p *party) next(ctx context.Context, name callcore.EventName) (callcore.Event, error) {
	t := time.NewTimer(stepWait)
	defer t.Stop()
	for {
		select {
		case ev := <-p.events:
			if ev.Name == name {
				return ev, nil
			}
			if name != callcore.EventCallEnd && (ev.Name == callcore.EventCallEnd || ev.Name == callcore.EventReject || ev.Name == callcore.EventNoResp) {
				return ev, fmt.Errorf("%s: got %s %+v while waiting for %s", p.user, ev.Name, ev.Data, name)
			}
		case <-t.C:
			return callcore.Event{}, fmt.Errorf("%w: %s waiting %v for %s", ErrTimeout, p.user, stepWait, name)
		case <-ctx.Done():
			return callcore.Event{}, ctx.Err()
		}
	}
}

// call has caller call callee (video) and callee accept, wait seconds
// after the invitation arrived. It returns the instant just before Accept.
func call(ctx context.Context, caller, callee *party, wait time.Duration) (time.Time, error) {
	cctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	if _, err := caller.eng.Call(cctx, callee.user, callcore.CallTypeVideo, 30); err != nil {
		return time.Time{}, fmt.Errorf("call: %w", err)
	}
	ev, err := callee.next(ctx, callcore.EventInvited)
	if err != nil {
		return time.Time{}, err
	}
	inv, _ := ev.Data.(callcore.Invited)
	if err := sleep(ctx, wait); err != nil {
		return time.Time{}, err
	}
	t0 := time.Now()
	if err := callee.eng.Accept(cctx, inv.InviteID, 0, 0); err != nil {
		return t0, fmt.Errorf("accept: %w", err)
	}
	return t0, nil
}

// hangup ends the call from caller and waits until both sides saw
// CALL_END and closed their media, so the next call starts clean.
func hangup(ctx context.Context, caller, callee *party) error {
	hctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	if err := caller.eng.Hangup(hctx); err != nil {
		return fmt.Errorf("hangup: %w", err)
	}
	for _, p := range []*party{caller, callee} {
		if _, err := p.next(ctx, callcore.EventCallEnd); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(stepWait)
	for caller.factory.open.Load() != 0 || callee.factory.open.Load() != 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: media sessions still open %v after CALL_END", ErrTimeout, stepWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// trackingFactory counts open media sessions, so that a benchmark knows
// when the previous call's media has stopped.
type trackingFactory struct {
	f    *media.Factory
	open atomic.Int32
	last atomic.Pointer[media.Session] // the latest call's, for its Startups
}

// NewSession implements callcore.MediaFactory.
func (t *trackingFactory) NewSession(c callcore.MediaCall) (callcore.MediaSession, error) {
	s, err := t.f.NewSession(c)
	if err != nil {
		return nil, err
	}
	if ms, ok := s.(*media.Session); ok {
		t.last.Store(ms)
	}
	t.open.Add(1)
	return &trackedSession{MediaSession: s, factory: t}, nil
}

// startup returns how the latest call's media with peer started.
func (t *trackingFactory) startup(peer string) (media.Startup, bool) {
	s := t.last.Load()
	if s == nil {
		return media.Startup{}, false
	}
	for _, st := range s.Startups() {
		if st.UserID == peer {
			return st, true
		}
	}
	return media.Startup{}, false
}

type trackedSession struct {
	callcore.MediaSession
	factory *trackingFactory
	once    sync.Once
}

func (s *trackedSession) Close() error {
	err := s.MediaSession.Close()
	s.once.Do(func() { s.factory.open.Add(-1) })
	return err
}

// SetViews implements callcore.ViewBinder when the wrapped session does.
func (s *trackedSession) SetViews(t callcore.ViewTable) {
	if b, ok := s.MediaSession.(callcore.ViewBinder); ok {
		b.SetViews(t)
	}
}

package ui

import (
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
)

// engineEventMsg carries one engine event into Update.
type engineEventMsg callcore.Event

// pump moves engine events into the Bubble Tea program: the engine
// subscription pushes every event into ch, and waitForEvent takes one event
// per Cmd and is issued again after each (the Bubble Tea "realtime" pattern).
type pump struct {
	ch          chan callcore.Event
	done        chan struct{}
	once        sync.Once
	unsubscribe func()
}

func newPump(eng Engine) *pump {
	p := &pump{
		ch:   make(chan callcore.Event, 256),
		done: make(chan struct{}),
	}
	p.unsubscribe = eng.Subscribe(p.push)
	return p
}

// push runs on the engine's dispatcher. It blocks when the UI is behind
// (so no event is lost) until the pump is stopped.
func (p *pump) push(ev callcore.Event) {
	select {
	case p.ch <- ev:
	case <-p.done:
	}
}

// wait returns a Cmd that delivers the next event, or nothing once the
// pump has stopped.
func (p *pump) wait() tea.Cmd {
	return func() tea.Msg {
		select {
		case ev := <-p.ch:
			return engineEventMsg(ev)
		case <-p.done:
			return nil
		}
	}
}

// stop ends the subscription and releases every waiting goroutine.
func (p *pump) stop() {
	p.once.Do(func() {
		p.unsubscribe()
		close(p.done)
	})
}

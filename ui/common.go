package ui

import (
	"context"
	"log/slog"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/keymap"
	"github.com/termcall/termcall/ui/styles"
)

// phase is where the user is in a call's life; it decides the screen shown.
type phase int

const (
	phaseIdle     phase = iota // contacts screen
	phaseIncoming              // an invitation is ringing for us
	phaseOutgoing              // we called, nobody answered yet
	phaseInCall                // accepted / someone answered
)

func (p phase) String() string {
	return [...]string{"idle", "incoming", "outgoing", "in call"}[p]
}

// common is what the root model shares with its screens (soft-serve's
// Common): the engine, keys and styles, the size, who we are, the phase,
// the status line and the event line. Screens read all of it; they write
// the status line, the phase along their own part of a call (ringing,
// calling, in the call), and the mic and camera state their keys change.
type common struct {
	eng  Engine
	opts Options
	log  *slog.Logger
	keys *keymap.KeyMap
	st   *styles.Styles
	hub  *videoHub
	rend *renderers
	done chan struct{} // closed by Model.Close: ends every background Cmd

	width, height int

	self     string
	loggedIn bool
	kicked   bool
	micMuted bool
	camOn    bool
	quality  callcore.VideoQuality // the most video sent (setVideoQuality)
	// devices in use (devices.go), and a microphone that gives only
	// silence (MIC_SILENT).
	devices   map[callcore.DeviceKind]string
	micSilent bool

	phase phase

	// The status line shows the first of these that is set.
	err, notice, lastEnd string
	events               eventLog

	ticking bool // a tickMsg is on its way

	// inline is for tests: Update returns no background Cmds (event and
	// frame waits, timers), so that a test can run every Cmd in place.
	inline bool
}

// nextQuality steps the video quality up (from the largest back to the
// smallest) for this call and the next ones; the link and the receivers'
// panes still cap what is sent.
func (c *common) nextQuality() tea.Cmd {
	vs, ok := c.eng.(videoQualitySetter)
	if !ok {
		c.notice = "This client cannot change its video quality"
		return nil
	}
	all := callcore.VideoQualities()
	q := all[(slices.Index(all, c.quality)+1)%len(all)]
	c.quality = q
	c.notice = "Video quality: " + string(q) + " (the link and the far end's pane still cap it)"
	return func() tea.Msg {
		if err := vs.SetVideoQuality(q); err != nil {
			return errMsg{op: "video quality", err: err}
		}
		return nil
	}
}

// Messages of the Cmds every screen uses.
type (
	errMsg struct {
		op  string
		err error
	}
	tickMsg     struct{}
	viewDoneMsg struct{}
)

// bg returns a background Cmd (a wait or a tick) unless Cmds run inline.
func (c *common) bg(cmd tea.Cmd) tea.Cmd {
	if c.inline {
		return nil
	}
	return cmd
}

// after is a background Cmd that calls f after d, or ends without a
// message when the model is closed (tea.Tick would outlive the program).
func (c *common) after(d time.Duration, f func() tea.Msg) tea.Cmd {
	return c.bg(func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return f()
		case <-c.done:
			return nil
		}
	})
}

// engineCmd runs f with a timeout; an error becomes an errMsg.
func (c *common) engineCmd(op string, f func(ctx context.Context) (tea.Msg, error)) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineCallTimeout)
		defer cancel()
		msg, err := f(ctx)
		if err != nil {
			return errMsg{op: op, err: err}
		}
		return msg
	}
}

// tick keeps the call timers moving while a call is ringing or running.
func (c *common) tick() tea.Cmd {
	if c.ticking || c.phase == phaseIdle {
		return nil
	}
	c.ticking = true
	return c.after(time.Second, func() tea.Msg { return tickMsg{} })
}

// stopViews drops the local preview when a call ends (remote bindings end
// with the call in the engine).
func (c *common) stopViews() tea.Cmd {
	return func() tea.Msg {
		if err := c.eng.StopLocalView(LocalViewID); err != nil {
			return errMsg{op: "local view", err: err}
		}
		return viewDoneMsg{}
	}
}

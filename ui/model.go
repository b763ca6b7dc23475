package ui

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/ui/keymap"
	"github.com/termcall/termcall/ui/styles"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/render"
)

// Defaults for zero Options fields.
const (
	DefaultCallTimeout = 30 // seconds an outgoing 1:1 call rings
	engineCallTimeout  = 10 * time.Second
	bellInterval       = 3 * time.Second
	statsInterval      = 2 * time.Second
	maxEventLog        = 5
)

// Options configure the Model.
type Options struct {
	// UserID and UserSig log in at start; an empty UserSig skips the
	// login (the engine is logged in already).
	UserID, UserSig string
	Contacts        []string
	Groups          []string
	// Renderer is the initial video renderer name (config.RendererNames);
	// "" or "auto" detects one from the environment.
	Renderer    string
	CallTimeout int // seconds, default DefaultCallTimeout
	Logger      *slog.Logger
	// Bell receives the terminal bell for incoming calls (default stdout).
	Bell   io.Writer
	Now    func() time.Time
	Getenv func(string) string

	// Sixel says the terminal draws sixel graphics (its DA1 answer lists
	// them): sixel joins the renderer cycle, and "auto" picks it where
	// truecolour is missing.
	Sixel bool
	// MediaNotes are shown on every screen, e.g. that a test tone stands
	// in for a missing microphone.
	MediaNotes []string
	// Stats gives the quality indicator its numbers (nil: the engine's,
	// if it is a StatsSource, else none).
	Stats StatsSource
	// Self is sent with SetSelfInfo after the login (config nickname and
	// avatar): others see the nickname. Zero: not sent.
	Self callcore.SelfInfo
	// StartErrors are problems found before the engine started (ICE
	// servers that cannot be used): shown like ERROR events from the start.
	StartErrors []callcore.Error
	// VideoQuality is the quality the engine sends at start ("": the
	// default); the quality key steps through the others.
	VideoQuality callcore.VideoQuality
}

// videoQualitySetter is an engine that can change its sending profile
// (*callcore.Engine: TRTCCalling's setVideoQuality).
type videoQualitySetter interface {
	SetVideoQuality(q callcore.VideoQuality) error
}

// Model is the TUI's top-level Bubble Tea model. Use it as a pointer.
//
// It owns what every screen shares (common) and shows one screen at a
// time, by phase: the contacts, an incoming call, or the call. Keys go to
// the screen shown; engine events and Cmd answers go to the screen whose
// state they concern, whichever is shown, and the root itself handles the
// moves between screens that reset more than one of them.
type Model struct {
	c       *common
	help    help.Model
	pump    *pump
	stopped bool

	contacts *contactsScreen
	incoming *incomingScreen
	call     *callScreen
	picker   *devicePicker // over whichever screen is shown
}

// screen is one page of the TUI as the root model sees it. Screens live as
// long as the model (like soft-serve's pages), so Update returns only a Cmd.
type screen interface {
	// Update handles a key while the screen is shown, or a message about
	// the screen's state.
	Update(msg tea.Msg) tea.Cmd
	// View draws the screen between the header and the footer, which
	// leave it height lines. It returns lines (one may hold several) for
	// the root to join once: a video screen is tens of KB.
	View(height int) []string
	// Keys is the help bar's content while the screen is shown.
	Keys() keymap.Page
}

// New creates the model and starts listening to the engine's events.
// Call Close when the program has ended.
func New(eng Engine, opts Options) *Model {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Bell == nil {
		opts.Bell = os.Stdout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	kind := render.Detect(opts.Getenv)
	if opts.Sixel && kind != render.KindHalfBlock {
		kind = render.KindSixel
	}
	if opts.Renderer != "" && opts.Renderer != "auto" {
		if k, err := render.ParseKind(opts.Renderer); err == nil {
			kind = k
		}
	}
	done := make(chan struct{})
	c := &common{
		eng:     eng,
		opts:    opts,
		log:     opts.Logger.With("component", "ui"),
		keys:    keymap.Default(),
		st:      styles.Default(),
		done:    done,
		hub:     newVideoHub(done),
		rend:    newRenderers(kind, opts.Sixel || kind == render.KindSixel),
		self:    opts.UserID,
		quality: cmp.Or(opts.VideoQuality, callcore.DefaultVideoQuality),
		width:   80,
		height:  24,
	}
	m := &Model{c: c, help: help.New()}
	m.contacts = newContactsScreen(c)
	m.incoming = newIncomingScreen(c, m.endCall)
	m.call = newCallScreen(c, m.endCall)
	m.picker = &devicePicker{c: c}
	m.pump = newPump(eng)
	m.layout()
	for _, e := range opts.StartErrors {
		// State only: an ERROR needs no Cmd.
		m.onEvent(callcore.Event{Name: callcore.EventError, Time: opts.Now(), Data: e})
	}
	return m
}

// ViewSink returns the video sink of the named view ("local" or
// "remote:<userID>"): the media layer writes the frames it shows there.
// Safe for concurrent use.
func (m *Model) ViewSink(viewID string) video.Sink { return m.c.hub.view(viewID) }

// Close stops the event pump and every background Cmd. Idempotent.
func (m *Model) Close() {
	if m.stopped {
		return
	}
	m.stopped = true
	m.pump.stop()
	close(m.c.done)
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.c.bg(m.pump.wait()), m.c.bg(m.c.hub.wait())}
	if m.c.opts.UserSig != "" {
		cmds = append(cmds, m.loginCmd())
	}
	return tea.Batch(cmds...)
}

type loginMsg struct{}

func (m *Model) loginCmd() tea.Cmd {
	user, sig, eng := m.c.opts.UserID, m.c.opts.UserSig, m.c.eng
	return m.c.engineCmd("login", func(ctx context.Context) (tea.Msg, error) {
		return loginMsg{}, client.ExplainLogin(eng.Login(ctx, user, sig))
	})
}

// selfInfoCmd sets the configured nickname and avatar; the engine sends
// them again itself after a reconnect.
func (m *Model) selfInfoCmd() tea.Cmd {
	info, eng := m.c.opts.Self, m.c.eng
	if info == (callcore.SelfInfo{}) {
		return nil
	}
	return m.c.engineCmd("set self info", func(ctx context.Context) (tea.Msg, error) {
		return nil, eng.SetSelfInfo(ctx, info)
	})
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	c := m.c
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.width, c.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case engineEventMsg:
		cmd := m.onEvent(callcore.Event(msg))
		return m, tea.Batch(cmd, c.bg(m.pump.wait()))
	case videoFrameMsg:
		return m, c.bg(c.hub.wait())
	case tea.KeyMsg:
		return m, m.onKey(msg)
	case loginMsg:
		c.loggedIn = true
		return m, m.selfInfoCmd()
	case callStartMsg:
		return m, tea.Batch(m.call.started(msg), m.picker.fetch(false))
	case acceptedMsg:
		m.incoming.reset()
		return m, tea.Batch(m.call.accepted(msg.inv), m.picker.fetch(false))
	case devicesMsg:
		m.picker.set(msg)
		m.layout()
		return m, nil
	case deviceSwitchedMsg:
		return m, m.picker.switched(msg)
	case errMsg:
		c.err = fmt.Sprintf("%s: %v", msg.op, msg.err)
		c.log.Warn("engine call failed", "op", msg.op, "err", msg.err)
		if msg.op == "accept" && c.phase == phaseInCall && m.call.nobodyYet() {
			// Its Cmd (stopping the local preview) is dropped, as it
			// always has been here.
			m.endCall("Could not join the call")
		}
		return m, nil
	case tickMsg:
		c.ticking = false
		return m, c.tick()
	case viewDoneMsg:
		return m, nil
	case rejectedMsg, bellMsg:
		return m, m.incoming.Update(msg)
	case micMsg, camMsg, statsMsg:
		return m, m.call.Update(msg)
	}
	// The presence answer, and the contact list's own messages (filter
	// matches).
	return m, m.contacts.Update(msg)
}

// onKey takes the app's own keys, and gives the rest to the screen shown.
func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	c := m.c
	k := c.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.picker.open {
		cmd := m.picker.Update(msg)
		m.layout()
		return cmd
	}
	// A prompt or the contact filter takes the letter keys.
	if !m.contacts.prompting() && !(c.phase == phaseIdle && m.contacts.filtering()) {
		switch {
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return nil
		case key.Matches(msg, k.Quit):
			return tea.Quit
		case key.Matches(msg, k.Renderer):
			c.rend.next()
			c.notice = "Video renderer: " + c.rend.kind().String()
			return nil
		case key.Matches(msg, k.Quality):
			return c.nextQuality()
		case key.Matches(msg, k.Devices):
			return m.picker.toggle()
		}
	}
	return m.active().Update(msg)
}

// active is the screen shown.
func (m *Model) active() screen {
	switch m.c.phase {
	case phaseIncoming:
		return m.incoming
	case phaseOutgoing, phaseInCall:
		return m.call
	}
	return m.contacts
}

// onEvent applies one engine event. Every event is listed on the event
// line, so the user sees all of them. The root takes those about the
// session (login, errors), the invitation that opens the incoming screen
// and the end of a call; the rest go to the screen they concern.
func (m *Model) onEvent(ev callcore.Event) tea.Cmd {
	c := m.c
	c.log.Debug("engine event", "name", ev.Name, "data", ev.Data)
	c.events.add(ev)
	switch d := ev.Data.(type) {
	case callcore.SDKReady:
		c.self, c.loggedIn, c.kicked = d.UserID, true, false
		return m.contacts.watch()
	case callcore.Invited:
		if c.phase != phaseIdle {
			return nil // the server answers busy for us; the log shows it
		}
		m.contacts.closePrompt()
		return m.incoming.ring(d)
	case callcore.LineBusy:
		if d.UserID == c.self && d.Sponsor != "" && d.Sponsor != c.self {
			c.notice = "Missed call from " + d.Sponsor + " (you were busy)"
			return nil
		}
		// An invitee of our call is busy: the call screen's.
	case callcore.CallEnd:
		if !m.call.hasCall() && c.phase == phaseIdle {
			return nil // the reason is on screen already (REJECT, LINE_BUSY, ...)
		}
		return m.endCall(endReason(d, c.self))
	case callcore.KickedOut:
		c.kicked, c.loggedIn = true, false
		cmd := m.endCall("")
		c.err = "Signed out: your account logged in elsewhere (" + d.Reason.String() + ")"
		return cmd
	case callcore.Error:
		c.err = fmt.Sprintf("error %d: %s", d.Code, d.Msg)
		if d.Code == callcore.CodeDeviceFailed {
			return m.picker.fetch(false) // show what plays now
		}
		return nil
	case callcore.DevicesUpdated:
		if ev.Name == callcore.EventDeviceUpdated {
			return nil // the same as DEVICED_UPDATED, which came first
		}
		for _, f := range d.Fallbacks {
			c.notice = fmt.Sprintf("%s %s is gone: now %s", kindTitle(f.Kind), f.From, f.To)
		}
		return m.picker.fetch(false)
	case callcore.MicSilent:
		c.micSilent = d.Silent
		return nil
	case callcore.Presence:
		return m.contacts.setPresence(d)
	case callcore.CallingCancel, callcore.CallingTimeout:
		return m.incoming.Update(engineEventMsg(ev))
	}
	return m.call.Update(engineEventMsg(ev))
}

// endCall leaves the call (or the invitation) for the contacts screen and
// says why. It resets both call screens, which is why they call it (their
// end func) rather than end a call themselves.
func (m *Model) endCall(reason string) tea.Cmd {
	c := m.c
	cmd := c.stopViews()
	c.phase = phaseIdle
	m.call.reset()
	m.incoming.reset()
	c.lastEnd = reason
	c.notice, c.err = "", ""
	return cmd
}

// layout sizes the parts of the screen after a resize or a help toggle.
func (m *Model) layout() {
	c := m.c
	m.help.Width = c.width
	h := c.height - 4 - m.helpHeight()
	if len(c.opts.MediaNotes) > 0 {
		h-- // the media line under the status
	}
	m.contacts.setSize(max(c.width-2, 10), max(h, 3))
}

// View implements tea.Model: the header, the screen shown, the footer.
func (m *Model) View() string {
	var s screen = m.active()
	if m.picker.open {
		s = m.picker
	}
	top := []string{m.c.headerView()}
	bottom := m.footerView(s.Keys())
	body := s.View(m.c.height - countLines(top) - countLines(bottom))
	return strings.Join(append(append(top, body...), bottom...), "\n")
}

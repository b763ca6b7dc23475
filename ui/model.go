package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
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

	sync bool // tests: Update returns no background Cmds (event and frame waits, ticks)
}

// phase is where the user is in a call's life.
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

// prompt is a modal input over the contacts screen.
type prompt int

const (
	promptNone prompt = iota
	promptDial
	promptGroup
)

// participant is another member of the call as the UI knows it.
type participant struct {
	id       string
	entered  bool // USER_ENTER seen (media flowing)
	accepted bool
	audio    bool
	video    bool
	volume   int
}

// callState is the current call.
type callState struct {
	inviteID  string
	roomID    uint32
	callType  callcore.CallType
	outgoing  bool
	group     bool
	groupID   string
	dialedAt  time.Time // ringing since
	startedAt time.Time // first member entered; zero while connecting
	parts     map[string]*participant
	order     []string // participants in arrival order
	pending   []string // invitees still ringing (group calls)
}

func (c *callState) part(id string) *participant {
	p := c.parts[id]
	if p == nil {
		// TRTCCalling sends no initial availability events: a member
		// has mic on, and camera on in a video call, until
		// USER_*_AVAILABLE says otherwise.
		p = &participant{id: id, audio: true, video: c.callType == callcore.CallTypeVideo}
		c.parts[id] = p
		c.order = append(c.order, id)
	}
	return p
}

func (c *callState) remove(id string) {
	delete(c.parts, id)
	c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == id })
	c.pending = slices.DeleteFunc(c.pending, func(s string) bool { return s == id })
}

// Model is the TUI's top-level Bubble Tea model. Use it as a pointer.
type Model struct {
	eng    Engine
	opts   Options
	log    *slog.Logger
	keys   *keymap.KeyMap
	st     *styles.Styles
	help   help.Model
	done   chan struct{}
	pump   *pump
	hub    *videoHub
	rend   *renderers
	width  int
	height int

	self     string
	loggedIn bool
	kicked   bool

	contacts list.Model
	prompt   prompt
	dial     textinput.Model
	dialType callcore.CallType
	groupIdx int

	phase     phase
	invite    *callcore.Invited
	inviteAt  time.Time
	call      *callState
	micMuted  bool
	camOn     bool
	quality   map[string]PeerStats
	lastEnd   string // why the last call ended
	notice    string
	err       string
	events    []string // recent engine events, newest last
	ticking   bool
	statsLoop bool
	stopped   bool
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
	st := styles.Default()
	done := make(chan struct{})
	dial := textinput.New()
	dial.Placeholder = "userID"
	dial.CharLimit = 32
	dial.Prompt = "call: "
	dial.Cursor.SetMode(cursor.CursorStatic)
	m := &Model{
		eng:      eng,
		opts:     opts,
		log:      opts.Logger.With("component", "ui"),
		keys:     keymap.Default(),
		st:       st,
		help:     help.New(),
		done:     done,
		hub:      newVideoHub(done),
		rend:     newRenderers(kind, opts.Sixel || kind == render.KindSixel),
		self:     opts.UserID,
		contacts: newContactList(st, opts.Contacts),
		dial:     dial,
		dialType: callcore.CallTypeAudio,
		quality:  make(map[string]PeerStats),
		width:    80,
		height:   24,
	}
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
func (m *Model) ViewSink(viewID string) video.Sink { return m.hub.view(viewID) }

// Close stops the event pump and every background Cmd. Idempotent.
func (m *Model) Close() {
	if m.stopped {
		return
	}
	m.stopped = true
	m.pump.stop()
	close(m.done)
}

// bg returns a background Cmd (a wait or a tick) unless the model runs in
// the tests' synchronous mode.
func (m *Model) bg(c tea.Cmd) tea.Cmd {
	if m.opts.sync {
		return nil
	}
	return c
}

// after is a background Cmd that calls f after d, or ends without a
// message when the model is closed (tea.Tick would outlive the program).
func (m *Model) after(d time.Duration, f func() tea.Msg) tea.Cmd {
	return m.bg(func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return f()
		case <-m.done:
			return nil
		}
	})
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.bg(m.pump.wait()), m.bg(m.hub.wait())}
	if m.opts.UserSig != "" {
		cmds = append(cmds, m.loginCmd())
	}
	return tea.Batch(cmds...)
}

// Messages produced by engine Cmds.
type (
	loginMsg     struct{ err error }
	presenceMsg  struct{ list []Presence }
	callStartMsg struct {
		info     callcore.CallInfo
		callType callcore.CallType
		users    []string
		groupID  string
	}
	acceptedMsg struct{ inv callcore.Invited }
	rejectedMsg struct{ inviteID string }
	micMsg      struct{ muted bool }
	camMsg      struct{ on bool }
	errMsg      struct {
		op  string
		err error
	}
	tickMsg     struct{}
	bellMsg     struct{ inviteID string }
	statsMsg    map[string]PeerStats
	statsTick   struct{}
	viewDoneMsg struct{}
)

// engineCmd runs f with a timeout; an error becomes an errMsg.
func (m *Model) engineCmd(op string, f func(ctx context.Context) (tea.Msg, error)) tea.Cmd {
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

func (m *Model) loginCmd() tea.Cmd {
	user, sig := m.opts.UserID, m.opts.UserSig
	return m.engineCmd("login", func(ctx context.Context) (tea.Msg, error) {
		return loginMsg{}, m.eng.Login(ctx, user, sig)
	})
}

// selfInfoCmd sets the configured nickname and avatar; the engine sends
// them again itself after a reconnect.
func (m *Model) selfInfoCmd() tea.Cmd {
	info := m.opts.Self
	if info == (callcore.SelfInfo{}) {
		return nil
	}
	return m.engineCmd("set self info", func(ctx context.Context) (tea.Msg, error) {
		return nil, m.eng.SetSelfInfo(ctx, info)
	})
}

func (m *Model) watchCmd() tea.Cmd {
	users := contactIDs(m.contacts)
	if len(users) == 0 {
		return nil
	}
	return m.engineCmd("watch presence", func(ctx context.Context) (tea.Msg, error) {
		l, err := m.eng.WatchPresence(ctx, users)
		return presenceMsg{list: l}, err
	})
}

// tick keeps the call timers moving while a call is ringing or running.
func (m *Model) tick() tea.Cmd {
	if m.ticking || m.phase == phaseIdle {
		return nil
	}
	m.ticking = true
	return m.after(time.Second, func() tea.Msg { return tickMsg{} })
}

func (m *Model) statsCmd() tea.Cmd {
	src, ok := m.opts.Stats, m.opts.Stats != nil
	if !ok {
		src, ok = m.eng.(StatsSource)
	}
	if !ok || m.statsLoop || m.phase != phaseInCall {
		return nil
	}
	m.statsLoop = true
	return m.after(statsInterval, func() tea.Msg { return statsMsg(src.CallStats()) })
}

func (m *Model) bellCmd(inviteID string, delay time.Duration) tea.Cmd {
	ring := func() tea.Msg {
		_, _ = io.WriteString(m.opts.Bell, "\a")
		return nil
	}
	if delay == 0 {
		return ring
	}
	return m.after(delay, func() tea.Msg { return bellMsg{inviteID: inviteID} })
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case engineEventMsg:
		cmd := m.onEvent(callcore.Event(msg))
		return m, tea.Batch(cmd, m.bg(m.pump.wait()))
	case videoFrameMsg:
		return m, m.bg(m.hub.wait())
	case tea.KeyMsg:
		return m, m.onKey(msg)
	case loginMsg:
		m.loggedIn = true
		return m, m.selfInfoCmd()
	case presenceMsg:
		var cmds []tea.Cmd
		for _, p := range msg.list {
			cmds = append(cmds, m.setPresence(p))
		}
		return m, tea.Batch(cmds...)
	case callStartMsg:
		return m, m.onCallStarted(msg)
	case acceptedMsg:
		return m, m.onAccepted(msg.inv)
	case rejectedMsg:
		if m.invite != nil && m.invite.InviteID == msg.inviteID {
			m.invite = nil
			m.phase = phaseIdle
			m.lastEnd = "You rejected the call"
		}
		return m, nil
	case micMsg:
		m.micMuted = msg.muted
		return m, nil
	case camMsg:
		m.camOn = msg.on
		return m, m.syncViews()
	case errMsg:
		m.err = fmt.Sprintf("%s: %v", msg.op, msg.err)
		m.log.Warn("engine call failed", "op", msg.op, "err", msg.err)
		if msg.op == "accept" && m.phase == phaseInCall && m.call != nil && len(m.call.order) == 0 {
			m.endCall("Could not join the call")
		}
		return m, nil
	case tickMsg:
		m.ticking = false
		return m, m.tick()
	case bellMsg:
		if m.phase == phaseIncoming && m.invite != nil && m.invite.InviteID == msg.inviteID {
			return m, tea.Batch(m.bellCmd(msg.inviteID, 0), m.bellCmd(msg.inviteID, bellInterval))
		}
		return m, nil
	case statsMsg:
		m.statsLoop = false
		if m.phase != phaseInCall {
			return m, nil
		}
		m.quality = msg
		return m, m.statsCmd()
	case viewDoneMsg:
		return m, nil
	}
	// Messages of the contacts list (filter matches).
	var cmd tea.Cmd
	m.contacts, cmd = m.contacts.Update(msg)
	return m, cmd
}

// onKey dispatches a key press to the part of the screen that has focus.
func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.prompt == promptNone && !(m.phase == phaseIdle && m.contacts.SettingFilter()) {
		switch {
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return nil
		case key.Matches(msg, k.Quit):
			return tea.Quit
		case key.Matches(msg, k.Renderer):
			m.rend.next()
			m.notice = "Video renderer: " + m.rend.kind().String()
			return nil
		}
	}
	switch m.phase {
	case phaseIncoming:
		return m.incomingKey(msg)
	case phaseOutgoing, phaseInCall:
		return m.callKey(msg)
	}
	switch m.prompt {
	case promptDial:
		return m.dialKey(msg)
	case promptGroup:
		return m.groupKey(msg)
	}
	return m.contactsKey(msg)
}

func (m *Model) incomingKey(msg tea.KeyMsg) tea.Cmd {
	inv := *m.invite
	switch {
	case key.Matches(msg, m.keys.Accept):
		m.notice = "Joining the call…"
		return m.engineCmd("accept", func(ctx context.Context) (tea.Msg, error) {
			return acceptedMsg{inv: inv}, m.eng.Accept(ctx, inv.InviteID, 0, 0)
		})
	case key.Matches(msg, m.keys.Reject):
		return m.engineCmd("reject", func(ctx context.Context) (tea.Msg, error) {
			return rejectedMsg{inviteID: inv.InviteID}, m.eng.Reject(ctx, inv.InviteID, false, 0)
		})
	}
	return nil
}

func (m *Model) callKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Hangup):
		m.notice = "Hanging up…"
		return m.engineCmd("hang up", func(ctx context.Context) (tea.Msg, error) {
			return nil, m.eng.Hangup(ctx)
		})
	case key.Matches(msg, k.Mute):
		mute := !m.micMuted
		return m.engineCmd("mute", func(ctx context.Context) (tea.Msg, error) {
			return micMsg{muted: mute}, m.eng.SetMicMute(ctx, mute)
		})
	case key.Matches(msg, k.Camera):
		on := !m.camOn
		return m.engineCmd("camera", func(ctx context.Context) (tea.Msg, error) {
			if on {
				return camMsg{on: true}, m.eng.OpenCamera(ctx)
			}
			return camMsg{on: false}, m.eng.CloseCamera(ctx)
		})
	case key.Matches(msg, k.SwitchType):
		if m.call == nil {
			return nil
		}
		toVideo := m.call.callType != callcore.CallTypeVideo
		return m.engineCmd("switch call type", func(ctx context.Context) (tea.Msg, error) {
			if toVideo {
				return nil, m.eng.SwitchToVideoCall(ctx)
			}
			return nil, m.eng.SwitchToAudioCall(ctx)
		})
	}
	return nil
}

func (m *Model) contactsKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.contacts.SettingFilter() {
		var cmd tea.Cmd
		m.contacts, cmd = m.contacts.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, k.AudioCall):
		return m.callSelected(callcore.CallTypeAudio)
	case key.Matches(msg, k.VideoCall):
		return m.callSelected(callcore.CallTypeVideo)
	case key.Matches(msg, k.Select):
		if c, ok := m.contacts.SelectedItem().(contactItem); ok {
			c.marked = !c.marked
			return m.contacts.SetItem(contactIndex(m.contacts, c.id), c)
		}
		return nil
	case key.Matches(msg, k.ClearMarks):
		var cmds []tea.Cmd
		for i, it := range m.contacts.Items() {
			if c, ok := it.(contactItem); ok && c.marked {
				c.marked = false
				cmds = append(cmds, m.contacts.SetItem(i, c))
			}
		}
		return tea.Batch(cmds...)
	case key.Matches(msg, k.Dial):
		m.prompt = promptDial
		m.dial.SetValue("")
		m.dialType = callcore.CallTypeAudio
		return m.dial.Focus()
	case key.Matches(msg, k.GroupCall):
		if len(m.opts.Groups) == 0 {
			m.notice = "No IM groups configured (groups = [...] in the config file)"
			return nil
		}
		m.prompt = promptGroup
		m.dialType = callcore.CallTypeAudio
		return nil
	}
	var cmd tea.Cmd
	m.contacts, cmd = m.contacts.Update(msg)
	return cmd
}

func (m *Model) dialKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Cancel):
		m.prompt = promptNone
		m.dial.Blur()
		return nil
	case key.Matches(msg, k.ToggleType):
		m.dialType = m.dialType.Other()
		return nil
	case key.Matches(msg, k.Confirm):
		user := m.dial.Value()
		if user == "" {
			return nil
		}
		m.prompt = promptNone
		m.dial.Blur()
		return m.callCmd([]string{user}, m.dialType, "")
	}
	var cmd tea.Cmd
	m.dial, cmd = m.dial.Update(msg)
	return cmd
}

func (m *Model) groupKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Cancel):
		m.prompt = promptNone
	case key.Matches(msg, k.Up):
		m.groupIdx = max(0, m.groupIdx-1)
	case key.Matches(msg, k.Down):
		m.groupIdx = min(len(m.opts.Groups)-1, m.groupIdx+1)
	case key.Matches(msg, k.ToggleType):
		m.dialType = m.dialType.Other()
	case key.Matches(msg, k.Confirm):
		m.prompt = promptNone
		return m.callCmd(nil, m.dialType, m.opts.Groups[m.groupIdx])
	}
	return nil
}

// callSelected calls the marked contacts (a group call) or, with none
// marked, the contact under the cursor.
func (m *Model) callSelected(callType callcore.CallType) tea.Cmd {
	users := markedContacts(m.contacts)
	if len(users) == 0 {
		c, ok := m.contacts.SelectedItem().(contactItem)
		if !ok {
			return nil
		}
		users = []string{c.id}
	}
	return m.callCmd(users, callType, "")
}

// callCmd dials one user (Call) or several / an IM group (GroupCall).
func (m *Model) callCmd(users []string, callType callcore.CallType, groupID string) tea.Cmd {
	if m.phase != phaseIdle {
		return nil
	}
	m.err, m.lastEnd = "", ""
	m.notice = "Calling " + joinUsers(users) + "…"
	if groupID != "" {
		m.notice = "Calling group " + groupID + "…"
	}
	timeout := m.opts.CallTimeout
	users = slices.Clone(users)
	return m.engineCmd("call", func(ctx context.Context) (tea.Msg, error) {
		var (
			info callcore.CallInfo
			err  error
		)
		if len(users) == 1 && groupID == "" {
			info, err = m.eng.Call(ctx, users[0], callType, timeout)
		} else {
			info, err = m.eng.GroupCall(ctx, users, callType, groupID)
		}
		return callStartMsg{info: info, callType: callType, users: users, groupID: groupID}, err
	})
}

func (m *Model) onCallStarted(msg callStartMsg) tea.Cmd {
	invitees := msg.info.Invitees
	if len(invitees) == 0 {
		invitees = msg.users
	}
	m.call = &callState{
		inviteID: msg.info.InviteID, roomID: msg.info.RoomID, callType: msg.callType,
		outgoing: true, group: len(msg.users) != 1 || msg.groupID != "", groupID: msg.groupID,
		dialedAt: m.opts.Now(), parts: make(map[string]*participant), pending: slices.Clone(invitees),
	}
	m.phase = phaseOutgoing
	m.notice = ""
	m.camOn = msg.callType == callcore.CallTypeVideo
	return tea.Batch(m.tick(), m.syncViews())
}

func (m *Model) onAccepted(inv callcore.Invited) tea.Cmd {
	m.invite = nil
	c := &callState{
		inviteID: inv.InviteID, roomID: inv.InviteData.RoomID, callType: inv.InviteData.CallType,
		group: inv.IsFromGroup || len(inv.UserIDList) > 1, groupID: inv.GroupID,
		dialedAt: m.opts.Now(), parts: make(map[string]*participant),
	}
	c.part(inv.Sponsor).accepted = true
	m.call = c
	m.phase = phaseInCall
	m.notice = ""
	m.camOn = c.callType == callcore.CallTypeVideo
	return tea.Batch(m.tick(), m.statsCmd(), m.syncViews())
}

// endCall leaves the call screens and says why.
func (m *Model) endCall(reason string) tea.Cmd {
	cmd := m.stopViews()
	m.phase = phaseIdle
	m.call = nil
	m.invite = nil
	m.quality = make(map[string]PeerStats)
	m.lastEnd = reason
	m.notice, m.err = "", ""
	return cmd
}

// syncViews binds a view to every remote member with video, and the local
// preview, while the call is a video call.
func (m *Model) syncViews() tea.Cmd {
	c := m.call
	if c == nil {
		return nil
	}
	video := c.callType == callcore.CallTypeVideo
	var remote []string
	for _, id := range c.order {
		if p := c.parts[id]; p.entered {
			remote = append(remote, id)
		}
	}
	local := video && m.camOn
	return func() tea.Msg {
		for _, id := range remote {
			var err error
			if video {
				err = m.eng.StartRemoteView(id, RemoteViewID(id))
			} else {
				err = m.eng.StopRemoteView(id, RemoteViewID(id))
			}
			if err != nil {
				return errMsg{op: "remote view", err: err}
			}
		}
		var err error
		if local {
			err = m.eng.StartLocalView(LocalViewID)
		} else {
			err = m.eng.StopLocalView(LocalViewID)
		}
		if err != nil {
			return errMsg{op: "local view", err: err}
		}
		return viewDoneMsg{}
	}
}

// stopViews drops the local preview when a call ends (remote bindings end
// with the call in the engine).
func (m *Model) stopViews() tea.Cmd {
	return func() tea.Msg {
		if err := m.eng.StopLocalView(LocalViewID); err != nil {
			return errMsg{op: "local view", err: err}
		}
		return viewDoneMsg{}
	}
}

func (m *Model) setPresence(p Presence) tea.Cmd {
	i := contactIndex(m.contacts, p.UserID)
	if i < 0 {
		return nil
	}
	c := m.contacts.Items()[i].(contactItem)
	c.status = p.Status
	// Presence carries the contact's current self info: empty means they
	// set none (or cleared it).
	c.nick = p.NickName
	cmd := m.contacts.SetItem(i, c)
	m.contacts.SetDelegate(newContactDelegate(m.st, m.contacts.Items()))
	return cmd
}

// layout sizes the parts of the screen after a resize or a help toggle.
func (m *Model) layout() {
	m.help.Width = m.width
	h := m.height - 4 - m.helpHeight()
	if len(m.opts.MediaNotes) > 0 {
		h-- // the media line under the status
	}
	m.contacts.SetSize(max(m.width-2, 10), max(h, 3))
}

func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	n := 1
	for _, col := range m.pageKeys().FullHelp() {
		n = max(n, len(col))
	}
	return n
}

// pageKeys is the help of what has focus.
func (m *Model) pageKeys() keymap.Page {
	switch {
	case m.phase == phaseIncoming:
		return m.keys.Incoming()
	case m.phase == phaseOutgoing:
		return m.keys.Ringing()
	case m.phase == phaseInCall:
		return m.keys.InCall()
	case m.prompt != promptNone:
		return m.keys.Prompt()
	}
	return m.keys.Contacts()
}

package ui

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/keymap"
)

// callScreen is a call from our first ring to its end: an outgoing call
// still ringing, or a call we are in, with its members and their media,
// the link quality and the video panes. It holds the call (nil: none) and
// takes the call's events and its own Cmds' answers.
type callScreen struct {
	c *common
	// end ends the call on every screen (Model.endCall): a 1:1 call whose
	// invitee will not come is over.
	end       func(reason string) tea.Cmd
	call      *callState
	quality   map[string]PeerStats
	statsLoop bool // a statsMsg is on its way
}

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

// Messages of the call screen's Cmds.
type (
	micMsg   struct{ muted bool }
	camMsg   struct{ on bool }
	statsMsg map[string]PeerStats
)

func newCallScreen(c *common, end func(reason string) tea.Cmd) *callScreen {
	return &callScreen{c: c, end: end, quality: make(map[string]PeerStats)}
}

// started shows the call we placed, ringing (the contacts screen's
// callStartMsg).
func (s *callScreen) started(msg callStartMsg) tea.Cmd {
	invitees := msg.info.Invitees
	if len(invitees) == 0 {
		invitees = msg.users
	}
	s.call = &callState{
		inviteID: msg.info.InviteID, roomID: msg.info.RoomID, callType: msg.callType,
		outgoing: true, group: len(msg.users) != 1 || msg.groupID != "", groupID: msg.groupID,
		dialedAt: s.c.opts.Now(), parts: make(map[string]*participant), pending: slices.Clone(invitees),
	}
	s.c.phase = phaseOutgoing
	s.c.notice = ""
	s.c.camOn = msg.callType == callcore.CallTypeVideo
	return tea.Batch(s.c.tick(), s.syncViews())
}

// accepted shows the call of the invitation we accepted.
func (s *callScreen) accepted(inv callcore.Invited) tea.Cmd {
	call := &callState{
		inviteID: inv.InviteID, roomID: inv.InviteData.RoomID, callType: inv.InviteData.CallType,
		group: inv.IsFromGroup || len(inv.UserIDList) > 1, groupID: inv.GroupID,
		dialedAt: s.c.opts.Now(), parts: make(map[string]*participant),
	}
	call.part(inv.Sponsor).accepted = true
	s.call = call
	s.c.phase = phaseInCall
	s.c.notice = ""
	s.c.camOn = call.callType == callcore.CallTypeVideo
	return tea.Batch(s.c.tick(), s.statsCmd(), s.syncViews())
}

// reset forgets the call: it ended.
func (s *callScreen) reset() {
	s.call = nil
	s.quality = make(map[string]PeerStats)
}

func (s *callScreen) hasCall() bool { return s.call != nil }

// nobodyYet says we are in a call nobody else has entered.
func (s *callScreen) nobodyYet() bool { return s.call != nil && len(s.call.order) == 0 }

// Update takes the keys while the screen is shown, the call's events, and
// the answers to its Cmds.
func (s *callScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.onKey(msg)
	case engineEventMsg:
		return s.onEvent(callcore.Event(msg))
	case micMsg:
		s.c.micMuted = msg.muted
		return nil
	case camMsg:
		s.c.camOn = msg.on
		return s.syncViews()
	case statsMsg:
		s.statsLoop = false
		if s.c.phase != phaseInCall {
			return nil
		}
		s.quality = msg
		return s.statsCmd()
	}
	return nil
}

func (s *callScreen) onKey(msg tea.KeyMsg) tea.Cmd {
	c := s.c
	k, eng := c.keys, c.eng
	switch {
	case key.Matches(msg, k.Hangup):
		c.notice = "Hanging up…"
		return c.engineCmd("hang up", func(ctx context.Context) (tea.Msg, error) {
			return nil, eng.Hangup(ctx)
		})
	case key.Matches(msg, k.Mute):
		mute := !c.micMuted
		return c.engineCmd("mute", func(ctx context.Context) (tea.Msg, error) {
			return micMsg{muted: mute}, eng.SetMicMute(ctx, mute)
		})
	case key.Matches(msg, k.Camera):
		on := !c.camOn
		return c.engineCmd("camera", func(ctx context.Context) (tea.Msg, error) {
			if on {
				return camMsg{on: true}, eng.OpenCamera(ctx)
			}
			return camMsg{on: false}, eng.CloseCamera(ctx)
		})
	case key.Matches(msg, k.SwitchType):
		if s.call == nil {
			return nil
		}
		toVideo := s.call.callType != callcore.CallTypeVideo
		return c.engineCmd("switch call type", func(ctx context.Context) (tea.Msg, error) {
			if toVideo {
				return nil, eng.SwitchToVideoCall(ctx)
			}
			return nil, eng.SwitchToAudioCall(ctx)
		})
	}
	return nil
}

// onEvent applies an event about the call: its members, their media, the
// invitees.
func (s *callScreen) onEvent(ev callcore.Event) tea.Cmd {
	call := s.call
	switch d := ev.Data.(type) {
	case callcore.UserRef:
		return s.onUserRef(ev.Name, d.UserID)
	case callcore.UserLeave:
		if call == nil {
			return nil
		}
		call.remove(d.UserID)
		s.c.notice = d.UserID + " left" + reasonSuffix(d.Reason)
		s.c.hub.view(RemoteViewID(d.UserID)).Close()
		return nil
	case callcore.NoResp:
		return s.inviteeGone(d.UserIDList, "no answer from %s", "No answer")
	case callcore.LineBusy:
		return s.inviteeGone([]string{d.UserID}, "%s is busy", "Line busy")
	case callcore.VideoAvailable:
		if call != nil {
			call.part(d.UserID).video = d.IsVideoAvailable
		}
		return nil
	case callcore.AudioAvailable:
		if call != nil {
			call.part(d.UserID).audio = d.IsAudioAvailable
		}
		return nil
	case callcore.VoiceVolume:
		if call != nil {
			for u, v := range d.VolumeMap {
				if p := call.parts[u]; p != nil {
					p.volume = v
				}
			}
		}
		return nil
	case callcore.InviteeList:
		if call != nil {
			call.pending = slices.Clone(d.UserIDList)
		}
		return nil
	case callcore.CallTypeChanged:
		if call == nil {
			return nil
		}
		call.callType = d.NewCallType
		s.c.camOn = d.NewCallType == callcore.CallTypeVideo
		for _, p := range call.parts {
			// The switch turns everyone's camera on or off with it.
			p.video = s.c.camOn
		}
		s.c.notice = fmt.Sprintf("%s switched to %s", d.UserID, callTypeName(d.NewCallType))
		return s.syncViews()
	}
	return nil
}

func (s *callScreen) onUserRef(name callcore.EventName, user string) tea.Cmd {
	call := s.call
	switch name {
	case callcore.EventUserAccept:
		if call != nil {
			call.part(user).accepted = true
			call.pending = slices.DeleteFunc(call.pending, func(id string) bool { return id == user })
			s.c.notice = user + " accepted"
		}
	case callcore.EventReject:
		return s.inviteeGone([]string{user}, "%s rejected the call", "Rejected")
	case callcore.EventUserEnter:
		if call == nil {
			return nil
		}
		p := call.part(user)
		p.entered, p.accepted = true, true
		call.pending = slices.DeleteFunc(call.pending, func(id string) bool { return id == user })
		if call.startedAt.IsZero() {
			call.startedAt = s.c.opts.Now()
		}
		s.c.phase = phaseInCall
		s.c.notice = user + " joined"
		return tea.Batch(s.statsCmd(), s.syncViews(), s.c.tick())
	}
	return nil
}

// inviteeGone handles invitees who will not join (rejected, busy, no
// answer). A 1:1 call ends with that reason; a group call goes on.
func (s *callScreen) inviteeGone(users []string, noticeFmt, endPrefix string) tea.Cmd {
	call := s.call
	if call == nil || !call.outgoing {
		return nil
	}
	for _, u := range users {
		call.pending = slices.DeleteFunc(call.pending, func(id string) bool { return id == u })
	}
	who := joinUsers(users)
	if !call.group && s.c.phase == phaseOutgoing {
		return s.end(fmt.Sprintf("%s: "+noticeFmt, endPrefix, who))
	}
	s.c.notice = fmt.Sprintf(noticeFmt, who)
	return nil
}

// statsCmd asks for the link quality every statsInterval while in a call
// (one request at a time).
func (s *callScreen) statsCmd() tea.Cmd {
	c := s.c
	src, ok := c.opts.Stats, c.opts.Stats != nil
	if !ok {
		src, ok = c.eng.(StatsSource)
	}
	if !ok || s.statsLoop || c.phase != phaseInCall {
		return nil
	}
	s.statsLoop = true
	return c.after(statsInterval, func() tea.Msg { return statsMsg(src.CallStats()) })
}

// syncViews binds a view to every remote member with video, and the local
// preview, while the call is a video call.
func (s *callScreen) syncViews() tea.Cmd {
	call := s.call
	if call == nil {
		return nil
	}
	video := call.callType == callcore.CallTypeVideo
	var remote []string
	for _, id := range call.order {
		if p := call.parts[id]; p.entered {
			remote = append(remote, id)
		}
	}
	local := video && s.c.camOn
	eng := s.c.eng
	return func() tea.Msg {
		for _, id := range remote {
			var err error
			if video {
				err = eng.StartRemoteView(id, RemoteViewID(id))
			} else {
				err = eng.StopRemoteView(id, RemoteViewID(id))
			}
			if err != nil {
				return errMsg{op: "remote view", err: err}
			}
		}
		var err error
		if local {
			err = eng.StartLocalView(LocalViewID)
		} else {
			err = eng.StopLocalView(LocalViewID)
		}
		if err != nil {
			return errMsg{op: "local view", err: err}
		}
		return viewDoneMsg{}
	}
}

// Keys implements screen.
func (s *callScreen) Keys() keymap.Page {
	if s.c.phase == phaseOutgoing {
		return s.c.keys.Ringing()
	}
	return s.c.keys.InCall()
}

// View implements screen: the call and its members, then the video panes
// in whatever height they leave.
func (s *callScreen) View(height int) []string {
	lines := s.callLines()
	lines = append(lines, s.videoView(s.c.width, height-countLines(lines))...)
	return padLines(lines, height)
}

func (s *callScreen) callLines() []string {
	c, call := s.c, s.call
	st := c.st
	now := c.opts.Now()
	var lines []string
	switch {
	case c.phase == phaseOutgoing:
		target := joinUsers(call.pending)
		if call.groupID != "" {
			target = "group " + call.groupID
		}
		lines = append(lines, fmt.Sprintf("%s %s call to %s · ringing %s",
			st.PromptHead.Render("Calling"), callTypeName(call.callType), target, clock(now.Sub(call.dialedAt))))
	case call.startedAt.IsZero():
		lines = append(lines, fmt.Sprintf("%s %s call · connecting…", st.PromptHead.Render("In call"), callTypeName(call.callType)))
	default:
		line := fmt.Sprintf("%s %s call · %s · %s", st.PromptHead.Render("In call"),
			callTypeName(call.callType), clock(now.Sub(call.startedAt)), s.qualityView())
		if call.callType == callcore.CallTypeVideo {
			line += " · sending ≤ " + string(s.c.quality)
		}
		lines = append(lines, line)
	}
	lines = append(lines, s.participantLine("you", !c.micMuted, c.camOn, -1, ""))
	lines = append(lines, c.devicesLines()...)
	for _, id := range call.order {
		p := call.parts[id]
		state := ""
		if !p.entered {
			state = "connecting"
		}
		lines = append(lines, s.participantLine(id, p.audio, p.video, p.volume, state))
	}
	if c.phase == phaseInCall && len(call.pending) > 0 {
		lines = append(lines, st.Status.Render("ringing: "+joinUsers(call.pending)))
	}
	return lines
}

func (s *callScreen) participantLine(name string, audio, video bool, volume int, state string) string {
	st := s.c.st
	mic := st.On.Render("mic ●")
	if !audio {
		mic = st.Muted.Render("mic ✕ muted")
	}
	cam := st.On.Render("cam ●")
	if !video {
		cam = st.Status.Render("cam ○ off")
	}
	vol := ""
	if volume >= 0 {
		n := (volume + 19) / 20
		vol = " " + strings.Repeat("▮", n) + strings.Repeat("▯", 5-n)
	}
	if state != "" {
		state = " " + st.Status.Render("("+state+")")
	}
	return fmt.Sprintf("  %-16s %s  %s%s%s", name, mic, cam, vol, state)
}

// qualityView is the worst member's link quality.
func (s *callScreen) qualityView() string {
	st := s.c.st
	if len(s.quality) == 0 {
		return st.Status.Render("quality n/a")
	}
	var worst PeerStats
	for _, id := range sortedKeys(s.quality) {
		q := s.quality[id]
		worst.RTT = max(worst.RTT, q.RTT)
		worst.Loss = math.Max(worst.Loss, q.Loss)
	}
	detail := fmt.Sprintf("rtt %dms loss %.1f%%", worst.RTT.Milliseconds(), worst.Loss*100)
	if p := s.pathView(); p != "" {
		detail += " · " + p
	}
	switch {
	case worst.RTT < 150*time.Millisecond && worst.Loss < 0.02:
		return st.Quality.Good.Render("quality ●●● good") + " " + detail
	case worst.RTT < 400*time.Millisecond && worst.Loss < 0.08:
		return st.Quality.Fair.Render("quality ●●○ fair") + " " + detail
	default:
		return st.Quality.Poor.Render("quality ●○○ poor") + " " + detail
	}
}

// pathView says whether media is direct or goes through a TURN relay ("":
// no member's path is known yet). In a group where only some members are
// relayed, those are named: a relay adds delay and hides addresses.
func (s *callScreen) pathView() string {
	var direct int
	var relayed []string
	for _, id := range sortedKeys(s.quality) {
		switch s.quality[id].Path {
		case PathDirect:
			direct++
		case PathRelayed:
			relayed = append(relayed, id)
		}
	}
	switch {
	case len(relayed) > 0 && direct > 0:
		return "relayed (TURN) to " + strings.Join(relayed, ", ")
	case len(relayed) > 0:
		return "relayed (TURN)"
	case direct > 0:
		return "direct"
	}
	return ""
}

// videoView lays the video panes out in a grid: one per remote member
// with video, plus the local preview. Rows are built by concatenating
// renderer output directly (no lipgloss per line: field notes).
func (s *callScreen) videoView(width, height int) []string {
	call := s.call
	if call == nil || call.callType != callcore.CallTypeVideo || height < 3 || width < 8 {
		return nil
	}
	type pane struct{ id, caption string }
	var panes []pane
	for _, id := range call.order {
		if p := call.parts[id]; p.entered {
			caption := id
			if !p.video {
				caption += " (camera off)"
			}
			panes = append(panes, pane{RemoteViewID(id), caption})
		}
	}
	if s.c.camOn {
		panes = append(panes, pane{LocalViewID, "you"})
	}
	if len(panes) == 0 {
		return nil
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(panes)))))
	rows := (len(panes) + cols - 1) / cols
	pw := width / cols
	ph := height/rows - 1 // one line for the caption
	if pw < 4 || ph < 1 {
		return nil
	}
	var out []string
	for r := 0; r < rows; r++ {
		row := panes[r*cols : min(len(panes), (r+1)*cols)]
		var caption strings.Builder
		drawn := make([][]string, len(row))
		for i, p := range row {
			caption.WriteString(fit(p.caption, pw))
			drawn[i] = s.c.hub.pane(s.c.rend, p.id, pw, ph)
		}
		out = append(out, s.c.st.Pane.Render(caption.String()))
		for y := 0; y < ph; y++ {
			var b strings.Builder
			for _, lines := range drawn {
				if y < len(lines) {
					b.WriteString(lines[y])
				}
			}
			out = append(out, b.String())
		}
	}
	return out
}

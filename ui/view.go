package ui

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/termcall/termcall/callcore"
)

// View implements tea.Model.
func (m *Model) View() string {
	var top []string
	top = append(top, m.headerView())
	var body []string
	switch m.phase {
	case phaseIncoming:
		body = m.incomingView()
	case phaseOutgoing, phaseInCall:
		body = m.callView()
	default:
		body = m.contactsView()
	}
	bottom := m.statusLines()
	bottom = append(bottom, m.help.View(m.pageKeys()))
	// Video fills whatever the call screen leaves.
	if m.phase == phaseOutgoing || m.phase == phaseInCall {
		rows := m.height - countLines(top) - countLines(body) - countLines(bottom)
		body = append(body, m.videoView(m.width, rows)...)
	}
	out := append(top, body...)
	if pad := m.height - countLines(out) - countLines(bottom); pad > 0 && m.phase != phaseIdle {
		out = append(out, make([]string, pad)...)
	}
	return strings.Join(append(out, bottom...), "\n")
}

func (m *Model) headerView() string {
	who := m.self
	state := m.st.Presence.Offline.Render("connecting")
	switch {
	case m.kicked:
		state = m.st.Error.Render("signed out")
	case m.loggedIn && m.phase == phaseIncoming:
		state = m.st.Presence.Busy.Render("ringing")
	case m.loggedIn && m.phase == phaseOutgoing:
		state = m.st.Presence.Busy.Render("calling")
	case m.loggedIn && m.phase != phaseIdle:
		state = m.st.Presence.Busy.Render("in a call")
	case m.loggedIn:
		state = m.st.Presence.Online.Render("online")
	}
	mic := m.st.On.Render("mic on")
	if m.micMuted {
		mic = m.st.Muted.Render("mic muted")
	}
	cam := m.st.Status.Render("cam off")
	if m.camOn {
		cam = m.st.On.Render("cam on")
	}
	return fmt.Sprintf("%s  %s %s · %s · %s · video: %s", m.st.Title.Render("termcall"), who, state, mic, cam,
		m.rend.kind().String())
}

func (m *Model) contactsView() []string {
	switch m.prompt {
	case promptDial:
		return []string{"", m.st.Prompt.Render(fmt.Sprintf("%s\n\n%s\n\n%s call (tab to switch)",
			m.st.PromptHead.Render("Dial by name"), m.dial.View(), callTypeName(m.dialType)))}
	case promptGroup:
		var b strings.Builder
		b.WriteString(m.st.PromptHead.Render("Call an IM group") + "\n")
		for i, g := range m.opts.Groups {
			mark := "  "
			if i == m.groupIdx {
				mark = "> "
			}
			b.WriteString("\n" + mark + g)
		}
		b.WriteString("\n\n" + callTypeName(m.dialType) + " call (tab to switch)")
		return []string{"", m.st.Prompt.Render(b.String())}
	}
	lines := []string{m.contacts.View()}
	if n := len(markedContacts(m.contacts)); n > 0 {
		lines = append(lines, m.st.Contact.Marked.Render(fmt.Sprintf("%d %s selected: enter/c starts a group call", n, plural(n, "contact", "contacts"))))
	}
	return lines
}

func (m *Model) incomingView() []string {
	inv := m.invite
	kind := "audio"
	if inv.InviteData.CallType == callcore.CallTypeVideo {
		kind = "video"
	}
	var b strings.Builder
	b.WriteString(m.st.PromptHead.Render(fmt.Sprintf("Incoming %s call", kind)))
	b.WriteString("\n\nfrom " + displayName(inv.Sponsor, inv.SponsorNickName))
	var others []string
	for _, u := range inv.UserIDList {
		if u != m.self && u != inv.Sponsor {
			others = append(others, u)
		}
	}
	switch {
	case inv.IsFromGroup:
		b.WriteString(fmt.Sprintf("\ngroup %s", inv.GroupID))
		if len(others) > 0 {
			b.WriteString(" with " + joinUsers(others))
		}
	case len(others) > 0:
		b.WriteString("\ngroup call with " + joinUsers(others))
	}
	b.WriteString(fmt.Sprintf("\nringing %s", clock(m.opts.Now().Sub(m.inviteAt))))
	b.WriteString(fmt.Sprintf("\n\n[%s] accept   [%s] reject",
		m.keys.Accept.Help().Key, m.keys.Reject.Help().Key))
	return []string{"", m.st.Prompt.Render(b.String())}
}

func (m *Model) participantLine(name string, audio, video bool, volume int, state string) string {
	mic := m.st.On.Render("mic ●")
	if !audio {
		mic = m.st.Muted.Render("mic ✕ muted")
	}
	cam := m.st.On.Render("cam ●")
	if !video {
		cam = m.st.Status.Render("cam ○ off")
	}
	vol := ""
	if volume >= 0 {
		n := (volume + 19) / 20
		vol = " " + strings.Repeat("▮", n) + strings.Repeat("▯", 5-n)
	}
	if state != "" {
		state = " " + m.st.Status.Render("("+state+")")
	}
	return fmt.Sprintf("  %-16s %s  %s%s%s", name, mic, cam, vol, state)
}

// qualityView is the worst member's link quality.
func (m *Model) qualityView() string {
	if len(m.quality) == 0 {
		return m.st.Status.Render("quality n/a")
	}
	var worst PeerStats
	for _, id := range sortedKeys(m.quality) {
		s := m.quality[id]
		worst.RTT = max(worst.RTT, s.RTT)
		worst.Loss = math.Max(worst.Loss, s.Loss)
	}
	detail := fmt.Sprintf("rtt %dms loss %.1f%%", worst.RTT.Milliseconds(), worst.Loss*100)
	switch {
	case worst.RTT < 150*time.Millisecond && worst.Loss < 0.02:
		return m.st.Quality.Good.Render("quality ●●● good") + " " + detail
	case worst.RTT < 400*time.Millisecond && worst.Loss < 0.08:
		return m.st.Quality.Fair.Render("quality ●●○ fair") + " " + detail
	default:
		return m.st.Quality.Poor.Render("quality ●○○ poor") + " " + detail
	}
}

// videoView lays the video panes out in a grid: one per remote member
// with video, plus the local preview. Rows are built by concatenating
// renderer output directly (no lipgloss per line: field notes).
func (m *Model) videoView(width, height int) []string {
	c := m.call
	if c == nil || c.callType != callcore.CallTypeVideo || height < 3 || width < 8 {
		return nil
	}
	type pane struct{ id, caption string }
	var panes []pane
	for _, id := range c.order {
		if p := c.parts[id]; p.entered {
			caption := id
			if !p.video {
				caption += " (camera off)"
			}
			panes = append(panes, pane{RemoteViewID(id), caption})
		}
	}
	if m.camOn {
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
			drawn[i] = m.hub.pane(m.rend, p.id, pw, ph)
		}
		out = append(out, m.st.Pane.Render(caption.String()))
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

func (m *Model) statusLines() []string {
	var out []string
	switch {
	case m.err != "":
		out = append(out, m.st.Error.Render(m.err))
	case m.notice != "":
		out = append(out, m.st.Notice.Render(m.notice))
	case m.lastEnd != "":
		out = append(out, m.st.Notice.Render(m.lastEnd))
	default:
		out = append(out, "")
	}
	if len(m.opts.MediaNotes) > 0 {
		out = append(out, m.st.Notice.Render(fit("media: "+strings.Join(m.opts.MediaNotes, " · "), max(m.width, 10))))
	}
	ev := "events: –"
	if len(m.events) > 0 {
		// Newest first, so that a narrow screen cuts the oldest.
		rev := slices.Clone(m.events)
		slices.Reverse(rev)
		ev = "events: " + strings.Join(rev, " · ")
	}
	out = append(out, m.st.Events.Render(fit(ev, max(m.width, 10))))
	return out
}

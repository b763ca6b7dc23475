package ui

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
)

// onEvent applies one engine event to the model. Every event is also
// listed in the event log line, so the user sees all of them.
func (m *Model) onEvent(ev callcore.Event) tea.Cmd {
	m.log.Debug("engine event", "name", ev.Name, "data", ev.Data)
	m.logEvent(ev)
	switch d := ev.Data.(type) {
	case callcore.SDKReady:
		m.self, m.loggedIn, m.kicked = d.UserID, true, false
		return m.watchCmd()
	case callcore.Invited:
		if m.phase != phaseIdle {
			return nil // the server answers busy for us; the log shows it
		}
		inv := d
		m.invite = &inv
		m.inviteAt = m.opts.Now()
		m.phase = phaseIncoming
		m.prompt = promptNone
		m.lastEnd, m.err = "", ""
		return tea.Batch(m.bellCmd(d.InviteID, 0), m.bellCmd(d.InviteID, bellInterval), m.tick())
	case callcore.UserRef:
		return m.onUserRef(ev.Name, d.UserID)
	case callcore.UserLeave:
		if m.call == nil {
			return nil
		}
		m.call.remove(d.UserID)
		m.notice = d.UserID + " left" + reasonSuffix(d.Reason)
		m.hub.view(RemoteViewID(d.UserID)).Close()
		return nil
	case callcore.NoResp:
		return m.inviteeGone(d.UserIDList, "no answer from %s", "No answer")
	case callcore.LineBusy:
		if d.UserID == m.self && d.Sponsor != "" && d.Sponsor != m.self {
			m.notice = "Missed call from " + d.Sponsor + " (you were busy)"
			return nil
		}
		return m.inviteeGone([]string{d.UserID}, "%s is busy", "Line busy")
	case callcore.CallingCancel:
		if m.invite != nil && m.invite.InviteID == d.InviteID {
			return m.endCall(d.Sponsor + " cancelled the call")
		}
		return nil
	case callcore.CallingTimeout:
		if m.invite != nil && m.invite.InviteID == d.InviteID {
			return m.endCall("Missed call from " + d.Sponsor)
		}
		return nil
	case callcore.CallEnd:
		if m.call == nil && m.phase == phaseIdle {
			return nil // the reason is on screen already (REJECT, LINE_BUSY, ...)
		}
		return m.endCall(endReason(d, m.self))
	case callcore.KickedOut:
		m.kicked, m.loggedIn = true, false
		cmd := m.endCall("")
		m.err = "Signed out: your account logged in elsewhere (" + d.Reason.String() + ")"
		return cmd
	case callcore.VideoAvailable:
		if m.call != nil {
			m.call.part(d.UserID).video = d.IsVideoAvailable
		}
		return nil
	case callcore.AudioAvailable:
		if m.call != nil {
			m.call.part(d.UserID).audio = d.IsAudioAvailable
		}
		return nil
	case callcore.VoiceVolume:
		if m.call != nil {
			for u, v := range d.VolumeMap {
				if p := m.call.parts[u]; p != nil {
					p.volume = v
				}
			}
		}
		return nil
	case callcore.InviteeList:
		if m.call != nil {
			m.call.pending = slices.Clone(d.UserIDList)
		}
		return nil
	case callcore.CallTypeChanged:
		if m.call == nil {
			return nil
		}
		m.call.callType = d.NewCallType
		m.camOn = d.NewCallType == callcore.CallTypeVideo
		for _, p := range m.call.parts {
			// The switch turns everyone's camera on or off with it.
			p.video = m.camOn
		}
		m.notice = fmt.Sprintf("%s switched to %s", d.UserID, callTypeName(d.NewCallType))
		return m.syncViews()
	case callcore.Error:
		m.err = fmt.Sprintf("error %d: %s", d.Code, d.Msg)
		return nil
	case callcore.Presence:
		return m.setPresence(d)
	}
	return nil
}

func (m *Model) onUserRef(name callcore.EventName, user string) tea.Cmd {
	switch name {
	case callcore.EventUserAccept:
		if m.call != nil {
			m.call.part(user).accepted = true
			m.call.pending = slices.DeleteFunc(m.call.pending, func(s string) bool { return s == user })
			m.notice = user + " accepted"
		}
	case callcore.EventReject:
		return m.inviteeGone([]string{user}, "%s rejected the call", "Rejected")
	case callcore.EventUserEnter:
		if m.call == nil {
			return nil
		}
		p := m.call.part(user)
		p.entered, p.accepted = true, true
		m.call.pending = slices.DeleteFunc(m.call.pending, func(s string) bool { return s == user })
		if m.call.startedAt.IsZero() {
			m.call.startedAt = m.opts.Now()
		}
		m.phase = phaseInCall
		m.notice = user + " joined"
		return tea.Batch(m.statsCmd(), m.syncViews(), m.tick())
	}
	return nil
}

// inviteeGone handles invitees who will not join (rejected, busy, no
// answer). A 1:1 call ends with that reason; a group call goes on.
func (m *Model) inviteeGone(users []string, noticeFmt, endPrefix string) tea.Cmd {
	c := m.call
	if c == nil || !c.outgoing {
		return nil
	}
	for _, u := range users {
		c.pending = slices.DeleteFunc(c.pending, func(s string) bool { return s == u })
	}
	who := joinUsers(users)
	if !c.group && m.phase == phaseOutgoing {
		return m.endCall(fmt.Sprintf("%s: "+noticeFmt, endPrefix, who))
	}
	m.notice = fmt.Sprintf(noticeFmt, who)
	return nil
}

// logEvent keeps a short line per event for the event log.
func (m *Model) logEvent(ev callcore.Event) {
	var s string
	switch d := ev.Data.(type) {
	case callcore.SDKReady:
		s = d.UserID
	case callcore.Invited:
		s = fmt.Sprintf("%s %s", d.Sponsor, callTypeName(d.InviteData.CallType))
	case callcore.UserRef:
		s = d.UserID
	case callcore.UserLeave:
		s = d.UserID + reasonSuffix(d.Reason)
	case callcore.NoResp:
		s = strings.Join(d.UserIDList, ",")
	case callcore.LineBusy:
		s = d.UserID
	case callcore.CallingCancel:
		s = d.Sponsor
	case callcore.CallingTimeout:
		s = d.Sponsor
	case callcore.CallEnd:
		s = d.Reason.String()
	case callcore.KickedOut:
		s = d.Reason.String()
	case callcore.VideoAvailable:
		s = fmt.Sprintf("%s %v", d.UserID, d.IsVideoAvailable)
	case callcore.AudioAvailable:
		s = fmt.Sprintf("%s %v", d.UserID, d.IsAudioAvailable)
	case callcore.VoiceVolume:
		// Several per second: not worth a log line each.
		return
	case callcore.InviteeList:
		s = strings.Join(d.UserIDList, ",")
	case callcore.CallTypeChanged:
		s = fmt.Sprintf("%s → %s", d.UserID, callTypeName(d.NewCallType))
	case callcore.Error:
		s = fmt.Sprintf("%d %s", d.Code, d.Msg)
	case callcore.Presence:
		s = d.UserID + " " + d.Status.String()
	}
	line := string(ev.Name)
	if s != "" {
		line += " " + s
	}
	m.events = append(m.events, line)
	if len(m.events) > maxEventLog {
		m.events = m.events[len(m.events)-maxEventLog:]
	}
}

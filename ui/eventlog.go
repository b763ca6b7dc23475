package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/styles"
)

// eventLog is what the event line shows: a short line per recent engine
// event, newest last, so that the user sees every event.
type eventLog []string

// add keeps a line for ev, and only the last maxEventLog lines.
func (l *eventLog) add(ev callcore.Event) {
	s, ok := eventDetail(ev)
	if !ok {
		return
	}
	line := string(ev.Name)
	if s != "" {
		line += " " + s
	}
	*l = append(*l, line)
	if len(*l) > maxEventLog {
		*l = (*l)[len(*l)-maxEventLog:]
	}
}

// view is the event line, width cells wide.
func (l eventLog) view(st *styles.Styles, width int) string {
	ev := "events: –"
	if len(l) > 0 {
		// Newest first, so that a narrow screen cuts the oldest.
		rev := slices.Clone(l)
		slices.Reverse(rev)
		ev = "events: " + strings.Join(rev, " · ")
	}
	return st.Events.Render(fit(ev, max(width, 10)))
}

// eventDetail is what the event line says about ev after its name; ok is
// false for events not worth a line.
func eventDetail(ev callcore.Event) (s string, ok bool) {
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
		return "", false
	case callcore.InviteeList:
		s = strings.Join(d.UserIDList, ",")
	case callcore.CallTypeChanged:
		s = fmt.Sprintf("%s → %s", d.UserID, callTypeName(d.NewCallType))
	case callcore.Error:
		s = fmt.Sprintf("%d %s", d.Code, d.Msg)
	case callcore.Presence:
		s = d.UserID + " " + d.Status.String()
	}
	return s, true
}

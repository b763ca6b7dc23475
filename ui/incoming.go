package ui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/keymap"
)

// incomingScreen is an invitation ringing for us: who calls, with whom and
// since when, the bell, and the keys to accept or reject it. It holds the
// invitation (nil: none rings) and takes the events and answers about it.
type incomingScreen struct {
	c *common
	// end ends the call on every screen (Model.endCall): the invitation
	// ending takes the screen back to the contacts.
	end    func(reason string) tea.Cmd
	invite *callcore.Invited
	at     time.Time // ringing since
}

// Messages of the incoming screen's Cmds (the root moves an accepted
// invitation to the call screen).
type (
	acceptedMsg struct{ inv callcore.Invited }
	rejectedMsg struct{ inviteID string }
	bellMsg     struct{ inviteID string }
)

func newIncomingScreen(c *common, end func(reason string) tea.Cmd) *incomingScreen {
	return &incomingScreen{c: c, end: end}
}

// ring shows inv, which arrived while nothing else went on, and rings the
// bell.
func (s *incomingScreen) ring(inv callcore.Invited) tea.Cmd {
	s.invite = &inv
	s.at = s.c.opts.Now()
	s.c.phase = phaseIncoming
	s.c.lastEnd, s.c.err = "", ""
	return tea.Batch(s.bellCmd(inv.InviteID, 0), s.bellCmd(inv.InviteID, bellInterval), s.c.tick())
}

// reset forgets the invitation: it was accepted, or the call ended.
func (s *incomingScreen) reset() { s.invite = nil }

// rings says inviteID is the invitation shown.
func (s *incomingScreen) rings(inviteID string) bool {
	return s.invite != nil && s.invite.InviteID == inviteID
}

// Update takes the keys while the screen is shown, the end of the
// invitation (cancelled, timed out), the reject answer and the bell.
func (s *incomingScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.onKey(msg)
	case engineEventMsg:
		switch d := msg.Data.(type) {
		case callcore.CallingCancel:
			if s.rings(d.InviteID) {
				return s.end(d.Sponsor + " cancelled the call")
			}
		case callcore.CallingTimeout:
			if s.rings(d.InviteID) {
				return s.end("Missed call from " + d.Sponsor)
			}
		}
	case rejectedMsg:
		if s.rings(msg.inviteID) {
			s.invite = nil
			s.c.phase = phaseIdle
			s.c.lastEnd = "You rejected the call"
		}
	case bellMsg:
		if s.c.phase == phaseIncoming && s.rings(msg.inviteID) {
			return tea.Batch(s.bellCmd(msg.inviteID, 0), s.bellCmd(msg.inviteID, bellInterval))
		}
	}
	return nil
}

func (s *incomingScreen) onKey(msg tea.KeyMsg) tea.Cmd {
	inv := *s.invite
	eng := s.c.eng
	switch {
	case key.Matches(msg, s.c.keys.Accept):
		s.c.notice = "Joining the call…"
		return s.c.engineCmd("accept", func(ctx context.Context) (tea.Msg, error) {
			return acceptedMsg{inv: inv}, eng.Accept(ctx, inv.InviteID, 0, 0)
		})
	case key.Matches(msg, s.c.keys.Reject):
		return s.c.engineCmd("reject", func(ctx context.Context) (tea.Msg, error) {
			return rejectedMsg{inviteID: inv.InviteID}, eng.Reject(ctx, inv.InviteID, false, 0)
		})
	}
	return nil
}

// bellCmd rings the terminal bell now (delay 0), or asks again for a ring
// after delay while the invitation still rings.
func (s *incomingScreen) bellCmd(inviteID string, delay time.Duration) tea.Cmd {
	bell := s.c.opts.Bell
	ring := func() tea.Msg {
		_, _ = io.WriteString(bell, "\a")
		return nil
	}
	if delay == 0 {
		return ring
	}
	return s.c.after(delay, func() tea.Msg { return bellMsg{inviteID: inviteID} })
}

// Keys implements screen.
func (s *incomingScreen) Keys() keymap.Page { return s.c.keys.Incoming() }

// View implements screen: the prompt, padded to height.
func (s *incomingScreen) View(height int) []string {
	c := s.c
	inv := s.invite
	kind := "audio"
	if inv.InviteData.CallType == callcore.CallTypeVideo {
		kind = "video"
	}
	var b strings.Builder
	b.WriteString(c.st.PromptHead.Render(fmt.Sprintf("Incoming %s call", kind)))
	b.WriteString("\n\nfrom " + displayName(inv.Sponsor, inv.SponsorNickName))
	var others []string
	for _, u := range inv.UserIDList {
		if u != c.self && u != inv.Sponsor {
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
	b.WriteString(fmt.Sprintf("\nringing %s", clock(c.opts.Now().Sub(s.at))))
	b.WriteString(fmt.Sprintf("\n\n[%s] accept   [%s] reject",
		c.keys.Accept.Help().Key, c.keys.Reject.Help().Key))
	return padLines([]string{"", c.st.Prompt.Render(b.String())}, height)
}

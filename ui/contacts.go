package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/keymap"
)

// contactsScreen is the home screen: the contacts with their presence, and
// the prompts over them to dial a user by name or call an IM group. It
// lives as long as the model, so its cursor, marks, filter and an open
// prompt outlast a call, and it keeps presence current whatever is shown.
type contactsScreen struct {
	c        *common
	list     list.Model
	prompt   prompt
	dial     textinput.Model
	dialType callcore.CallType
	groupIdx int
}

// prompt is a modal input over the contacts screen.
type prompt int

const (
	promptNone prompt = iota
	promptDial
	promptGroup
)

// Messages of the contacts screen's Cmds.
type (
	presenceMsg  struct{ list []Presence }
	callStartMsg struct {
		info     callcore.CallInfo
		callType callcore.CallType
		users    []string
		groupID  string
	}
)

func newContactsScreen(c *common) *contactsScreen {
	dial := textinput.New()
	dial.Placeholder = "userID"
	dial.CharLimit = 32
	dial.Prompt = "call: "
	dial.Cursor.SetMode(cursor.CursorStatic)
	return &contactsScreen{
		c:        c,
		list:     newContactList(c.st, c.opts.Contacts),
		dial:     dial,
		dialType: callcore.CallTypeAudio,
	}
}

// Update takes the keys while the screen is shown, the presence answer,
// and the list's own messages (filter matches).
func (s *contactsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch s.prompt {
		case promptDial:
			return s.dialKey(msg)
		case promptGroup:
			return s.groupKey(msg)
		}
		return s.listKey(msg)
	case presenceMsg:
		var cmds []tea.Cmd
		for _, p := range msg.list {
			cmds = append(cmds, s.setPresence(p))
		}
		return tea.Batch(cmds...)
	}
	var cmd tea.Cmd
	s.list, cmd = s.list.Update(msg)
	return cmd
}

// Keys implements screen.
func (s *contactsScreen) Keys() keymap.Page {
	if s.prompting() {
		return s.c.keys.Prompt()
	}
	return s.c.keys.Contacts()
}

// prompting says a prompt takes the keys (the app's own keys are off).
func (s *contactsScreen) prompting() bool { return s.prompt != promptNone }

// filtering says the filter is being typed (it takes the letter keys).
func (s *contactsScreen) filtering() bool { return s.list.SettingFilter() }

// closePrompt drops an open prompt: an invitation takes the screen.
func (s *contactsScreen) closePrompt() { s.prompt = promptNone }

func (s *contactsScreen) setSize(w, h int) { s.list.SetSize(w, h) }

func (s *contactsScreen) listKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	if s.list.SettingFilter() {
		var cmd tea.Cmd
		s.list, cmd = s.list.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, k.AudioCall):
		return s.callSelected(callcore.CallTypeAudio)
	case key.Matches(msg, k.VideoCall):
		return s.callSelected(callcore.CallTypeVideo)
	case key.Matches(msg, k.Select):
		if c, ok := s.list.SelectedItem().(contactItem); ok {
			c.marked = !c.marked
			return s.list.SetItem(contactIndex(s.list, c.id), c)
		}
		return nil
	case key.Matches(msg, k.ClearMarks):
		var cmds []tea.Cmd
		for i, it := range s.list.Items() {
			if c, ok := it.(contactItem); ok && c.marked {
				c.marked = false
				cmds = append(cmds, s.list.SetItem(i, c))
			}
		}
		return tea.Batch(cmds...)
	case key.Matches(msg, k.Dial):
		s.prompt = promptDial
		s.dial.SetValue("")
		s.dialType = callcore.CallTypeAudio
		return s.dial.Focus()
	case key.Matches(msg, k.GroupCall):
		if len(s.c.opts.Groups) == 0 {
			s.c.notice = "No IM groups configured (groups = [...] in the config file)"
			return nil
		}
		s.prompt = promptGroup
		s.dialType = callcore.CallTypeAudio
		return nil
	}
	var cmd tea.Cmd
	s.list, cmd = s.list.Update(msg)
	return cmd
}

func (s *contactsScreen) dialKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	switch {
	case key.Matches(msg, k.Cancel):
		s.prompt = promptNone
		s.dial.Blur()
		return nil
	case key.Matches(msg, k.ToggleType):
		s.dialType = s.dialType.Other()
		return nil
	case key.Matches(msg, k.Confirm):
		user := s.dial.Value()
		if user == "" {
			return nil
		}
		s.prompt = promptNone
		s.dial.Blur()
		return s.callCmd([]string{user}, s.dialType, "")
	}
	var cmd tea.Cmd
	s.dial, cmd = s.dial.Update(msg)
	return cmd
}

func (s *contactsScreen) groupKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	switch {
	case key.Matches(msg, k.Cancel):
		s.prompt = promptNone
	case key.Matches(msg, k.Up):
		s.groupIdx = max(0, s.groupIdx-1)
	case key.Matches(msg, k.Down):
		s.groupIdx = min(len(s.c.opts.Groups)-1, s.groupIdx+1)
	case key.Matches(msg, k.ToggleType):
		s.dialType = s.dialType.Other()
	case key.Matches(msg, k.Confirm):
		s.prompt = promptNone
		return s.callCmd(nil, s.dialType, s.c.opts.Groups[s.groupIdx])
	}
	return nil
}

// callSelected calls the marked contacts (a group call) or, with none
// marked, the contact under the cursor.
func (s *contactsScreen) callSelected(callType callcore.CallType) tea.Cmd {
	users := markedContacts(s.list)
	if len(users) == 0 {
		c, ok := s.list.SelectedItem().(contactItem)
		if !ok {
			return nil
		}
		users = []string{c.id}
	}
	return s.callCmd(users, callType, "")
}

// callCmd dials one user (Call) or several / an IM group (GroupCall); the
// call screen takes over with the answer (callStartMsg).
func (s *contactsScreen) callCmd(users []string, callType callcore.CallType, groupID string) tea.Cmd {
	c := s.c
	if c.phase != phaseIdle {
		return nil
	}
	c.err, c.lastEnd = "", ""
	c.notice = "Calling " + joinUsers(users) + "…"
	if groupID != "" {
		c.notice = "Calling group " + groupID + "…"
	}
	timeout := c.opts.CallTimeout
	users = slices.Clone(users)
	eng := c.eng
	return c.engineCmd("call", func(ctx context.Context) (tea.Msg, error) {
		var (
			info callcore.CallInfo
			err  error
		)
		if len(users) == 1 && groupID == "" {
			info, err = eng.Call(ctx, users[0], callType, timeout)
		} else {
			info, err = eng.GroupCall(ctx, users, callType, groupID)
		}
		return callStartMsg{info: info, callType: callType, users: users, groupID: groupID}, err
	})
}

// watch asks for the contacts' presence (after each login).
func (s *contactsScreen) watch() tea.Cmd {
	users := contactIDs(s.list)
	if len(users) == 0 {
		return nil
	}
	eng := s.c.eng
	return s.c.engineCmd("watch presence", func(ctx context.Context) (tea.Msg, error) {
		l, err := eng.WatchPresence(ctx, users)
		return presenceMsg{list: l}, err
	})
}

// setPresence shows a contact's status and nickname.
func (s *contactsScreen) setPresence(p Presence) tea.Cmd {
	i := contactIndex(s.list, p.UserID)
	if i < 0 {
		return nil
	}
	c := s.list.Items()[i].(contactItem)
	c.status = p.Status
	// Presence carries the contact's current self info: empty means they
	// set none (or cleared it).
	c.nick = p.NickName
	cmd := s.list.SetItem(i, c)
	s.list.SetDelegate(newContactDelegate(s.c.st, s.list.Items()))
	return cmd
}

// View implements screen; the list fills the height it was sized to.
func (s *contactsScreen) View(int) []string {
	st := s.c.st
	switch s.prompt {
	case promptDial:
		return []string{"", st.Prompt.Render(fmt.Sprintf("%s\n\n%s\n\n%s call (tab to switch)",
			st.PromptHead.Render("Dial by name"), s.dial.View(), callTypeName(s.dialType)))}
	case promptGroup:
		var b strings.Builder
		b.WriteString(st.PromptHead.Render("Call an IM group") + "\n")
		for i, g := range s.c.opts.Groups {
			mark := "  "
			if i == s.groupIdx {
				mark = "> "
			}
			b.WriteString("\n" + mark + g)
		}
		b.WriteString("\n\n" + callTypeName(s.dialType) + " call (tab to switch)")
		return []string{"", st.Prompt.Render(b.String())}
	}
	lines := []string{s.list.View()}
	if n := len(markedContacts(s.list)); n > 0 {
		lines = append(lines, st.Contact.Marked.Render(fmt.Sprintf("%d %s selected: enter/c starts a group call", n, plural(n, "contact", "contacts"))))
	}
	return lines
}

package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/styles"
)

// contactItem is one row of the contacts list.
type contactItem struct {
	id     string
	nick   string                  // their nickname (SetSelfInfo), from presence; "" = none
	status callcore.PresenceStatus // "" = unknown
	marked bool                    // selected for a group call
}

// FilterValue implements list.Item: "/" finds a contact by ID or nickname.
func (c contactItem) FilterValue() string { return strings.TrimSpace(c.id + " " + c.nick) }

// label is the contact's name column: the nickname with the ID, which is
// what a call needs, or the ID alone.
func (c contactItem) label() string { return displayName(c.id, c.nick) }

// minNameWidth is the name column's width without long nicknames.
const minNameWidth = 20

// contactDelegate draws a contact row: cursor, mark, presence and name.
// nameWidth is the widest label, so that the presence column lines up.
type contactDelegate struct {
	st        *styles.Styles
	nameWidth int
}

func newContactDelegate(st *styles.Styles, items []list.Item) contactDelegate {
	w := minNameWidth
	for _, it := range items {
		if c, ok := it.(contactItem); ok {
			w = max(w, lipgloss.Width(c.label()))
		}
	}
	return contactDelegate{st: st, nameWidth: w}
}

func (d contactDelegate) Height() int                         { return 1 }
func (d contactDelegate) Spacing() int                        { return 0 }
func (d contactDelegate) Update(tea.Msg, *list.Model) tea.Cmd { return nil }

func (d contactDelegate) Render(w io.Writer, m list.Model, index int, it list.Item) {
	c, ok := it.(contactItem)
	if !ok {
		return
	}
	mark := "[ ]"
	if c.marked {
		mark = d.st.Contact.Marked.Render("[x]")
	}
	dot, label := presenceLabel(d.st, c.status)
	name := c.label()
	// Padded by display cells, not bytes: nicknames may be wide (CJK).
	name += strings.Repeat(" ", max(0, d.nameWidth-lipgloss.Width(name)))
	row := fmt.Sprintf("%s %s %s %s", mark, dot, name, label)
	if index == m.Index() {
		row = d.st.Contact.Cursor.Render(row)
	} else {
		row = d.st.Contact.Normal.Render(row)
	}
	_, _ = io.WriteString(w, row)
}

func presenceLabel(st *styles.Styles, status callcore.PresenceStatus) (dot, label string) {
	switch status {
	case callcore.PresenceOnline:
		return st.Presence.Online.Render("●"), st.Presence.Online.Render("online")
	case callcore.PresenceBusy:
		return st.Presence.Busy.Render("●"), st.Presence.Busy.Render("busy")
	case callcore.PresenceOffline:
		return st.Presence.Offline.Render("○"), st.Presence.Offline.Render("offline")
	default:
		return st.Presence.Unknown.Render("?"), st.Presence.Unknown.Render("unknown")
	}
}

// newContactList builds the contacts list. Its own help and quit keys are
// off: the TUI's help bar and keymap own those, and its paging keys are
// narrowed so that they do not shadow the TUI's letter keys.
func newContactList(st *styles.Styles, ids []string) list.Model {
	items := make([]list.Item, len(ids))
	for i, id := range ids {
		items[i] = contactItem{id: id}
	}
	l := list.New(items, newContactDelegate(st, items), 40, 10)
	l.Title = "Contacts"
	l.SetShowHelp(false)
	l.SetStatusBarItemName("contact", "contacts")
	l.DisableQuitKeybindings()
	l.KeyMap.NextPage = key.NewBinding(key.WithKeys("pgdown", "right"))
	l.KeyMap.PrevPage = key.NewBinding(key.WithKeys("pgup", "left"))
	l.KeyMap.GoToStart = key.NewBinding(key.WithKeys("home"))
	l.KeyMap.GoToEnd = key.NewBinding(key.WithKeys("end"))
	// A static cursor: a blinking one redraws the screen twice a second.
	l.FilterInput.Cursor.SetMode(cursor.CursorStatic)
	l.KeyMap.ShowFullHelp.SetEnabled(false)
	l.KeyMap.CloseFullHelp.SetEnabled(false)
	return l
}

// contactIndex returns the index of id in the full (unfiltered) list.
func contactIndex(l list.Model, id string) int {
	for i, it := range l.Items() {
		if c, ok := it.(contactItem); ok && c.id == id {
			return i
		}
	}
	return -1
}

// markedContacts returns the marked contacts in list order.
func markedContacts(l list.Model) []string {
	var out []string
	for _, it := range l.Items() {
		if c, ok := it.(contactItem); ok && c.marked {
			out = append(out, c.id)
		}
	}
	return out
}

func contactIDs(l list.Model) []string {
	out := make([]string, 0, len(l.Items()))
	for _, it := range l.Items() {
		if c, ok := it.(contactItem); ok {
			out = append(out, c.id)
		}
	}
	return out
}

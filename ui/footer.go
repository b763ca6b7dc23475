package ui

import (
	"strings"

	"github.com/termcall/termcall/ui/keymap"
)

// footerView is the bottom of every screen: the status line, the media
// notes, the event line, and the help of the screen shown (keys).
func (m *Model) footerView(keys keymap.Page) []string {
	return append(m.c.statusLines(), m.help.View(keys))
}

// statusLines are the footer's lines above the help bar.
func (c *common) statusLines() []string {
	var out []string
	switch {
	case c.err != "":
		out = append(out, c.st.Error.Render(c.err))
	case c.notice != "":
		out = append(out, c.st.Notice.Render(c.notice))
	case c.lastEnd != "":
		out = append(out, c.st.Notice.Render(c.lastEnd))
	default:
		out = append(out, "")
	}
	if len(c.opts.MediaNotes) > 0 {
		out = append(out, c.st.Notice.Render(fit("media: "+strings.Join(c.opts.MediaNotes, " · "), max(c.width, 10))))
	}
	return append(out, c.events.view(c.st, c.width))
}

// helpHeight is the help bar's height: one line, or the longest column of
// the shown screen's full help.
func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	n := 1
	for _, col := range m.active().Keys().FullHelp() {
		n = max(n, len(col))
	}
	return n
}

// Package styles holds every lipgloss style of the TUI in one place.
package styles

import "github.com/charmbracelet/lipgloss"

// Styles is the TUI's look, grouped by part of the screen.
type Styles struct {
	App    lipgloss.Style
	Title  lipgloss.Style
	Status lipgloss.Style
	Error  lipgloss.Style
	Notice lipgloss.Style
	Faint  lipgloss.Style

	Presence struct{ Online, Busy, Offline, Unknown lipgloss.Style }
	Contact  struct{ Normal, Cursor, Marked lipgloss.Style }

	Prompt     lipgloss.Style // incoming invitation / dialer box
	PromptHead lipgloss.Style

	Quality struct{ Good, Fair, Poor lipgloss.Style }
	Muted   lipgloss.Style
	On      lipgloss.Style
	Pane    lipgloss.Style // a video pane's caption
	Events  lipgloss.Style
}

// Default returns the default styles.
func Default() *Styles {
	s := &Styles{}
	s.App = lipgloss.NewStyle().Padding(0, 1)
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("39"))
	s.Status = lipgloss.NewStyle().Foreground(lipgloss.Color("245"))
	s.Error = lipgloss.NewStyle().Foreground(lipgloss.Color("196")).Bold(true)
	s.Notice = lipgloss.NewStyle().Foreground(lipgloss.Color("214"))
	s.Faint = lipgloss.NewStyle().Faint(true)

	s.Presence.Online = lipgloss.NewStyle().Foreground(lipgloss.Color("42"))
	s.Presence.Busy = lipgloss.NewStyle().Foreground(lipgloss.Color("214"))
	s.Presence.Offline = lipgloss.NewStyle().Foreground(lipgloss.Color("240"))
	s.Presence.Unknown = lipgloss.NewStyle().Foreground(lipgloss.Color("240"))

	s.Contact.Normal = lipgloss.NewStyle().PaddingLeft(2)
	s.Contact.Cursor = lipgloss.NewStyle().PaddingLeft(1).Border(lipgloss.NormalBorder(), false, false, false, true).
		BorderForeground(lipgloss.Color("39")).Foreground(lipgloss.Color("39"))
	s.Contact.Marked = lipgloss.NewStyle().Foreground(lipgloss.Color("213"))

	s.Prompt = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("213")).Padding(1, 3)
	s.PromptHead = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("213"))

	s.Quality.Good = lipgloss.NewStyle().Foreground(lipgloss.Color("42"))
	s.Quality.Fair = lipgloss.NewStyle().Foreground(lipgloss.Color("214"))
	s.Quality.Poor = lipgloss.NewStyle().Foreground(lipgloss.Color("196"))
	s.Muted = lipgloss.NewStyle().Foreground(lipgloss.Color("196"))
	s.On = lipgloss.NewStyle().Foreground(lipgloss.Color("42"))
	s.Pane = lipgloss.NewStyle().Foreground(lipgloss.Color("245"))
	s.Events = lipgloss.NewStyle().Foreground(lipgloss.Color("241"))
	return s
}

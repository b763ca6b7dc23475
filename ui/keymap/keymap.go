// Package keymap holds every key binding of the TUI in one place.
package keymap

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the TUI's key bindings. Pages pick the bindings they take; the
// help bar shows those.
type KeyMap struct {
	// Contacts screen.
	Up, Down   key.Binding
	Select     key.Binding // toggle a contact for a group call
	AudioCall  key.Binding // call the contact (or the selected ones)
	VideoCall  key.Binding
	Filter     key.Binding
	Dial       key.Binding // dial a userID by name
	GroupCall  key.Binding // call an IM group
	ClearMarks key.Binding

	// Incoming invitation.
	Accept, Reject key.Binding

	// Ringing and in a call.
	Hangup     key.Binding
	Mute       key.Binding
	Camera     key.Binding
	SwitchType key.Binding // switch audio <-> video
	Renderer   key.Binding // cycle the video renderer
	Quality    key.Binding // cycle the video quality (setVideoQuality)
	Devices    key.Binding // open the device picker
	UseDevice  key.Binding // in the picker: switch to the device under the cursor
	CloseList  key.Binding // in the picker: close it

	// Prompts.
	Confirm, Cancel, ToggleType key.Binding

	Help key.Binding
	Quit key.Binding
}

// Default returns the default bindings.
func Default() *KeyMap {
	return &KeyMap{
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Select:     key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "select")),
		AudioCall:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "audio call")),
		VideoCall:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "video call")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Dial:       key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "dial")),
		GroupCall:  key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "call group")),
		ClearMarks: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "clear selection")),

		Accept: key.NewBinding(key.WithKeys("a", "y"), key.WithHelp("a", "accept")),
		Reject: key.NewBinding(key.WithKeys("r", "n"), key.WithHelp("r", "reject")),

		Hangup:     key.NewBinding(key.WithKeys("h", "esc"), key.WithHelp("h", "hang up")),
		Mute:       key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "mute")),
		Camera:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "camera")),
		SwitchType: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "audio/video")),
		Renderer:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "renderer")),
		Quality:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "video quality")),
		Devices:    key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "devices")),
		UseDevice:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "use device")),
		CloseList:  key.NewBinding(key.WithKeys("esc", "i"), key.WithHelp("esc", "close")),

		Confirm:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "call")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		ToggleType: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "audio/video")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// Page is a help.KeyMap made of a short list and full groups.
type Page struct {
	Short []key.Binding
	Full  [][]key.Binding
}

// ShortHelp implements help.KeyMap.
func (p Page) ShortHelp() []key.Binding { return p.Short }

// FullHelp implements help.KeyMap.
func (p Page) FullHelp() [][]key.Binding { return p.Full }

// Contacts returns the help of the contacts screen.
func (k *KeyMap) Contacts() Page {
	return Page{
		Short: []key.Binding{k.AudioCall, k.VideoCall, k.Select, k.Filter, k.Dial, k.Help, k.Quit},
		Full: [][]key.Binding{
			{k.Up, k.Down, k.Select, k.ClearMarks, k.Filter},
			{k.AudioCall, k.VideoCall, k.Dial, k.GroupCall},
			{k.Devices, k.Renderer, k.Quality, k.Help, k.Quit},
		},
	}
}

// Incoming returns the help of the incoming-invitation prompt.
func (k *KeyMap) Incoming() Page {
	return Page{
		Short: []key.Binding{k.Accept, k.Reject, k.Help, k.Quit},
		Full:  [][]key.Binding{{k.Accept, k.Reject}, {k.Help, k.Quit}},
	}
}

// Ringing returns the help of an outgoing call still ringing.
func (k *KeyMap) Ringing() Page {
	return Page{
		Short: []key.Binding{k.Hangup, k.Mute, k.Help, k.Quit},
		Full:  [][]key.Binding{{k.Hangup, k.Mute, k.Camera}, {k.Devices, k.Renderer, k.Help, k.Quit}},
	}
}

// InCall returns the help of the call screen.
func (k *KeyMap) InCall() Page {
	return Page{
		Short: []key.Binding{k.Hangup, k.Mute, k.Camera, k.SwitchType, k.Devices, k.Renderer, k.Help},
		Full:  [][]key.Binding{{k.Hangup, k.Mute, k.Camera}, {k.SwitchType, k.Devices, k.Renderer, k.Quality}, {k.Help, k.Quit}},
	}
}

// Prompt returns the help of a text or choice prompt.
func (k *KeyMap) Prompt() Page {
	return Page{
		Short: []key.Binding{k.Confirm, k.ToggleType, k.Cancel},
		Full:  [][]key.Binding{{k.Confirm, k.ToggleType, k.Cancel}},
	}
}

// DevicePicker returns the help of the device picker.
func (k *KeyMap) DevicePicker() Page {
	return Page{
		Short: []key.Binding{k.Up, k.Down, k.UseDevice, k.CloseList},
		Full:  [][]key.Binding{{k.Up, k.Down}, {k.UseDevice, k.CloseList}},
	}
}

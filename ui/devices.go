package ui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/ui/keymap"
)

// DeviceEngine is the part of the engine the device picker uses
// (*callcore.Engine implements it). An engine without it has no picker.
type DeviceEngine interface {
	GetDevices() (callcore.DeviceLists, error)
	CurrentDevice(kind callcore.DeviceKind) string
	SwitchDevice(kind callcore.DeviceKind, id string) error
}

// Messages of the device Cmds.
type (
	// devicesMsg carries the listings and the devices in use; open: show
	// the picker with them.
	devicesMsg struct {
		lists callcore.DeviceLists
		cur   map[callcore.DeviceKind]string
		open  bool
	}
	deviceSwitchedMsg struct {
		kind callcore.DeviceKind
		id   string
	}
)

// pickRow is one device of the picker.
type pickRow struct {
	kind callcore.DeviceKind
	info callcore.DeviceInfo
}

// devicePicker lists the cameras, microphones and speakers over the
// screen shown; enter switches to the one under the cursor.
type devicePicker struct {
	c      *common
	open   bool
	rows   []pickRow
	cursor int
}

func (p *devicePicker) engine() (DeviceEngine, bool) {
	d, ok := p.c.eng.(DeviceEngine)
	return d, ok
}

// fetch lists the devices (the sound system may take a few ms: in a Cmd).
func (p *devicePicker) fetch(open bool) tea.Cmd {
	d, ok := p.engine()
	if !ok {
		return nil
	}
	return p.c.engineCmd("devices", func(context.Context) (tea.Msg, error) {
		l, err := d.GetDevices()
		if err != nil && !open {
			return nil, nil // a refresh of the call screen's line: nothing to show
		}
		if err != nil {
			return nil, err
		}
		cur := map[callcore.DeviceKind]string{}
		for _, k := range callcore.DeviceKinds() {
			cur[k] = d.CurrentDevice(k)
		}
		return devicesMsg{lists: l, cur: cur, open: open}, nil
	})
}

// toggle opens the picker (or says why there is none).
func (p *devicePicker) toggle() tea.Cmd {
	if p.open {
		p.open = false
		return nil
	}
	if _, ok := p.engine(); !ok {
		p.c.notice = "No devices to pick: this client has no media"
		return nil
	}
	return p.fetch(true)
}

// set takes a listing.
func (p *devicePicker) set(msg devicesMsg) {
	p.c.devices = msg.cur
	if !msg.open && !p.open {
		return
	}
	p.open = true
	p.rows = p.rows[:0]
	for _, k := range callcore.DeviceKinds() {
		for _, i := range msg.lists.Of(k) {
			p.rows = append(p.rows, pickRow{kind: k, info: i})
		}
	}
	p.cursor = min(p.cursor, max(len(p.rows)-1, 0))
}

// onKey takes the keys while the picker is open.
func (p *devicePicker) onKey(msg tea.KeyMsg) tea.Cmd {
	k := p.c.keys
	switch {
	case key.Matches(msg, k.CloseList):
		p.open = false
	case key.Matches(msg, k.Up):
		p.cursor = max(p.cursor-1, 0)
	case key.Matches(msg, k.Down):
		p.cursor = min(p.cursor+1, max(len(p.rows)-1, 0))
	case key.Matches(msg, k.UseDevice):
		if p.cursor >= len(p.rows) {
			return nil
		}
		r := p.rows[p.cursor]
		d, ok := p.engine()
		if !ok {
			return nil
		}
		p.open = false
		p.c.notice = fmt.Sprintf("Switching %s to %s…", r.kind, r.info.ID)
		return p.c.engineCmd("switch "+string(r.kind), func(context.Context) (tea.Msg, error) {
			return deviceSwitchedMsg{kind: r.kind, id: r.info.ID}, d.SwitchDevice(r.kind, r.info.ID)
		})
	}
	return nil
}

// switched confirms a switch and refreshes what the call screen shows.
func (p *devicePicker) switched(msg deviceSwitchedMsg) tea.Cmd {
	p.c.notice = fmt.Sprintf("%s: %s", kindTitle(msg.kind), msg.id)
	if p.c.devices == nil {
		p.c.devices = map[callcore.DeviceKind]string{}
	}
	p.c.devices[msg.kind] = msg.id
	return nil
}

// View draws the picker in height lines.
func (p *devicePicker) View(height int) []string {
	st := p.c.st
	lines := []string{st.PromptHead.Render("Devices") + st.Status.Render("  ● in use · enter switches · esc closes")}
	var last callcore.DeviceKind
	for i, r := range p.rows {
		if r.kind != last {
			lines = append(lines, kindTitle(r.kind)+"s")
			last = r.kind
		}
		cursor, mark := "  ", " "
		if i == p.cursor {
			cursor = "> "
		}
		if p.c.devices[r.kind] == r.info.ID {
			mark = "●"
		}
		label := r.info.Label
		if r.info.Default {
			label += " (default)"
		}
		line := fit(fmt.Sprintf("  %s%s %s  %s", cursor, mark, r.info.ID, label), max(p.c.width, 10))
		if i == p.cursor {
			line = st.Title.Render(line)
		}
		lines = append(lines, line)
	}
	return padLines(lines, height)
}

// Keys is the help while the picker is open.
func (p *devicePicker) Keys() keymap.Page { return p.c.keys.DevicePicker() }

func kindTitle(k callcore.DeviceKind) string {
	s := string(k)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// devicesLine is the call screen's line of the devices in use, and the
// warning of a microphone that gives only silence.
func (c *common) devicesLines() []string {
	var out []string
	if len(c.devices) > 0 {
		var parts []string
		for _, k := range []callcore.DeviceKind{callcore.DeviceMicrophone, callcore.DeviceSpeaker, callcore.DeviceCamera} {
			if id := c.devices[k]; id != "" {
				name := map[callcore.DeviceKind]string{callcore.DeviceMicrophone: "mic", callcore.DeviceSpeaker: "speaker", callcore.DeviceCamera: "camera"}[k]
				parts = append(parts, name+" "+id)
			}
		}
		out = append(out, c.st.Status.Render(fit("  devices: "+strings.Join(parts, " · "), max(c.width, 10))))
	}
	if c.micSilent && !c.micMuted {
		out = append(out, c.st.Error.Render("  mic silent — muted in the OS?"))
	}
	return out
}

// Update implements screen: the picker takes keys only.
func (p *devicePicker) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok {
		return p.onKey(k)
	}
	return nil
}

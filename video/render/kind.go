package render

import (
	"fmt"
	"strings"
)

// Kind selects a renderer.
type Kind int

// Renderer kinds.
const (
	KindHalfBlock Kind = iota // ▀ in 24-bit colour (default)
	Kind256                   // ▀ in the xterm 256-colour palette
	KindASCII                 // luminance ramp, no colour
	KindSixel                 // DEC sixel graphics
)

// String implements fmt.Stringer; the names are what ParseKind accepts.
func (k Kind) String() string {
	switch k {
	case KindHalfBlock:
		return "truecolor"
	case Kind256:
		return "256"
	case KindASCII:
		return "ascii"
	case KindSixel:
		return "sixel"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind parses a renderer name: truecolor (or halfblock, 24bit), 256,
// ascii, sixel.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "truecolor", "truecolour", "halfblock", "24bit":
		return KindHalfBlock, nil
	case "256", "256color":
		return Kind256, nil
	case "ascii", "mono":
		return KindASCII, nil
	case "sixel":
		return KindSixel, nil
	}
	return 0, fmt.Errorf("%w: %q (want truecolor, 256, ascii or sixel)", ErrUnknownKind, s)
}

// Detect picks a cell renderer from the environment: truecolour when
// COLORTERM is truecolor/24bit, 256 colours when TERM contains 256color,
// else ASCII (also for NO_COLOR and TERM=dumb). Sixel needs a DA1 query
// (see ParseDA1), which Detect cannot do.
func Detect(getenv func(string) string) Kind {
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return KindASCII
	}
	switch strings.ToLower(getenv("COLORTERM")) {
	case "truecolor", "24bit":
		return KindHalfBlock
	}
	if strings.Contains(getenv("TERM"), "256color") {
		return Kind256
	}
	return KindASCII
}

// ParseDA1 reports whether a Primary Device Attributes reply
// (ESC [ ? Ps ; ... c) lists attribute 4, sixel graphics. Bytes before
// the reply (e.g. other terminal input) are skipped.
func ParseDA1(resp string) bool {
	i := strings.LastIndex(resp, "\x1b[?")
	if i < 0 {
		return false
	}
	body := resp[i+3:]
	end := strings.IndexByte(body, 'c')
	if end < 0 {
		return false
	}
	for _, p := range strings.Split(body[:end], ";") {
		if p == "4" {
			return true
		}
	}
	return false
}

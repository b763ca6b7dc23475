package ui

import (
	"bytes"
	"os"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/termcall/termcall/video/render"
)

// da1Timeout bounds the wait for the terminal's answer: terminals answer
// in a few ms; one that does not answer at all must not delay the start.
const da1Timeout = 300 * time.Millisecond

// querySixel asks the terminal on tty for its primary device attributes
// (DA1, ESC [ c) and reports whether the answer lists sixel graphics
// (attribute 4). It reads the answer before Bubble Tea owns the terminal,
// so the reply never reaches the key handler. Not a terminal: false.
func querySixel(tty *os.File) bool {
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return false
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return false
	}
	defer term.Restore(fd, old) //nolint:errcheck // best effort: the TUI sets its own mode next
	if _, err := tty.WriteString("\x1b[c"); err != nil {
		return false
	}
	var resp []byte
	deadline := time.Now().Add(da1Timeout)
	buf := make([]byte, 128)
	for len(resp) < 1024 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err != nil || n == 0 {
			break
		}
		k, err := unix.Read(fd, buf)
		if err != nil || k <= 0 {
			break
		}
		resp = append(resp, buf[:k]...)
		// The answer is ESC [ ? Ps ; ... c
		if i := bytes.LastIndex(resp, []byte("\x1b[?")); i >= 0 && bytes.IndexByte(resp[i:], 'c') > 0 {
			break
		}
	}
	return render.ParseDA1(string(resp))
}

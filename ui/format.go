package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/termcall/termcall/callcore"
)

// How the TUI words things, shared by its screens.

// displayName shows a user with their nickname: "Bobby (bob)", or "bob".
func displayName(id, nick string) string {
	if nick == "" || nick == id {
		return id
	}
	return nick + " (" + id + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinUsers(users []string) string {
	switch len(users) {
	case 0:
		return "nobody"
	case 1, 2, 3:
		return strings.Join(users, ", ")
	default:
		return fmt.Sprintf("%s and %d more", strings.Join(users[:2], ", "), len(users)-2)
	}
}

// endReason says why a call ended, from CALL_END.
func endReason(d callcore.CallEnd, self string) string {
	by := d.UserID
	if by == self {
		by = "you"
	}
	dur := ""
	if d.CallEnd > 0 {
		dur = " after " + formatDuration(d.CallEnd)
	}
	switch d.Reason {
	case callcore.ReasonHangup:
		return fmt.Sprintf("Call ended: hung up by %s%s", by, dur)
	case callcore.ReasonRejected:
		return "Call ended: rejected"
	case callcore.ReasonBusy:
		return "Call ended: line busy"
	case callcore.ReasonNoAnswer:
		return "Call ended: no answer"
	case callcore.ReasonCancelled:
		return "Call ended: cancelled"
	case callcore.ReasonLogout, callcore.ReasonDisconnected, callcore.ReasonKicked:
		return fmt.Sprintf("Call ended: %s %s%s", by, reasonWord(d.Reason), dur)
	case "":
		return "Call ended" + dur
	}
	return fmt.Sprintf("Call ended: %s%s", d.Reason, dur)
}

func reasonWord(r callcore.EndReason) string {
	switch r {
	case callcore.ReasonLogout:
		return "logged out"
	case callcore.ReasonKicked:
		return "was signed out"
	case callcore.ReasonDisconnected:
		return "lost the connection"
	case callcore.ReasonMediaLost:
		return "media lost"
	}
	return strings.ReplaceAll(string(r), "_", " ")
}

func reasonSuffix(r callcore.EndReason) string {
	if r == "" {
		return ""
	}
	return " (" + reasonWord(r) + ")"
}

func callTypeName(t callcore.CallType) string {
	if t == callcore.CallTypeVideo {
		return "video"
	}
	return "audio"
}

func formatDuration(s int) string {
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

func countLines(ls []string) int {
	n := 0
	for _, l := range ls {
		n += strings.Count(l, "\n") + 1
	}
	return n
}

func clock(d time.Duration) string { return formatDuration(int(max(d, 0) / time.Second)) }

// fit pads or cuts s to exactly w cells (captions are plain text).
func fit(s string, w int) string {
	r := []rune(s)
	if len(r) > w {
		return string(r[:w])
	}
	return s + strings.Repeat(" ", w-len(r))
}

// sortedKeys gives a map's keys in a stable order for rendering.
func sortedKeys[V any](mp map[string]V) []string {
	ks := make([]string, 0, len(mp))
	for k := range mp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// padLines adds blank lines to lines until they fill height.
func padLines(lines []string, height int) []string {
	if pad := height - countLines(lines); pad > 0 {
		lines = append(lines, make([]string, pad)...)
	}
	return lines
}

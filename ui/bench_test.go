package ui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/video"
)

// BenchmarkKeyWhileVideo measures what stands between a key press and the
// screen during a video call: a new frame in each of two panes (remote and
// local, 320x240 into a 120x40 screen, truecolour half-blocks), the redraw
// it causes, then the key's Update and the View Bubble Tea paints. The
// issue's target is a key on screen within 50 ms while video plays; ms/op
// is that path's CPU cost.
func BenchmarkKeyWhileVideo(b *testing.B) {
	h := newHarness(b, Options{Renderer: "truecolor"})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeVideo))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	pat, err := video.NewPattern(320, 240)
	if err != nil {
		b.Fatal(err)
	}
	remote, local := h.m.ViewSink(RemoteViewID("bob")), h.m.ViewSink(LocalViewID)
	var bytes int
	b.ResetTimer()
	for i := range b.N {
		f := pat.Frame(i)
		_ = remote.WriteFrame(f)
		_ = local.WriteFrame(f)
		h.send(videoFrameMsg{})
		bytes += len(h.m.View())
		start := time.Now()
		h.key("m") // mute toggles: the key's own work
		bytes += len(h.m.View())
		if i == 0 && time.Since(start) > time.Second {
			b.Fatal("a key took over a second")
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N)/2, "bytes/view")
}

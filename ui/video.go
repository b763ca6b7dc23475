package ui

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/render"
)

// View names the TUI gives the engine (StartRemoteView / StartLocalView).
const (
	LocalViewID      = "local"
	remoteViewPrefix = "remote:"
)

// RemoteViewID returns the view name showing userID's video.
func RemoteViewID(userID string) string { return remoteViewPrefix + userID }

// redrawInterval caps video redraws at ~15 per second: enough for call
// video, and it leaves the event loop free for keys.
const redrawInterval = time.Second / 15

// videoFrameMsg asks for a redraw because a view got a new frame.
type videoFrameMsg struct{}

// videoView is one named view: a video.Sink the media layer writes decoded
// frames into. It keeps only the latest frame.
type videoView struct {
	id  string
	hub *videoHub

	mu    sync.Mutex
	frame *video.Frame // owned copy of the latest frame, nil before the first
	seq   uint64       // bumped on every frame and on Close
}

// WriteFrame implements video.Sink: it copies f (the caller keeps it) and
// wakes the UI.
func (v *videoView) WriteFrame(f *video.Frame) error {
	if f == nil || f.Width <= 0 || f.Height <= 0 {
		return video.ErrBadSize
	}
	v.mu.Lock()
	if v.frame == nil || v.frame.Width != f.Width || v.frame.Height != f.Height {
		v.frame = video.NewFrame(f.Width, f.Height)
	}
	cw, ch := f.ChromaSize()
	copyPlane(v.frame.Y, v.frame.YStride, f.Y, f.YStride, f.Width, f.Height)
	copyPlane(v.frame.U, v.frame.UStride, f.U, f.UStride, cw, ch)
	copyPlane(v.frame.V, v.frame.VStride, f.V, f.VStride, cw, ch)
	v.seq++
	v.mu.Unlock()
	v.hub.wake()
	return nil
}

// Close implements video.Sink: the media layer closes a sink when a call
// ends; the view stays (the UI owns it) but shows no picture.
func (v *videoView) Close() error {
	v.mu.Lock()
	v.frame = nil
	v.seq++
	v.mu.Unlock()
	v.hub.wake()
	return nil
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := 0; y < h; y++ {
		if y*srcStride+w > len(src) {
			return // a short plane: keep what fits rather than panic
		}
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}

// videoHub owns the views and wakes the program when frames arrive. Media
// goroutines call ViewSink and WriteFrame; everything else runs on the
// Bubble Tea goroutine.
type videoHub struct {
	mu    sync.Mutex
	views map[string]*videoView

	notify chan struct{} // capacity 1: "some view has a new frame"
	done   chan struct{}
	last   atomic.Int64 // unix nanos of the last redraw message
	sync   bool         // tests: no background waits

	// Bubble Tea goroutine only.
	cache map[string]paneCache
}

type paneCache struct {
	seq        uint64
	cols, rows int
	kind       render.Kind
	lines      []string
}

func newVideoHub(done chan struct{}) *videoHub {
	return &videoHub{
		views:  make(map[string]*videoView),
		notify: make(chan struct{}, 1),
		done:   done,
		cache:  make(map[string]paneCache),
	}
}

func (h *videoHub) view(id string) *videoView {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.views[id]
	if v == nil {
		v = &videoView{id: id, hub: h}
		h.views[id] = v
	}
	return v
}

func (h *videoHub) wake() {
	select {
	case h.notify <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// wait returns a Cmd that delivers videoFrameMsg after the next frame, no
// sooner than redrawInterval after the previous one. Only one is ever
// outstanding, which is what bounds the redraw rate.
func (h *videoHub) wait() tea.Cmd {
	return func() tea.Msg {
		select {
		case <-h.notify:
		case <-h.done:
			return nil
		}
		if d := time.Until(time.Unix(0, h.last.Load()).Add(redrawInterval)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-h.done:
				t.Stop()
				return nil
			}
		}
		h.last.Store(time.Now().UnixNano())
		return videoFrameMsg{}
	}
}

// renderers draws panes with the selected video/render renderer.
type renderers struct {
	kinds []render.Kind
	cur   int
	cells map[render.Kind]render.Renderer
	sixel *render.Sixel
}

// newRenderers cycles through the cell renderers, and sixel when the
// terminal has it.
func newRenderers(initial render.Kind, sixel bool) *renderers {
	r := &renderers{
		kinds: []render.Kind{render.KindHalfBlock, render.Kind256, render.KindASCII},
		cells: make(map[render.Kind]render.Renderer),
	}
	if sixel {
		r.kinds = append(r.kinds, render.KindSixel)
	}
	for i, k := range r.kinds {
		if k == initial {
			r.cur = i
		}
	}
	return r
}

func (r *renderers) kind() render.Kind { return r.kinds[r.cur] }

func (r *renderers) next() { r.cur = (r.cur + 1) % len(r.kinds) }

// draw renders f into exactly rows lines of cols cells.
func (r *renderers) draw(f *video.Frame, cols, rows int) []string {
	k := r.kind()
	if k == render.KindSixel {
		if r.sixel == nil {
			r.sixel = render.NewSixel(render.SixelOptions{})
		}
		img := r.sixel.Render(f, cols, rows)
		lines := blankLines(cols, rows)
		if img.Seq != "" && img.Row < rows {
			// The picture is drawn from the cursor down; the rows below
			// stay blank text so Bubble Tea's layout keeps its size.
			lines[img.Row] = strings.Repeat(" ", img.Col) + img.Seq + strings.Repeat(" ", max(0, cols-img.Col))
		}
		return lines
	}
	c := r.cells[k]
	if c == nil {
		c = render.New(k)
		r.cells[k] = c
	}
	return c.Render(f, cols, rows)
}

func blankLines(cols, rows int) []string {
	blank := strings.Repeat(" ", max(cols, 0))
	lines := make([]string, max(rows, 0))
	for i := range lines {
		lines[i] = blank
	}
	return lines
}

// pane renders one view into cols x rows cells, reusing the last result
// while neither the frame, the size nor the renderer changed.
func (h *videoHub) pane(r *renderers, id string, cols, rows int) []string {
	if cols <= 0 || rows <= 0 {
		return nil
	}
	v := h.view(id)
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := h.cache[id]
	if ok && c.seq == v.seq && c.cols == cols && c.rows == rows && c.kind == r.kind() {
		return c.lines
	}
	var lines []string
	if v.frame == nil {
		lines = placeholder(cols, rows, "no video")
	} else {
		lines = r.draw(v.frame, cols, rows)
	}
	h.cache[id] = paneCache{seq: v.seq, cols: cols, rows: rows, kind: r.kind(), lines: lines}
	return lines
}

// placeholder is a blank pane with a centred note.
func placeholder(cols, rows int, note string) []string {
	lines := blankLines(cols, rows)
	if rows == 0 || len(note) > cols {
		return lines
	}
	pad := (cols - len(note)) / 2
	lines[rows/2] = strings.Repeat(" ", pad) + note + strings.Repeat(" ", cols-pad-len(note))
	return lines
}

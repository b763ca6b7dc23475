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
//
// A decoder must never wait for a redraw, so frames change hands instead of
// being shared: a write fills a buffer no one else holds and swaps it in as
// latest; the UI takes latest when it draws, and gives back the frame it
// drew before as the writers' spare. mu guards only those swaps: it is never
// held while a frame is copied or drawn.
type videoView struct {
	id  string
	hub *videoHub

	// shows is the pane's size in picture pixels (width<<32 | height),
	// set when it is drawn; 0 until then ("any size").
	shows atomic.Uint64

	mu     sync.Mutex
	latest *video.Frame // newest frame the UI has not taken; nil after Close
	spare  *video.Frame // a buffer for the next write (nil: allocate one)
	seq    uint64       // bumped on every frame and on Close
}

// WriteFrame implements video.Sink: it copies f (the caller keeps it) and
// wakes the UI.
func (v *videoView) WriteFrame(f *video.Frame) error {
	if f == nil || f.Width <= 0 || f.Height <= 0 {
		return video.ErrBadSize
	}
	v.mu.Lock()
	buf := v.spare
	v.spare = nil
	v.mu.Unlock()
	if buf == nil || buf.Width != f.Width || buf.Height != f.Height {
		buf = video.NewFrame(f.Width, f.Height)
	}
	cw, ch := f.ChromaSize()
	copyPlane(buf.Y, buf.YStride, f.Y, f.YStride, f.Width, f.Height)
	copyPlane(buf.U, buf.UStride, f.U, f.UStride, cw, ch)
	copyPlane(buf.V, buf.VStride, f.V, f.VStride, cw, ch)
	v.mu.Lock()
	v.recycleLocked(v.latest) // never drawn: nobody holds it
	v.latest = buf
	v.seq++
	v.mu.Unlock()
	v.hub.wake()
	return nil
}

// ViewSize is the largest picture the pane shows, in pixels (0x0 before
// it is first drawn): the media layer asks the sender for no more, so a
// 40x12 pane does not cost a 640x480 stream.
func (v *videoView) ViewSize() (w, h int) {
	s := v.shows.Load()
	return int(s >> 32), int(s & 0xffffffff)
}

// panePixels is how many picture pixels cols x rows cells show: the cell
// renderers draw two pixel rows per cell (▀, and the ASCII ramp keeps
// that aspect), sixel real pixels at the renderer's assumed cell size.
func panePixels(k render.Kind, cols, rows int) (w, h int) {
	if k == render.KindSixel {
		return cols * render.DefaultCellWidth, rows * render.DefaultCellHeight
	}
	return cols, 2 * rows
}

// Close implements video.Sink: the media layer closes a sink when a call
// ends; the view stays (the UI owns it) but shows no picture.
func (v *videoView) Close() error {
	v.mu.Lock()
	v.recycleLocked(v.latest)
	v.latest = nil
	v.seq++
	v.mu.Unlock()
	v.hub.wake()
	return nil
}

// take hands the UI what changed since seen: the newest frame (nil: the
// view was closed) and its seq; changed is false when nothing did. drawn is
// the frame the UI drew until now, which it no longer needs once there is
// something newer.
func (v *videoView) take(seen uint64, drawn *video.Frame) (f *video.Frame, seq uint64, changed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seq == seen {
		return nil, seen, false
	}
	f = v.latest
	v.latest = nil
	v.recycleLocked(drawn)
	return f, v.seq, true
}

// recycleLocked keeps f, which nobody holds any more, as the next write's
// buffer: one spare is enough at steady state.
func (v *videoView) recycleLocked(f *video.Frame) {
	if f != nil && v.spare == nil {
		v.spare = f
	}
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

	// Bubble Tea goroutine only.
	panes map[string]*paneState
}

// paneState is the UI's side of a view: the frame it took and what it drew
// from it, reused while neither the frame, the size nor the renderer changed.
type paneState struct {
	frame      *video.Frame // nil: no picture
	seq        uint64       // the view's seq when frame was taken
	drawn      bool         // lines hold frame drawn at cols x rows by kind
	cols, rows int
	kind       render.Kind
	lines      []string
}

func newVideoHub(done chan struct{}) *videoHub {
	return &videoHub{
		views:  make(map[string]*videoView),
		notify: make(chan struct{}, 1),
		done:   done,
		panes:  make(map[string]*paneState),
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

// paneDrawer draws a frame into exactly rows lines of cols cells (the
// renderers; tests hold a draw mid-way with their own).
type paneDrawer interface {
	kind() render.Kind
	draw(f *video.Frame, cols, rows int) []string
}

// pane renders one view into cols x rows cells, reusing the last result
// while neither the frame, the size nor the renderer changed. The frame is
// the UI's own once taken, so it is drawn without any lock a writer needs.
func (h *videoHub) pane(d paneDrawer, id string, cols, rows int) []string {
	if cols <= 0 || rows <= 0 {
		return nil
	}
	p := h.panes[id]
	if p == nil {
		p = &paneState{}
		h.panes[id] = p
	}
	v := h.view(id)
	if f, seq, changed := v.take(p.seq, p.frame); changed {
		p.frame, p.seq, p.drawn = f, seq, false
	}
	if p.drawn && p.cols == cols && p.rows == rows && p.kind == d.kind() {
		return p.lines
	}
	if p.frame == nil {
		p.lines = placeholder(cols, rows, "no video")
	} else {
		p.lines = d.draw(p.frame, cols, rows)
	}
	p.drawn, p.cols, p.rows, p.kind = true, cols, rows, d.kind()
	w, ht := panePixels(p.kind, cols, rows)
	v.shows.Store(uint64(w)<<32 | uint64(ht))
	return p.lines
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

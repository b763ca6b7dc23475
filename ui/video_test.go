package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/render"
)

// knownFrame is a 64x32 picture: left half white, right half black.
func knownFrame() *video.Frame {
	f := video.NewFrame(64, 32)
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			f.Y[y*f.YStride+x] = 235
		}
	}
	return f
}

func videoCallWithBob(t *testing.T, renderer string) *harness {
	t.Helper()
	h := newHarness(t, Options{Renderer: renderer, Sixel: true})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeVideo))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	h.key("c") // camera off: only bob's pane
	h.requireCall("CloseCamera")
	return h
}

func TestRendererOutputInPane(t *testing.T) {
	h := videoCallWithBob(t, "ascii")
	sink := h.m.ViewSink(RemoteViewID("bob"))
	h.requireView("no video")
	f := knownFrame()
	if err := sink.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	// The sink copied the frame: changing ours must not change the pane.
	want := render.New(render.KindASCII).Render(knownFrame(), 40, 10)
	f.Y[0] = 16
	lines := h.m.call.videoView(40, 11)
	if len(lines) != 11 || !strings.HasPrefix(lines[0], "bob") {
		t.Fatalf("pane: %d lines, caption %q", len(lines), lines[0])
	}
	for i, w := range want {
		if lines[i+1] != w {
			t.Fatalf("row %d = %q, want %q", i, lines[i+1], w)
		}
	}
	// A 2:1 picture in a 40x10 pane: 40 cells x 20 pixel rows = 10 rows,
	// white on the left, black (blank) on the right.
	row := lines[5]
	if len(row) != 40 || strings.Trim(row[:20], "@") != "" || strings.TrimSpace(row[20:]) != "" {
		t.Fatalf("known frame row %q", row)
	}
	// The same rows are on screen.
	h.requireView(want[0])
	// The pane tells the media layer how large a picture it shows, so
	// that bob sends no more: 40 cells x 10 rows of two pixel rows.
	h.m.call.videoView(40, 11)
	if w, ht := h.m.ViewSink(RemoteViewID("bob")).(interface{ ViewSize() (int, int) }).ViewSize(); w != 40 || ht != 20 {
		t.Fatalf("pane asks for %dx%d, want 40x20", w, ht)
	}

	// A taller pane keeps the aspect ratio: blank rows above and below.
	tall := h.m.call.videoView(40, 21)[1:]
	if strings.TrimSpace(tall[0]) != "" || strings.TrimSpace(tall[19]) != "" || strings.TrimSpace(tall[10]) == "" {
		t.Fatalf("letterboxing wrong:\n%s", strings.Join(tall, "\n"))
	}

	// Cycling the renderer redraws the pane in colour.
	h.key("v") // ascii -> sixel
	h.key("v") // sixel -> truecolor
	h.requireView("video: truecolor")
	if v := h.view(); !strings.Contains(v, "\x1b[38;2;") || !strings.Contains(v, "▀") {
		t.Fatal("truecolor renderer not used after cycling")
	}
	// Resizing re-lays the panes.
	h.send(teaWindow(60, 30))
	if got := len(strings.Split(h.view(), "\n")); got != 30 {
		t.Fatalf("screen has %d lines after resize to 30", got)
	}
	// Closing the sink (call over) blanks the pane.
	_ = sink.Close()
	h.requireView("no video")
}

func TestFrameWakesProgram(t *testing.T) {
	eng := newRecEngine()
	m := New(eng, Options{Getenv: func(string) string { return "" }})
	defer m.Close()
	got := make(chan any, 1)
	go func() { got <- m.c.hub.wait()() }()
	if err := m.ViewSink(LocalViewID).WriteFrame(knownFrame()); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-got:
		if _, ok := msg.(videoFrameMsg); !ok {
			t.Fatalf("got %T", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no redraw after a frame")
	}
	if err := m.ViewSink(LocalViewID).WriteFrame(&video.Frame{}); err == nil {
		t.Fatal("empty frame accepted")
	}
}

func TestRendererChoiceFollowsTerminal(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	tests := []struct {
		name  string
		opts  Options
		want  string
		cycle int // renderers in the v cycle
	}{
		{"truecolor terminal with sixel keeps half-blocks", Options{Sixel: true, Getenv: env(map[string]string{"COLORTERM": "truecolor"})}, "truecolor", 4},
		{"sixel without truecolor picks sixel", Options{Sixel: true, Getenv: env(map[string]string{"TERM": "xterm-256color"})}, "sixel", 4},
		{"no sixel: not in the cycle", Options{Getenv: env(map[string]string{"TERM": "xterm-256color"})}, "256", 3},
		{"configured sixel", Options{Renderer: "sixel", Getenv: env(nil)}, "sixel", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(newRecEngine(), tt.opts)
			defer m.Close()
			if got := m.c.rend.kind().String(); got != tt.want {
				t.Errorf("renderer %q, want %q", got, tt.want)
			}
			if n := len(m.c.rend.kinds); n != tt.cycle {
				t.Errorf("%d renderers in the cycle, want %d", n, tt.cycle)
			}
		})
	}
}

// heldDrawer draws with the real renderers, but its first draw stops
// mid-way (after it has started reading the frame) until release closes.
type heldDrawer struct {
	*renderers
	started chan *video.Frame
	release chan struct{}
	once    bool
}

func (d *heldDrawer) draw(f *video.Frame, cols, rows int) []string {
	if !d.once {
		d.once = true
		_ = f.Y[0] // reading the frame, as a renderer does
		d.started <- f
		<-d.release
	}
	return d.renderers.draw(f, cols, rows)
}

// A decoder writing into a sink never waits for the UI: frames written
// while a pane is being drawn land at once, the frame being drawn is not
// touched by them, and the next draw shows the newest.
func TestWriteDoesNotWaitForDraw(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	hub := newVideoHub(done)
	sink := hub.view(LocalViewID)
	if err := sink.WriteFrame(knownFrame()); err != nil {
		t.Fatal(err)
	}
	d := &heldDrawer{renderers: newRenderers(render.KindASCII, false), started: make(chan *video.Frame), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(d.release)
		}
	}
	defer release()
	drawn := make(chan []string)
	go func() { drawn <- hub.pane(d, LocalViewID, 40, 10) }()
	held := <-d.started

	pat, err := video.NewPattern(64, 32)
	if err != nil {
		t.Fatal(err)
	}
	var last *video.Frame
	wrote := make(chan error, 1)
	go func() {
		// More writes than there are buffers, so that spares are reused.
		for i := range 5 {
			last = pat.Frame(i + 1)
			if err := sink.WriteFrame(last); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WriteFrame blocked while a pane was being drawn")
	}
	if want := knownFrame(); string(held.Y) != string(want.Y) || string(held.U) != string(want.U) {
		t.Fatal("a write changed the frame being drawn")
	}
	release()
	want := render.New(render.KindASCII).Render(knownFrame(), 40, 10)
	if got := <-drawn; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("held draw:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	want = render.New(render.KindASCII).Render(last, 40, 10)
	if got := hub.pane(d, LocalViewID, 40, 10); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("next draw is not the newest frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Writers and the UI at full speed on one view: with -race this checks
// that a frame is only ever touched by one side, including the recycled
// spares and Close.
func TestSinkWritersAndDrawsConcurrently(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	hub := newVideoHub(done)
	sink := hub.view(RemoteViewID("bob"))
	r := newRenderers(render.KindASCII, false)
	pat, err := video.NewPattern(64, 32)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	writers := make(chan struct{})
	for w := range 2 {
		go func() {
			defer func() { writers <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f := pat.Frame(i)
				if w == 1 && i%50 == 49 {
					_ = sink.Close()
					f = video.NewFrame(32+i%3, 16) // a size change now and then
				}
				if err := sink.WriteFrame(f); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 300 {
		if lines := hub.pane(r, RemoteViewID("bob"), 20, 6); len(lines) != 6 {
			t.Fatalf("%d lines", len(lines))
		}
	}
	close(stop)
	<-writers
	<-writers
}

// The quality key steps setVideoQuality through the profiles, for this
// call and the next, and the call line says what is sent at most.
func TestQualityKeyStepsVideoQuality(t *testing.T) {
	h := videoCallWithBob(t, "ascii")
	h.requireView("sending ≤ 240p")
	h.key("p")
	h.requireCall("SetVideoQuality 360p")
	h.requireView("Video quality: 360p", "sending ≤ 360p")
	h.key("p", "p", "p") // 480p, 720p, back to the smallest
	h.requireCall("SetVideoQuality 120p")
	h.requireView("sending ≤ 120p")
	h.key("?")
	h.requireView("video quality")
}

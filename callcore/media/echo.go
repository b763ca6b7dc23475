package media

import (
	"context"
	"sync"
	"time"

	"github.com/termcall/termcall/video"
)

// AudioEcho is a delay line: what is written as the call's audio output
// comes back as its audio input a fixed delay later. It is the echo
// contact's microphone and speaker.
type AudioEcho struct {
	mu    sync.Mutex
	ring  [][]int16
	head  int // next frame to read
	count int
}

// NewAudioEcho delays audio by delay, in frames of frameDur.
func NewAudioEcho(delay, frameDur time.Duration) *AudioEcho {
	n := max(int(delay/frameDur), 1)
	return &AudioEcho{ring: make([][]int16, n+1)}
}

// WriteFrame implements audio.Sink. When the line is full the oldest
// frame is dropped, so the delay never grows.
func (e *AudioEcho) WriteFrame(pcm []int16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.count == len(e.ring) {
		e.head = (e.head + 1) % len(e.ring)
		e.count--
	}
	i := (e.head + e.count) % len(e.ring)
	e.ring[i] = append(e.ring[i][:0], pcm...)
	e.count++
	return nil
}

// ReadFrame implements audio.Source: silence until the line has filled.
func (e *AudioEcho) ReadFrame(pcm []int16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.count < len(e.ring)-1 {
		clear(pcm)
		return nil
	}
	n := copy(pcm, e.ring[e.head])
	clear(pcm[n:])
	e.head = (e.head + 1) % len(e.ring)
	e.count--
	return nil
}

// VideoMirror shows the caller themselves: frames written to it (as a view
// sink) come back mirrored as its video source. Until a frame arrives it
// sends the test pattern.
type VideoMirror struct {
	fallback video.Source
	mu       sync.Mutex
	last     *video.Frame
}

// NewVideoMirror returns a mirror that sends fallback until it has a frame.
func NewVideoMirror(fallback video.Source) *VideoMirror {
	return &VideoMirror{fallback: fallback}
}

// WriteFrame implements video.Sink.
func (m *VideoMirror) WriteFrame(f *video.Frame) error {
	out := mirror(f)
	m.mu.Lock()
	m.last = out
	m.mu.Unlock()
	return nil
}

// ReadFrame implements video.Source.
func (m *VideoMirror) ReadFrame(ctx context.Context) (*video.Frame, error) {
	m.mu.Lock()
	f := m.last
	m.mu.Unlock()
	if f != nil {
		return f, nil
	}
	if m.fallback == nil {
		return video.NewFrame(320, 240), nil
	}
	return m.fallback.ReadFrame(ctx)
}

// Close implements video.Sink and video.Source.
func (m *VideoMirror) Close() error { return nil }

// mirror flips a frame left to right into a new frame.
func mirror(f *video.Frame) *video.Frame {
	out := video.NewFrame(f.Width, f.Height)
	flip := func(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
		for y := range h {
			s, d := src[y*srcStride:y*srcStride+w], dst[y*dstStride:y*dstStride+w]
			for x := range w {
				d[x] = s[w-1-x]
			}
		}
	}
	flip(out.Y, out.YStride, f.Y, f.YStride, f.Width, f.Height)
	cw, ch := f.ChromaSize()
	flip(out.U, out.UStride, f.U, f.UStride, cw, ch)
	flip(out.V, out.VStride, f.V, f.VStride, cw, ch)
	return out
}

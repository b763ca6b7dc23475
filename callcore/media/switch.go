package media

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/video"
)

// The switches below let a device be replaced while a call uses it
// (TRTCCalling's switchDevice): a session keeps reading and writing the
// switch, so the same encoder, packetizer and RTP track (the same SSRC,
// sequence numbers and timestamps) carry the new device's media, and the
// far end keeps decoding. A replaced device is closed once the session's
// loop is no longer inside a call to it.

// retiring holds what a switch must close: a device the loop may still be
// reading is closed by the loop when its call returns.
type retiring[T io.Closer] struct {
	mu      sync.Mutex
	cur     T
	busy    bool   // the loop is inside a call to cur
	retired []T    // replaced while busy
	gen     uint64 // counts swaps: tells a stale device from the current one
	closed  bool
}

// take marks the loop busy with the current device.
func (r *retiring[T]) take() (T, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if r.closed {
		return zero, 0, false
	}
	r.busy = true
	return r.cur, r.gen, true
}

// release ends the loop's call and closes what was replaced meanwhile.
func (r *retiring[T]) release() {
	r.mu.Lock()
	r.busy = false
	old := r.retired
	r.retired = nil
	r.mu.Unlock()
	for _, c := range old {
		_ = c.Close()
	}
}

// swap installs next; the device it replaces is closed now, or by the loop
// once its call returns. After close, next itself is closed.
func (r *retiring[T]) swap(next T) { r.swapIf(next, 0, false) }

// swapIf swaps only while the current device is still of generation gen
// (when onlyGen): a failed speaker's replacement must not undo a switch
// the user made meanwhile. It reports whether next was installed.
func (r *retiring[T]) swapIf(next T, gen uint64, onlyGen bool) bool {
	r.mu.Lock()
	if r.closed || (onlyGen && r.gen != gen) {
		r.mu.Unlock()
		_ = next.Close()
		return false
	}
	old := r.cur
	r.cur = next
	r.gen++
	if r.busy {
		r.retired = append(r.retired, old)
		r.mu.Unlock()
		return true
	}
	r.mu.Unlock()
	_ = old.Close()
	return true
}

// current is the device now in use (the zero T once closed).
func (r *retiring[T]) current() T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if r.closed {
		return zero
	}
	return r.cur
}

// latency is the current device's (audio.Latent), -1 when it does not
// report one: after a switch it is the new device's, so the echo
// canceller follows it.
func latency(dev any) time.Duration {
	if d, ok := audio.LatencyOf(dev); ok {
		return d
	}
	return -1
}

func (r *retiring[T]) close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	all := append(r.retired, r.cur)
	r.retired = nil
	r.mu.Unlock()
	var errs []error
	for _, c := range all {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// AudioInSwitch is a microphone (or stand-in) that Swap replaces. Whether
// it is clocked is fixed by the first device, because a session decides
// once how it paces its reads: a clocked switch paces an unclocked
// device (a tone) itself; an unclocked one is paced by the session, and a
// clocked device read at that pace simply blocks until its frame is due.
// The end of a file is silence, not io.EOF, so that a later Swap still
// reaches a session that would otherwise stop reading.
type AudioInSwitch struct {
	r       retiring[audio.Input]
	clocked bool
	frame   time.Duration
	paceMu  sync.Mutex
	next    time.Time // when the next self-paced frame is due
}

// NewAudioInSwitch starts with in; frame is the call's audio frame.
func NewAudioInSwitch(in audio.Input, frame time.Duration) *AudioInSwitch {
	s := &AudioInSwitch{clocked: audio.IsClocked(in), frame: frame}
	s.r.cur = in
	return s
}

// ReadFrame reads the current device.
func (s *AudioInSwitch) ReadFrame(pcm []int16) error {
	in, _, ok := s.r.take()
	if !ok {
		return io.ErrClosedPipe
	}
	defer s.r.release()
	if s.clocked && !audio.IsClocked(in) {
		s.pace()
	}
	err := in.ReadFrame(pcm)
	if errors.Is(err, io.EOF) {
		clear(pcm)
		return nil
	}
	return err //nolint:wrapcheck // the device's own error, as without a switch
}

// pace waits until the next frame is due, as a sound card would.
func (s *AudioInSwitch) pace() {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	now := time.Now()
	if s.next.Before(now.Add(-s.frame)) {
		s.next = now // first use, or the loop fell behind: no catching up
	}
	if d := s.next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	s.next = s.next.Add(s.frame)
}

// Clocked reports whether the first device was clocked (see the type).
func (s *AudioInSwitch) Clocked() bool { return s.clocked }

// Latency is the current microphone's latency, -1 if it reports none
// (see audio.Latent).
func (s *AudioInSwitch) Latency() time.Duration { return latency(s.r.current()) }

// Swap makes in the device read from the next frame on.
func (s *AudioInSwitch) Swap(in audio.Input) { s.r.swap(in) }

// Close closes the current device and any not yet closed.
func (s *AudioInSwitch) Close() error { return s.r.close() }

// AudioOutSwitch is a speaker (or stand-in) that Swap replaces. A device
// whose writes keep failing is handed to OnFail, whose replacement takes
// over: the call's playout never sees the failure.
type AudioOutSwitch struct {
	r       retiring[audio.Output]
	clocked bool
	onFail  func(err error) audio.Output
	fails   atomic.Int32 // consecutive failed writes
}

// FailedWrites is how many writes in a row must fail before a speaker
// counts as failed: one error may be a hiccup, three (60 ms) are not.
const FailedWrites = 3

// NewAudioOutSwitch starts with out. onFail (optional) is called, from
// the playout loop, with the error of a speaker that failed; it returns
// what plays instead (nil: keep trying the same one).
func NewAudioOutSwitch(out audio.Output, onFail func(err error) audio.Output) *AudioOutSwitch {
	s := &AudioOutSwitch{onFail: onFail, clocked: audio.IsClocked(out)}
	s.r.cur = out
	return s
}

// WriteFrame writes to the current device.
func (s *AudioOutSwitch) WriteFrame(pcm []int16) error {
	out, gen, ok := s.r.take()
	if !ok {
		return io.ErrClosedPipe
	}
	err := out.WriteFrame(pcm)
	s.r.release()
	if err == nil {
		s.fails.Store(0)
		return nil
	}
	if s.fails.Add(1) < FailedWrites || s.onFail == nil {
		return err //nolint:wrapcheck // the device's own error
	}
	s.fails.Store(0)
	if next := s.onFail(err); next != nil {
		s.r.swapIf(next, gen, true) // closes next if the user switched meanwhile
	}
	return nil
}

// Clocked reports whether the first device was clocked (a speaker): the
// playout keeps its own clock either way, but the audio processing is on
// by default only with a real speaker.
func (s *AudioOutSwitch) Clocked() bool { return s.clocked }

// Latency is the current speaker's latency, -1 if it reports none (see
// audio.Latent).
func (s *AudioOutSwitch) Latency() time.Duration { return latency(s.r.current()) }

// Swap makes out the device written to from the next frame on.
func (s *AudioOutSwitch) Swap(out audio.Output) { s.r.swap(out) }

// Close closes the current device and any not yet closed.
func (s *AudioOutSwitch) Close() error { return s.r.close() }

// VideoInSwitch is a camera (or stand-in) that Swap replaces. It passes
// the sender's size requests (SetSize) on to every device that takes
// them. After a Swap, Factory.ForceKeyframe makes the far end's decoder
// start cleanly on the new picture.
type VideoInSwitch struct {
	r    retiring[video.Source]
	mu   sync.Mutex
	w, h int // the last SetSize, for the next device
}

// NewVideoInSwitch starts with src.
func NewVideoInSwitch(src video.Source) *VideoInSwitch {
	s := &VideoInSwitch{}
	s.r.cur = src
	return s
}

// ReadFrame reads the current device.
func (s *VideoInSwitch) ReadFrame(ctx context.Context) (*video.Frame, error) {
	src, _, ok := s.r.take()
	if !ok {
		return nil, io.ErrClosedPipe
	}
	defer s.r.release()
	return src.ReadFrame(ctx) //nolint:wrapcheck // the device's own error
}

// SetSize asks the current device, and later ones, for frames of w x h.
func (s *VideoInSwitch) SetSize(w, h int) {
	s.mu.Lock()
	s.w, s.h = w, h
	s.mu.Unlock()
	if r, ok := s.r.current().(resizable); ok {
		r.SetSize(w, h)
	}
}

// Swap makes src the device read from the next frame on.
func (s *VideoInSwitch) Swap(src video.Source) {
	s.mu.Lock()
	w, h := s.w, s.h
	s.mu.Unlock()
	if r, ok := src.(resizable); ok && w > 0 {
		r.SetSize(w, h)
	}
	s.r.swap(src)
}

// Close closes the current device and any not yet closed.
func (s *VideoInSwitch) Close() error { return s.r.close() }

// ForceKeyframe makes every open call send a keyframe now: after a camera
// switch the far end's decoder must not predict from the old picture.
func (f *Factory) ForceKeyframe() {
	f.mu.Lock()
	sessions := make([]*Session, 0, len(f.sessions))
	for s := range f.sessions {
		sessions = append(sessions, s)
	}
	f.mu.Unlock()
	for _, s := range sessions {
		s.keyframe.Store(true)
		kick(s.kickVideo)
	}
}

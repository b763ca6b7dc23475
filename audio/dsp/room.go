package dsp

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/termcall/termcall/audio"
)

// RoomConfig describes a simulated echo path from a speaker to a
// microphone: the direct sound after Delay and a few reflections, the
// whole at LossDB below what was played.
type RoomConfig struct {
	SampleRate int           // Hz; 0 is 48000
	Delay      time.Duration // speaker to microphone, buffers included; 0 is 50 ms
	LossDB     float64       // echo energy below the far end, dB; 0 is 6
}

// reflection is one path of the room: offset after the direct sound, in
// seconds, and its amplitude relative to the direct sound.
type reflection struct {
	after float64
	gain  float64
}

// reflections of a small office: walls a metre or two away, the later
// ones weaker, some with the sign flipped (a hard surface).
var roomPaths = [...]reflection{
	{0, 1}, {0.0031, -0.5}, {0.0073, 0.36}, {0.013, -0.3}, {0.021, 0.24}, {0.034, 0.12},
}

// Room is a simulated echo path, a test aid: what its speaker side plays
// comes back, delayed and reflected, in what its microphone side captures,
// added to the microphone's own source. The delay counts in samples, so it
// holds however the writer and reader are scheduled, as long as the
// reader does not run dry (then the room waits for the speaker again).
type Room struct {
	rate  int
	delay int
	taps  []tap
	span  int // the longest tap offset

	mu     sync.Mutex
	air    []int16   // played, not yet heard; starts with delay zeros
	hist   []float64 // the direct sound's last span samples, a ring
	pos    int
	primed bool
	limit  int // air longer than this drops its oldest samples
}

type tap struct {
	off  int
	gain float64
}

// NewRoom returns a room for cfg.
func NewRoom(cfg RoomConfig) (*Room, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if cfg.Delay == 0 {
		cfg.Delay = 50 * time.Millisecond
	}
	if cfg.LossDB == 0 {
		cfg.LossDB = 6
	}
	if cfg.SampleRate < 8000 || cfg.Delay < 0 || cfg.Delay > time.Second || cfg.LossDB < 0 {
		return nil, fmt.Errorf("%w: room %+v", ErrConfig, cfg)
	}
	r := &Room{rate: cfg.SampleRate, delay: int(int64(cfg.SampleRate) * int64(cfg.Delay) / int64(time.Second))}
	var energy float64
	for _, p := range roomPaths {
		energy += p.gain * p.gain
	}
	// Scale the paths so that their energy sum is LossDB below 1.
	scale := dbToAmp(-cfg.LossDB) / math.Sqrt(energy)
	for _, p := range roomPaths {
		t := tap{off: int(p.after * float64(cfg.SampleRate)), gain: p.gain * scale}
		r.taps = append(r.taps, t)
		r.span = max(r.span, t.off)
	}
	r.hist = make([]float64, r.span+1)
	r.limit = r.delay + cfg.SampleRate/2
	return r, nil
}

// play queues what a speaker played.
func (r *Room) play(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.primed {
		r.air = append(r.air[:0], make([]int16, r.delay)...)
		r.primed = true
	}
	r.air = append(r.air, pcm...)
	if n := len(r.air) - r.limit; n > 0 { // nobody listens: do not grow
		r.air = append(r.air[:0], r.air[n:]...)
	}
}

// hear adds the echo of what was played to pcm.
func (r *Room) hear(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(pcm), len(r.air))
	if n < len(pcm) {
		r.primed = false // ran dry: restart the delay on the next play
	}
	for i := range pcm {
		var x float64
		if i < n {
			x = float64(r.air[i])
		}
		r.pos = (r.pos + 1) % len(r.hist)
		r.hist[r.pos] = x
		var y float64
		for _, t := range r.taps {
			y += t.gain * r.hist[(r.pos-t.off+len(r.hist))%len(r.hist)]
		}
		pcm[i] = clamp16(float64(pcm[i]) + y)
	}
	r.air = append(r.air[:0], r.air[n:]...)
}

// Speaker returns a sink that plays into the room and into out (nil: only
// the room). It reports the room's delay as its latency.
func (r *Room) Speaker(out audio.Output) audio.Output { return &roomSpeaker{room: r, out: out} }

// Microphone returns a source that reads near (nil: silence) and adds the
// room's echo.
func (r *Room) Microphone(near audio.Input) audio.Input { return &roomMic{room: r, near: near} }

type roomSpeaker struct {
	room *Room
	out  audio.Output
}

func (s *roomSpeaker) WriteFrame(pcm []int16) error {
	s.room.play(pcm)
	if s.out == nil {
		return nil
	}
	return s.out.WriteFrame(pcm)
}

// Latency is the time from a write to the microphone hearing it.
func (s *roomSpeaker) Latency() time.Duration {
	return time.Duration(s.room.delay) * time.Second / time.Duration(s.room.rate)
}

func (s *roomSpeaker) Clocked() bool { return audio.IsClocked(s.out) }

func (s *roomSpeaker) Close() error {
	if s.out == nil {
		return nil
	}
	return s.out.Close()
}

type roomMic struct {
	room *Room
	near audio.Input
}

func (m *roomMic) ReadFrame(pcm []int16) error {
	if m.near == nil {
		clear(pcm)
	} else if err := m.near.ReadFrame(pcm); err != nil {
		return err
	}
	m.room.hear(pcm)
	return nil
}

func (m *roomMic) Clocked() bool { return audio.IsClocked(m.near) }

func (m *roomMic) Close() error {
	if m.near == nil {
		return nil
	}
	return m.near.Close()
}

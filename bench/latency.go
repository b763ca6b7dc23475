package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/video"
)

// LatencyResult is the one-way audio latency through the pipeline: from a
// marked frame returned by the sender's audio source (it goes straight
// into the Opus encoder) to the receiver's playout handing the decoded
// frame that carries it to the audio sink (it has just left the jitter
// buffer). It is measured at frame granularity (20 ms playout ticks).
type LatencyResult struct {
	Marks    int  `json:"marks"`
	Detected int  `json:"detected"`
	OneWay   Dist `json:"oneWay"`
	// The receiver's jitter buffer while the marks were sent (medians of
	// its once-per-500 ms stats).
	BufferDelayMs  float64 `json:"bufferDelayMs"`
	BufferTargetMs float64 `json:"bufferTargetMs"`
	JitterMs       float64 `json:"jitterMs"`
}

const (
	markHz        = 1000
	markAmplitude = 0.9
	// markThreshold is the decoded peak that counts as the mark: far above
	// the silence around it, well below the burst's level.
	markThreshold = 32767 / 4
	// markSpacing lets each burst and its codec tail pass before the next.
	markSpacing = 400 * time.Millisecond
	markWait    = 3 * time.Second
	// marksPerCall: the marks are spread over several calls.
	marksPerCall = 5
)

// markSource is silence, except for one frame of a full-scale 1 kHz burst
// each time it is armed. It reports when it hands out the burst.
type markSource struct {
	mu      sync.Mutex
	pending bool
	sent    chan time.Time
}

func newMarkSource() *markSource { return &markSource{sent: make(chan time.Time, 1)} }

func (m *markSource) arm() {
	m.mu.Lock()
	m.pending = true
	m.mu.Unlock()
}

// ReadFrame implements audio.Source.
func (m *markSource) ReadFrame(pcm []int16) error {
	m.mu.Lock()
	fire := m.pending
	m.pending = false
	m.mu.Unlock()
	if !fire {
		clear(pcm)
		return nil
	}
	for i := range pcm {
		pcm[i] = int16(markAmplitude * 32767 * math.Sin(2*math.Pi*markHz*float64(i)/48000))
	}
	select {
	case m.sent <- time.Now():
	default:
	}
	return nil
}

// markSink reports each frame loud enough to carry the mark.
type markSink struct {
	heard chan time.Time
}

func newMarkSink() *markSink { return &markSink{heard: make(chan time.Time, 8)} }

// WriteFrame implements audio.Sink.
func (k *markSink) WriteFrame(pcm []int16) error {
	now := time.Now()
	var peak int
	for _, v := range pcm {
		peak = max(peak, abs(int(v)))
	}
	if peak >= markThreshold {
		select {
		case k.heard <- now:
		default: // the tail of the same burst; the benchmark drains these
		}
	}
	return nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// bufferStats collects the receiver's jitter buffer stats.
type bufferStats struct {
	mu                    sync.Mutex
	on                    bool
	delay, target, jitter []float64
}

func (b *bufferStats) add(s media.Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on {
		b.delay = append(b.delay, s.Audio.BufferDelayMs)
		b.target = append(b.target, s.Audio.BufferTargetMs)
		b.jitter = append(b.jitter, s.Audio.JitterMs)
	}
}

func (b *bufferStats) setOn(on bool) {
	b.mu.Lock()
	b.on = on
	b.mu.Unlock()
}

func (b *bufferStats) medians() (delay, target, jitter float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return median(b.delay), median(b.target), median(b.jitter)
}

func measureLatency(ctx context.Context, env benchEnv, marks int) (LatencyResult, error) {
	res := LatencyResult{Marks: marks}
	src, sink := newMarkSource(), newMarkSink()
	var bs bufferStats
	patA, err := video.NewPattern(320, 240)
	if err != nil {
		return res, err
	}
	patB, err := video.NewPattern(320, 240)
	if err != nil {
		return res, err
	}
	// An audio+video call, as in use: the video loads the same CPUs.
	talker, err := newParty(ctx, env, "bench-talker", media.Options{AudioIn: src, VideoIn: patA})
	if err != nil {
		return res, err
	}
	defer talker.close()
	listener, err := newParty(ctx, env, "bench-listener", media.Options{
		AudioOut: sink, VideoIn: patB, OnStats: bs.add, StatsEvery: 500 * time.Millisecond,
	})
	if err != nil {
		return res, err
	}
	defer listener.close()

	var lat []time.Duration
	for i := 0; i < marks; {
		// Each call starts the receiver's playout clock at a random phase
		// against the sender's audio clock: the wait for the next playout
		// tick is part of the latency, so it is sampled across calls.
		if _, err := call(ctx, talker, listener, rand.N(20*time.Millisecond)); err != nil {
			return res, err
		}
		for _, p := range []*party{talker, listener} {
			if _, err := p.next(ctx, callcore.EventUserEnter); err != nil {
				return res, err
			}
		}
		// Let ICE, DTLS, the first keyframe and the jitter buffer settle.
		if err := sleep(ctx, time.Second); err != nil {
			return res, err
		}
		bs.setOn(true)
		for n := 0; n < marksPerCall && i < marks; n, i = n+1, i+1 {
			drain(sink.heard)
			src.arm()
			sent, ok := recv(ctx, src.sent, markWait)
			if !ok {
				return res, fmt.Errorf("%w: mark %d not read by the encoder within %v", ErrTimeout, i+1, markWait)
			}
			if heard, ok := recv(ctx, sink.heard, markWait); ok {
				lat = append(lat, heard.Sub(sent))
				env.printf("mark %d/%d: %v", i+1, marks, ms(heard.Sub(sent)))
			} else {
				env.printf("mark %d/%d: not heard within %v", i+1, marks, markWait)
			}
			if err := sleep(ctx, markSpacing); err != nil {
				return res, err
			}
		}
		bs.setOn(false)
		if err := hangup(ctx, talker, listener); err != nil {
			return res, err
		}
	}
	res.Detected = len(lat)
	res.OneWay = newDist(lat)
	res.BufferDelayMs, res.BufferTargetMs, res.JitterMs = bs.medians()
	res.BufferDelayMs, res.BufferTargetMs, res.JitterMs = round2(res.BufferDelayMs), round2(res.BufferTargetMs), round2(res.JitterMs)
	if res.Detected*2 < marks {
		return res, fmt.Errorf("%w: only %d of %d marks heard", ErrNoMedia, res.Detected, marks)
	}
	return res, nil
}

func drain(ch <-chan time.Time) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func recv(ctx context.Context, ch <-chan time.Time, d time.Duration) (time.Time, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-t.C:
		return time.Time{}, false
	case <-ctx.Done():
		return time.Time{}, false
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

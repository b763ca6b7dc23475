package dsp

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/audio"
)

// DefaultDeviceDelay is the echo delay assumed when neither the speaker
// nor the microphone reports its latency (audio.Latent): the playout ring
// and the sound system's own buffers. The AEC's delay-agnostic estimator
// corrects it, as it corrects a reported one.
const DefaultDeviceDelay = 80 * time.Millisecond

// Wrap puts p between a call and its sound devices: every frame written
// to the returned output is handed to p.ProcessRender before out plays it,
// so the echo canceller's reference is exactly what is played (the far
// end after jitter buffer and mixing); every frame read from the returned
// input goes through p.ProcessCapture with the speaker-to-microphone
// delay: the speaker's latency plus the microphone's (audio.LatencyOf),
// asked afresh for every frame, since a speaker's queue grows and shrinks
// and a device switch changes both; only one of them when the other does
// not report (the simulated Room's speaker stands for the whole echo
// path); DefaultDeviceDelay when neither does. Processing errors are logged once and the audio passes through
// unprocessed. Closing the returned input or output closes in or out, not
// p.
func Wrap(p *Processor, in audio.Input, out audio.Output, log *slog.Logger) (audio.Input, audio.Output) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	delay := func() time.Duration {
		play, playOK := audio.LatencyOf(out)
		capt, captOK := audio.LatencyOf(in)
		if !playOK && !captOK {
			return DefaultDeviceDelay
		}
		return play + capt // an unknown one counts 0
	}
	return &captureInput{in: in, p: p, delay: delay, log: log}, &renderOutput{out: out, p: p, log: log}
}

type renderOutput struct {
	out    audio.Output
	p      *Processor
	log    *slog.Logger
	warned atomic.Bool
}

func (o *renderOutput) WriteFrame(pcm []int16) error {
	if err := o.p.ProcessRender(pcm); err != nil && !o.warned.Swap(true) {
		o.log.Warn("audio processing: far end not analysed", "err", err)
	}
	return o.out.WriteFrame(pcm)
}

// Clocked passes the speaker's pacing through.
func (o *renderOutput) Clocked() bool { return audio.IsClocked(o.out) }
func (o *renderOutput) Close() error  { return o.out.Close() }

type captureInput struct {
	in     audio.Input
	p      *Processor
	delay  func() time.Duration
	log    *slog.Logger
	warned atomic.Bool
}

func (c *captureInput) ReadFrame(pcm []int16) error {
	if err := c.in.ReadFrame(pcm); err != nil {
		return err
	}
	if err := c.p.ProcessCapture(pcm, c.delay()); err != nil && !c.warned.Swap(true) {
		c.log.Warn("audio processing: capture not processed", "err", err)
	}
	return nil
}

// Clocked passes the microphone's pacing through: the send loop paces
// unclocked sources itself.
func (c *captureInput) Clocked() bool { return audio.IsClocked(c.in) }
func (c *captureInput) Close() error  { return c.in.Close() }

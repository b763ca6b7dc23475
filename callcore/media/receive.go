package media

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/jitter"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/vp8"
)

// pliInterval bounds how often we ask a peer for a keyframe.
const pliInterval = 300 * time.Millisecond

// remote is what the session knows about one peer's incoming media.
//
// Its decoders (C memory: libopus, libvpx) have one owner each: the reader
// goroutine of the track they decode. A reader creates its decoder, and
// closes it when its track ends, which happens on RemovePeer and Close
// (both close the peer's connection) and when the peer goes away; dec and
// vdec only lend them out, under mu, while the reader runs.
type remote struct {
	id string

	audioBytes atomic.Uint64
	videoBytes atomic.Uint64

	mu          sync.Mutex
	dec         *jitter.Decoder // the audio reader's; nil when none runs
	meter       *audio.Meter
	reading     audio.Reading
	haveReading bool
	audioSeen   bool         // OnAudio was called
	vdec        *vp8.Decoder // the video reader's; nil when none runs
	recvRate    rateWindow   // of audioBytes+videoBytes, for snapshots
	videoSSRC   uint32       // of the remote video stream, for its NACK count
	video       VideoStats
	windowStart time.Time
	windowCount int
	lastFrame   time.Time     // when the last frame was decoded
	longestGap  time.Duration // between decoded frames, since the window started
}

func newRemote(id string) *remote {
	now := time.Now()
	r := &remote{id: id, meter: audio.NewMeter(48000, time.Second), windowStart: now}
	r.recvRate.add(now, 0)
	return r
}

// readAudio feeds a peer's Opus packets into its jitter buffer; playout
// pops them on the audio clock.
func (s *Session) readAudio(r *remote, t *webrtc.TrackRemote) {
	defer s.wg.Done()
	dec, err := jitter.NewDecoder(jitter.Config{FrameDuration: s.opts.AudioFrame, StartDelay: playoutPrefill(s.opts.AudioFrame)})
	if err != nil {
		s.log.Error("jitter decoder", "peer", r.id, "err", err)
		return
	}
	// A second audio track of the peer (renegotiation) takes over
	// playout; the first reader still closes its own decoder.
	r.mu.Lock()
	r.dec = dec
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.dec == dec {
			r.dec = nil
		}
		r.mu.Unlock()
		// Under the decoder's own lock: a Pop in flight finishes first.
		_ = dec.Close()
	}()
	first := true
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		r.audioBytes.Add(uint64(len(p.Payload)))
		dec.Push(p.SequenceNumber, p.Timestamp, p.Payload, now)
		if first {
			first = false
			s.noteStep(r.id, now, stepAudioReceived)
			// Playout may start on this packet instead of a tick later.
			kick(s.kickPlayout)
		}
	}
}

// playoutPrefill is how long after a stream's first packet playout starts
// when nothing else is playing: the playout clock is re-phased to that
// packet, so half a frame covers the sender's tick jitter; a stream that
// needs more makes the jitter buffer grow.
func playoutPrefill(frame time.Duration) time.Duration { return frame / 2 }

// playout pops one frame per peer each audio frame, meters it, and plays
// the mix.
func (s *Session) playout() {
	defer s.wg.Done()
	f := s.audioFormat()
	n := f.FrameSamples()
	pcm := make([]int16, n)
	mix := make([]int32, n)
	out := make([]int16, n)
	sink := s.opts.AudioOut
	// Our own clock even with a speaker: its ring only blocks when full,
	// and the jitter buffers are timed against this clock.
	tick := time.NewTicker(f.FrameDuration)
	defer tick.Stop()
	// playing: the last tick played some peer's stream (not just waited
	// for one). rephased: the next tick is the first of a new phase.
	playing, rephased := false, false
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kickPlayout:
			// A stream's first packet arrived. With nothing playing,
			// move the clock's phase to it: play it after the prefill,
			// not after a fixed wait plus up to a frame.
			if !playing {
				tick.Reset(playoutPrefill(f.FrameDuration))
				rephased = true
			}
			continue
		case <-tick.C:
			if rephased {
				tick.Reset(f.FrameDuration)
				rephased = false
			}
		}
		clear(mix)
		now := time.Now()
		playing = false
		for _, r := range s.remoteList() {
			r.mu.Lock()
			if r.dec == nil {
				r.mu.Unlock()
				continue
			}
			kind, err := r.dec.Pop(now, pcm)
			if err != nil {
				r.mu.Unlock()
				continue
			}
			playing = playing || kind != jitter.KindBuffering
			if rd, ok := r.meter.Write(pcm); ok {
				r.reading, r.haveReading = rd, true
			}
			first := kind == jitter.KindPacket && !r.audioSeen
			r.audioSeen = r.audioSeen || first
			r.mu.Unlock()
			if first {
				s.noteStep(r.id, time.Now(), stepAudioPlayed)
			}
			if first && s.opts.OnAudio != nil {
				s.opts.OnAudio(r.id)
			}
			for i, v := range pcm {
				mix[i] += int32(v)
			}
		}
		for i, v := range mix {
			out[i] = int16(max(-32768, min(32767, v)))
		}
		if sink != nil {
			if err := sink.WriteFrame(out); err != nil {
				s.log.Debug("audio out", "err", err)
			}
		}
	}
}

// readVideo rebuilds VP8 frames from a peer's packets, decodes them, and
// hands them to the views bound to the peer. After loss it waits for a
// keyframe, asking for one with PLI.
func (s *Session) readVideo(r *remote, t *webrtc.TrackRemote) {
	defer s.wg.Done()
	dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
	if err != nil {
		s.log.Error("vp8 decoder", "peer", r.id, "err", err)
		return
	}
	r.mu.Lock()
	r.vdec = dec
	r.videoSSRC = uint32(t.SSRC())
	r.mu.Unlock()
	// Only this goroutine decodes with dec, so closing it here, when the
	// track has ended, races with nothing.
	defer func() {
		r.mu.Lock()
		if r.vdec == dec {
			r.vdec = nil
		}
		r.mu.Unlock()
		_ = dec.Close()
	}()

	vr := newVideoReceiver(dec)
	var lastPLI time.Time
	pli := func() {
		if time.Since(lastPLI) < pliInterval {
			return
		}
		lastPLI = time.Now()
		if err := s.mesh.RequestKeyframe(r.id, uint32(t.SSRC())); err == nil {
			r.mu.Lock()
			r.video.PLIsSent++
			r.mu.Unlock()
		}
	}
	// One callback for the whole stream: a closure per packet would
	// allocate on the hot path.
	onFrame := func(fr *video.Frame, key bool, res frameResult) {
		switch res {
		case frameSkipped:
			r.mu.Lock()
			r.video.FramesDropped++
			r.mu.Unlock()
			pli()
			return
		case frameBroken:
			r.mu.Lock()
			r.video.DecodeErrors++
			r.video.FramesDropped++
			r.mu.Unlock()
			pli()
			return
		}
		r.mu.Lock()
		r.video.FramesDecoded++
		if key {
			r.video.Keyframes++
		}
		r.video.Width, r.video.Height = fr.Width, fr.Height
		r.windowCount++
		now := time.Now()
		if !r.lastFrame.IsZero() {
			r.longestGap = max(r.longestGap, now.Sub(r.lastFrame))
		}
		r.lastFrame = now
		firstFrame := r.video.FramesDecoded == 1
		r.mu.Unlock()
		if firstFrame {
			s.noteStep(r.id, now, stepVideoDecoded)
		}
		for _, k := range s.viewSinks(r.id) {
			if err := k.WriteFrame(fr); err != nil {
				s.log.Debug("remote view", "peer", r.id, "err", err)
			}
		}
		if s.opts.OnFrame != nil {
			s.opts.OnFrame(r.id, fr)
		}
	}
	first := true
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if first {
			first = false
			s.noteStep(r.id, time.Now(), stepVideoReceived)
		}
		r.videoBytes.Add(uint64(len(p.Payload)))
		vr.push(p, onFrame)
	}
}

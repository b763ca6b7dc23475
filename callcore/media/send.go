package media

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/opus"
	"github.com/termcall/termcall/video/vp8"
)

// sendStats counts what the session sends. Atomics: written by the send
// loops, read by the stats loop.
type sendStats struct {
	audioPackets atomic.Uint64
	audioBytes   atomic.Uint64
	videoFrames  atomic.Uint64
	videoBytes   atomic.Uint64
	keyframes    atomic.Uint64
	localLevel   atomic.Int64 // dBFS * 100 of the last window of the local mic
	localVolume  atomic.Int32
}

// sendAudio reads the local source, encodes it once and writes it to the
// shared track. Frames not sent (mute, DTX) still advance the RTP clock,
// so the receivers see a gap in time, not a loss.
func (s *Session) sendAudio() {
	defer s.wg.Done()
	f := s.audioFormat()
	enc, err := newOpusEncoder(s.opts.OpusBitrate)
	if err != nil {
		s.log.Error("audio encoder", "err", err)
		return
	}
	defer enc.Close()
	// As newOpusEncoder set it; applyAudio follows the adapter from here.
	aState := audioEncoderState{bps: int32(s.opts.OpusBitrate), lossPerc: 10}

	pcm := make([]int16, f.FrameSamples())
	out := make([]byte, opus.MaxPacketSize)
	meter := audio.NewMeter(f.SampleRate, time.Second)
	src := s.opts.AudioIn
	clocked := audio.IsClocked(src)
	var tick *time.Ticker
	if !clocked {
		tick = time.NewTicker(f.FrameDuration)
		defer tick.Stop()
	}
	frameTicks := uint32(f.FrameSamples()) // 48 kHz RTP clock, mono
	pk := rtp.NewPacketizer(rtpMTU, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	gap := false
	dtxEvery := int(400 * time.Millisecond / f.FrameDuration)
	dtx := 0
	for {
		if !clocked {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
			case <-s.kickAudio:
				// A peer came up: send now, and tick from now on.
				tick.Reset(f.FrameDuration)
			}
		} else if s.ctx.Err() != nil {
			return
		}
		if src == nil {
			clear(pcm)
		} else if err := src.ReadFrame(pcm); err != nil {
			if errors.Is(err, io.EOF) {
				// A finished file: keep the clock running with silence.
				src = nil
				clear(pcm)
			} else {
				s.log.Warn("audio source", "err", err)
				clear(pcm)
			}
		}
		if s.micMuted.Load() {
			pk.SkipSamples(frameTicks)
			gap = true
			s.send.localVolume.Store(0)
			continue
		}
		if r, ok := meter.Write(pcm); ok {
			s.send.localLevel.Store(int64(r.LevelDBFS * 100))
			s.send.localVolume.Store(int32(r.Volume))
		}
		s.applyAudio(enc, &aState)
		n, err := enc.Encode(pcm, out)
		if err != nil {
			s.log.Warn("opus encode", "err", err)
			pk.SkipSamples(frameTicks)
			gap = true
			continue
		}
		// With DTX, packets of 2 bytes or less carry no speech. Like
		// WebRTC we send one every 400 ms (so the receiver knows the gap
		// is silence, not loss) and skip the rest: time moves on,
		// sequence numbers do not.
		if n <= 2 {
			dtx++
			if dtx%dtxEvery != 1 {
				pk.SkipSamples(frameTicks)
				gap = true
				continue
			}
		} else {
			dtx = 0
		}
		for _, p := range pk.Packetize(out[:n], frameTicks) {
			// The marker starts a talkspurt (RFC 7587 §4.2).
			p.Marker = gap
			if err := s.mesh.AudioTrack().WriteRTP(p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				s.log.Debug("write audio", "err", err)
			}
		}
		gap = false
		s.send.audioPackets.Add(1)
		s.send.audioBytes.Add(uint64(n))
		s.noteSent(false)
	}
}

// rtpMTU leaves room for SRTP and headers under a 1280-byte path MTU.
const rtpMTU = 1200

func newOpusEncoder(bitrate int) (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(48000, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	// In-band FEC tuned for ~10 % loss, DTX for silence: the issue's
	// defaults, and what WebRTC endpoints expect.
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(bitrate) },
		func() error { return enc.SetInbandFEC(true) },
		func() error { return enc.SetPacketLossPerc(10) },
		func() error { return enc.SetDTX(true) },
	} {
		if err := set(); err != nil {
			_ = enc.Close()
			return nil, fmt.Errorf("opus encoder: %w", err)
		}
	}
	return enc, nil
}

// sendVideo paces the local video source at the configured rate, shows
// each frame in the local views, and encodes it once for every peer.
func (s *Session) sendVideo() {
	defer s.wg.Done()
	// The adapter's target (adapt.go) sets the size, rate and bitrate.
	t := s.adapt.video.Load()
	enc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: t.Width, Height: t.Height, FPS: t.FPS, BitrateKbps: t.Kbps})
	if err != nil {
		s.log.Error("video encoder", "err", err)
		return
	}
	defer func() { _ = enc.Close() }()
	if r, ok := s.opts.VideoIn.(resizable); ok {
		r.SetSize(t.Width, t.Height)
	}
	interval := time.Second / time.Duration(t.FPS)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	frameTicks := uint32(90000 / t.FPS)
	pk := rtp.NewPacketizer(rtpMTU, 0, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	var pts int64
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.kickVideo:
			// A peer came up (with a keyframe asked for): encode now,
			// not up to a frame interval later, and tick from now on.
			tick.Reset(interval)
		}
		fr, err := s.opts.VideoIn.ReadFrame(s.ctx)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("video source", "err", err)
			pk.SkipSamples(frameTicks)
			continue
		}
		var rated bool
		if enc, rated = s.applyVideo(enc); rated {
			fps := enc.Config().FPS
			interval, frameTicks = time.Second/time.Duration(fps), uint32(90000/fps)
			tick.Reset(interval)
		}
		fr = scaleTo(fr, enc.Config())
		for _, k := range s.viewSinks("") {
			if err := k.WriteFrame(fr); err != nil {
				s.log.Debug("local view", "err", err)
			}
		}
		pts++
		if !s.sendingVideo() {
			pk.SkipSamples(frameTicks)
			continue
		}
		if s.keyframe.Swap(false) {
			enc.ForceKeyframe()
		}
		data, key, err := enc.Encode(fr, pts)
		if err != nil {
			s.log.Warn("vp8 encode", "err", err)
			pk.SkipSamples(frameTicks)
			continue
		}
		if len(data) == 0 {
			// The rate controller dropped the frame.
			pk.SkipSamples(frameTicks)
			continue
		}
		// The packetizer marks the last packet of the frame.
		for _, p := range pk.Packetize(data, frameTicks) {
			if err := s.mesh.VideoTrack().WriteRTP(p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				s.log.Debug("write video", "err", err)
			}
		}
		s.send.videoFrames.Add(1)
		s.send.videoBytes.Add(uint64(len(data)))
		if key {
			s.send.keyframes.Add(1)
		}
		s.noteSent(true)
	}
}

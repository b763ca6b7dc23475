package jitter

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/opus"
)

// TestEndToEndLossAndJitter sends 10 s of a 440 Hz tone through the Opus
// encoder (FEC on), a simulated network with 5 % random loss and 0-30 ms
// jitter, and the jitter-buffer decoder; the tone must come out intact.
func TestEndToEndLossAndJitter(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct{ send, out time.Duration }{
		{20 * ms, 20 * ms}, {10 * ms, 10 * ms}, {10 * ms, 20 * ms}, {20 * ms, 10 * ms},
	} {
		t.Run(fmt.Sprintf("send%v-play%v", tc.send, tc.out), func(t *testing.T) { endToEnd(t, tc.send, tc.out) })
	}
}

// endToEnd sends packets of frameDur and plays frames of outDur (the
// decoder detects the packet duration).
func endToEnd(t *testing.T, frameDur, outDur time.Duration) {
	f := audio.DefaultFormat()
	f.FrameDuration = frameDur
	n := f.FrameSamples()
	frames := int(10 * time.Second / frameDur)
	outN := int(outDur) * audio.SampleRate / int(time.Second)

	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for _, e := range []error{enc.SetBitrate(32000), enc.SetInbandFEC(true), enc.SetPacketLossPerc(10), enc.SetDTX(true)} {
		if e != nil {
			t.Fatal(e)
		}
	}
	tone, err := audio.NewTone(f, 440, 0.5)
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(42, 5))
	type pkt struct {
		seq     uint16
		ts      uint32
		payload []byte
		arrive  time.Duration
	}
	var net []pkt
	pcm := make([]int16, n)
	buf := make([]byte, opus.MaxPacketSize)
	dropped := 0
	for i := range frames {
		if err := tone.ReadFrame(pcm); err != nil {
			t.Fatal(err)
		}
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		if rng.Float64() < 0.05 {
			dropped++
			continue
		}
		net = append(net, pkt{
			seq: uint16(60000 + i), ts: uint32(i * n), payload: slices.Clone(buf[:m]),
			arrive: time.Duration(i)*frameDur + 15*time.Millisecond + time.Duration(rng.Float64()*float64(30*time.Millisecond)),
		})
	}
	slices.SortStableFunc(net, func(a, b pkt) int { return int(a.arrive - b.arrive) })

	dec, err := NewDecoder(Config{FrameDuration: outDur})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if dec.FrameSamples() != outN {
		t.Fatalf("decoder frame %d samples, want %d", dec.FrameSamples(), outN)
	}
	var out []int16
	next := 0
	kinds := map[Kind]int{}
	pcm = make([]int16, outN)
	for k := range int(10*time.Second/outDur) + 20 {
		now := time.Duration(k)*outDur + 3*time.Millisecond
		for next < len(net) && net[next].arrive <= now {
			p := net[next]
			dec.Push(p.seq, p.ts, p.payload, t0.Add(p.arrive))
			next++
		}
		kind, err := dec.Pop(t0.Add(now), pcm)
		if err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		if now >= time.Second && now < 10*time.Second {
			out = append(out, pcm...)
		}
	}
	s := dec.Stats()
	t.Logf("dropped %d of %d; kinds %v; stats %+v", dropped, frames, kinds, s)

	// Measure in 1 s windows so one bad patch would show.
	for w := 0; w+audio.SampleRate <= len(out); w += audio.SampleRate {
		win := out[w : w+audio.SampleRate]
		hz := audio.DominantFrequency(win, audio.SampleRate)
		lvl := audio.LevelDBFS(win)
		if math.Abs(hz-440)/440 > 0.02 || lvl < -30 {
			t.Errorf("window at %d s: %.1f Hz, %.1f dBFS; want 440 Hz ± 2 %% above -30 dBFS", 1+w/audio.SampleRate, hz, lvl)
		}
	}
	if s.Lost < uint64(dropped)*8/10 || s.Lost > uint64(dropped)+5 {
		t.Errorf("buffer reports %d lost, network dropped %d", s.Lost, dropped)
	}
	if s.FECRecovered == 0 {
		t.Error("no frame recovered by FEC")
	}
	if lim := uint64(frames) / 10; s.FECRecovered+s.PLCFrames > lim {
		t.Errorf("%d frames concealed (FEC %d, PLC %d), want at most %d", s.FECRecovered+s.PLCFrames, s.FECRecovered, s.PLCFrames, lim)
	}
	if s.DelayMs > 120 {
		t.Errorf("buffer delay %.0f ms; want it low", s.DelayMs)
	}
	if s.StreamFrame != frameDur || s.Resets != 0 {
		t.Errorf("stream frame %v (resets %d), want %v detected from the first packet", s.StreamFrame, s.Resets, frameDur)
	}
}

func TestDecoderGarbageAndErrors(t *testing.T) {
	dec, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 960)
	if _, err := dec.Pop(t0, pcm[:100]); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short buffer: %v", err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 100 {
		junk := make([]byte, 1+rng.IntN(200))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		dec.Push(uint16(i), uint32(i*960), junk, now)
		if _, err := dec.Pop(now, pcm); err != nil {
			t.Fatalf("Pop with garbage packet: %v", err)
		}
	}
	s := dec.Stats()
	t.Logf("garbage: %+v", s)
	if s.DecodeErrors == 0 {
		t.Error("no decode errors counted for random packets")
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ClockRate: 44100}); err != nil {
		t.Fatalf("44.1 kHz buffer: %v", err)
	}
	if _, err := NewDecoder(Config{ClockRate: 44100}); err == nil {
		t.Error("Opus decoder accepted 44.1 kHz")
	}
}

package dsp

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// The acceptance tests of issue 11 on generated signals: a far-end talker
// through a simulated room (50 ms, reflections, -6 dB) into a microphone
// that also hears a near-end talker and noise, processed 10 ms at a time
// as a sound card delivers them.

const rate = 48000

// capture is one run: the signals that went in and what came out.
type capture struct {
	mic, out []int16
	stats    Stats
}

// process plays far through a room into a microphone that also hears
// near, and runs cfg over it the way the call does: the far end to
// ProcessRender, then the microphone to ProcessCapture with the room's
// delay.
func process(t testing.TB, cfg Config, far, near []float64, room RoomConfig) capture {
	t.Helper()
	n := len(near)
	r, err := NewRoom(room)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SampleRate = room.SampleRate
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := capture{mic: make([]int16, n), out: make([]int16, n)}
	chunk := p.ChunkSamples()
	farPCM := make([]int16, chunk)
	for off := 0; off+chunk <= n; off += chunk {
		for i := range farPCM {
			farPCM[i] = clamp16(far[off+i])
		}
		if err := p.ProcessRender(farPCM); err != nil {
			t.Fatal(err)
		}
		r.play(farPCM)
		m := c.mic[off : off+chunk]
		for i := range m {
			m[i] = clamp16(near[off+i])
		}
		r.hear(m)
		o := c.out[off : off+chunk]
		copy(o, m)
		if err := p.ProcessCapture(o, room.Delay); err != nil {
			t.Fatal(err)
		}
	}
	c.stats = p.Stats()
	return c
}

// window is a stretch of a signal, in seconds, restricted to where a mask
// holds (nil: everywhere).
type window struct {
	from, to float64
	mask     []bool
}

func (w window) level(rate int, x []int16, lag int) float64 {
	var sum float64
	var k int
	for i := int(w.from * float64(rate)); i < min(int(w.to*float64(rate)), len(x)-lag); i++ {
		if w.mask == nil || w.mask[i] {
			v := float64(x[i+lag])
			sum += v * v
			k++
		}
	}
	if k == 0 {
		return math.Inf(-1)
	}
	return DBFS(sum / float64(k))
}

func toInt16(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = clamp16(v)
	}
	return out
}

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// delayOf finds the processing delay of out against ref (up to 20 ms):
// the lag of the strongest cross-correlation over w.
func delayOf(rate int, out, ref []int16, w window) int {
	best, lag := math.Inf(-1), 0
	for l := 0; l < rate/50; l += 4 {
		var ab float64
		for i := int(w.from * float64(rate)); i < int(w.to*float64(rate)); i += 2 {
			if w.mask == nil || w.mask[i] {
				ab += float64(out[i+l]) * float64(ref[i])
			}
		}
		if ab > best {
			best, lag = ab, l
		}
	}
	return lag
}

// correlation of out (shifted by lag) and ref over w.
func correlation(rate int, out, ref []int16, w window, lag int) float64 {
	var ab, aa, bb float64
	for i := int(w.from * float64(rate)); i < int(w.to*float64(rate)); i++ {
		if w.mask == nil || w.mask[i] {
			x, y := float64(out[i+lag]), float64(ref[i])
			ab += x * y
			aa += x * x
			bb += y * y
		}
	}
	return ab / math.Sqrt(aa*bb)
}

// envelope is the level of x in 10 ms frames that lie wholly inside w.
func envelope(rate int, x []int16, w window, lag int) []float64 {
	var env []float64
	fr := rate / 100
	for s := int(w.from * float64(rate)); s+fr <= int(w.to*float64(rate)); s += fr {
		if w.mask != nil && !(w.mask[s] && w.mask[s+fr-1]) {
			continue
		}
		env = append(env, audioLevel(x[s+lag:s+lag+fr]))
	}
	return env
}

func audioLevel(x []int16) float64 { return audioLevelOf(x) }

// pearson is the correlation coefficient of a and b.
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		ab += (a[i] - ma) * (b[i] - mb)
		aa += (a[i] - ma) * (a[i] - ma)
		bb += (b[i] - mb) * (b[i] - mb)
	}
	return ab / math.Sqrt(aa*bb)
}

// syllables are the runs of mask inside w, as windows.
func syllables(rate int, w window) []window {
	var out []window
	start := -1
	to := int(w.to * float64(rate))
	for i := int(w.from * float64(rate)); i <= to; i++ {
		on := i < to && w.mask[i]
		switch {
		case on && start < 0:
			start = i
		case !on && start >= 0:
			if i-start >= rate/10 { // 100 ms or more
				out = append(out, window{from: float64(start) / float64(rate), to: float64(i) / float64(rate)})
			}
			start = -1
		}
	}
	return out
}

// echoFigures are what the echo scenario measured.
type echoFigures struct {
	ERLE       float64 // dB, microphone over output, far-end-only speech after convergence
	ModuleERLE float64 // the module's own average
	NearIn     float64 // near talker alone, dBFS
	NearOut    float64
	NearEnv    float64 // correlation of the 10 ms envelopes, near talker alone
	DTNear     float64 // the near talker's level during double talk, dBFS
	DTOut      float64 // the output's level on those samples
	DTCorr     float64 // waveform correlation of output and near talker in double talk
	DTThrough  float64 // fraction of the near syllables in double talk that come out within 10 dB
}

// talk is the echo scenario's signals: 0-14 s the far end alone, 14-20 s
// the near end alone, 20-28 s both, a quiet hum of noise throughout.
type talk struct {
	far, mic      []float64
	near          []int16
	farOn, nearOn []bool
}

func newTalk() talk {
	n := 28 * rate
	far, farOn := speech(rate, n, talker{f0: 120, seed: 1, levelDB: -20},
		[]span{{0.3, 3.2}, {3.9, 7.5}, {8.1, 13.5}, {20.5, 24}, {24.6, 27.8}})
	near, nearOn := speech(rate, n, talker{f0: 210, seed: 2, levelDB: -24},
		[]span{{14.2, 16.8}, {17.3, 19.8}, {20.2, 23.5}, {24, 27.5}})
	return talk{far: far, mic: add(near, noise(n, 3, -60)), near: toInt16(near), farOn: farOn, nearOn: nearOn}
}

// echoScenario plays tk through a room of 50 ms at -6 dB.
func echoScenario(t testing.TB, cfg Config, tk talk) echoFigures {
	t.Helper()
	farOn, nearOn, clean := tk.farOn, tk.nearOn, tk.near
	c := process(t, cfg, tk.far, tk.mic, RoomConfig{SampleRate: rate, Delay: 50 * time.Millisecond, LossDB: 6})
	farOnly := window{5, 14, farOn}
	alone := window{14, 20, nearOn}
	dt := window{20.5, 27.5, nearOn}
	lag := delayOf(rate, c.out, clean, alone)
	f := echoFigures{
		ERLE:       farOnly.level(rate, c.mic, 0) - farOnly.level(rate, c.out, lag),
		ModuleERLE: c.stats.ERLE,
		NearIn:     alone.level(rate, clean, 0),
		NearOut:    alone.level(rate, c.out, lag),
		NearEnv:    pearson(envelope(rate, clean, alone, 0), envelope(rate, c.out, alone, lag)),
		DTNear:     dt.level(rate, clean, 0),
		DTOut:      dt.level(rate, c.out, lag),
		DTCorr:     correlation(rate, c.out, clean, dt, lag),
	}
	syl := syllables(rate, dt)
	for _, s := range syl {
		if s.level(rate, c.out, lag) >= s.level(rate, clean, 0)-10 {
			f.DTThrough++
		}
	}
	f.DTThrough /= float64(len(syl))
	return f
}

// noiseFigures are what the noise scenario measured.
type noiseFigures struct {
	GapIn, GapOut       float64 // noise between phrases, dBFS
	SpeechIn, SpeechOut float64 // the talker's syllables, dBFS
}

// noisy is the noise scenario's signals: a talker at talkerDB in steady
// noise 20 dB below, phrases of 2.5 s with pauses of 1.5 s.
type noisy struct {
	mic      []float64
	on, gaps []bool
}

func newNoisy(talkerDB float64) noisy {
	n := 20 * rate
	phrases := []span{{1, 3.5}, {5, 7.5}, {9, 11.5}, {13, 15.5}, {17, 19.5}}
	near, on := speech(rate, n, talker{f0: 210, seed: 2, levelDB: talkerDB}, phrases)
	gaps := make([]bool, n)
	for i := range gaps {
		s := float64(i) / rate
		for k := 1; k < len(phrases); k++ {
			// Leave 300 ms after a phrase for reverberation and hangover.
			if s > phrases[k-1].to+0.3 && s < phrases[k].from-0.1 {
				gaps[i] = true
			}
		}
	}
	return noisy{mic: add(near, noise(n, 4, talkerDB-20)), on: on, gaps: gaps}
}

// noiseScenario processes ns, measured after 3 s.
func noiseScenario(t testing.TB, cfg Config, ns noisy) noiseFigures {
	t.Helper()
	c := process(t, cfg, make([]float64, len(ns.mic)), ns.mic, RoomConfig{SampleRate: rate})
	g, sp := window{3, 20, ns.gaps}, window{3, 20, ns.on}
	return noiseFigures{GapIn: g.level(rate, c.mic, 0), GapOut: g.level(rate, c.out, 0),
		SpeechIn: sp.level(rate, c.mic, 0), SpeechOut: sp.level(rate, c.out, 0)}
}

func name(aec, ns, agc bool) string {
	return fmt.Sprintf("aec=%v,ns=%v,agc=%v", aec, ns, agc)
}

// TestEchoAndNoise runs both scenarios for every combination of --aec,
// --ns and --agc, logs the figures (go test -v: the table in
// docs/sound.md) and checks each against the acceptance.
func TestEchoAndNoise(t *testing.T) {
	tk, nzs := newTalk(), newNoisy(-24)
	for _, aec := range []bool{true, false} {
		for _, ns := range []bool{true, false} {
			for _, agc := range []bool{true, false} {
				t.Run(name(aec, ns, agc), func(t *testing.T) {
					cfg, ok := CallConfig(aec, ns, agc)
					if !ok {
						cfg = Config{} // all off: the module passes audio through
					}
					e := echoScenario(t, cfg, tk)
					nz := noiseScenario(t, cfg, nzs)
					t.Logf("| %-5v | %-5v | %-5v | %5.1f | %+5.1f | %.2f | %+5.1f | %.2f | %3.0f %% | %5.1f | %+5.1f |",
						aec, ns, agc, e.ERLE, e.NearOut-e.NearIn, e.NearEnv, e.DTOut-e.DTNear, e.DTCorr, 100*e.DTThrough,
						nz.GapIn-nz.GapOut, nz.SpeechOut-nz.SpeechIn)
					if aec {
						if e.ERLE < 20 {
							t.Errorf("ERLE over far-end-only speech %.1f dB, want >= 20", e.ERLE)
						}
						// No half-duplex muting: the near talker stays, in level,
						// in waveform and in most syllables (the suppressor does
						// duck those that coincide with the loudest echo; a
						// half-duplex switch would take nearly all of them).
						if e.DTOut < e.DTNear-10 || e.DTCorr < 0.6 || e.DTThrough < 0.5 {
							t.Errorf("double talk: near talker %.1f dBFS came out at %.1f (correlation %.2f, %.0f %% of syllables within 10 dB); want within 10 dB, >= 0.6, >= 50 %%",
								e.DTNear, e.DTOut, e.DTCorr, 100*e.DTThrough)
						}
					} else if e.ERLE > 6 {
						t.Errorf("ERLE %.1f dB without the AEC: the measurement is not measuring the AEC", e.ERLE)
					}
					if d := e.NearOut - e.NearIn; math.Abs(d) > 6 || e.NearEnv < 0.9 {
						t.Errorf("near talker alone: %.1f -> %.1f dBFS (%+.1f dB), envelope correlation %.2f; want within 6 dB, >= 0.9",
							e.NearIn, e.NearOut, d, e.NearEnv)
					}
					if d := nz.SpeechOut - nz.SpeechIn; math.Abs(d) > 6 {
						t.Errorf("talker in noise: speech %.1f -> %.1f dBFS (%+.1f dB), want within 6 dB", nz.SpeechIn, nz.SpeechOut, d)
					}
					cut := nz.GapIn - nz.GapOut
					switch {
					case ns && cut < 10:
						t.Errorf("noise between phrases %.1f -> %.1f dBFS, cut %.1f dB, want >= 10", nz.GapIn, nz.GapOut, cut)
					case !ns && cut > 3:
						t.Errorf("noise cut %.1f dB without NS: the measurement is not measuring NS", cut)
					}
				})
			}
		}
	}
}

// TestAGCLiftsAQuietTalker: with the AGC a talker 12 dB below a normal
// level comes up by 6 dB or more without clipping; without it the level
// stays.
func TestAGCLiftsAQuietTalker(t *testing.T) {
	quiet := newNoisy(-36)
	for _, agc := range []bool{true, false} {
		cfg, _ := CallConfig(true, true, agc)
		f := noiseScenario(t, cfg, quiet)
		gain := f.SpeechOut - f.SpeechIn
		t.Logf("agc=%v: quiet talker %.1f -> %.1f dBFS (%+.1f dB)", agc, f.SpeechIn, f.SpeechOut, gain)
		if agc && gain < 6 {
			t.Errorf("AGC on: gain %+.1f dB, want >= 6", gain)
		}
		if !agc && math.Abs(gain) > 1.5 {
			t.Errorf("AGC off: gain %+.1f dB, want about 0", gain)
		}
	}
}

package dsp

import (
	"fmt"
	"math"
	"time"

	"github.com/termcall/termcall/audio"
)

// Report is what ProcessSignal measured.
type Report struct {
	Stats
	SampleRate int // of the signals given
	ModuleRate int // the processor's (differs when resampled)
	Duration   time.Duration
	// FarTalkReduction is how much quieter the output is than the
	// microphone in the 10 ms frames where the far end talks (within 30 dB
	// of its loudest second), in dB: the echo removed, plus whatever the
	// processing did to the near end meanwhile. NaN without a far end.
	FarTalkReduction float64
}

// ProcessSignal runs cfg over whole signals, as a call would have: far is
// what the speaker played and mic what the microphone captured, aligned
// sample for sample at rate (a sound card's view: the echo's delay is in
// the signals, and the echo canceller finds it; delay is any known part
// of it, 0 if unknown). far may be shorter (padded with silence) or nil.
// Rates the module cannot take in 10 ms chunks (11025, 22050 Hz) are
// resampled to 48 kHz and back. The output has mic's length and rate;
// with everything off it is mic.
func ProcessSignal(cfg Config, far, mic []int16, rate int, delay time.Duration) ([]int16, Report, error) {
	if rate < 8000 || rate > 48000 {
		return nil, Report{}, fmt.Errorf("%w: sample rate %d Hz, want 8000..48000", ErrConfig, rate)
	}
	n := len(mic)
	if !cfg.AEC && !cfg.NS && !cfg.AGC && !cfg.HPF {
		// Nothing on: the microphone as it is, not even resampled.
		var p power
		p.add(mic)
		return append([]int16(nil), mic...), Report{Stats: Stats{ERLE: math.NaN(), ERLEInstant: math.NaN(), ERL: math.NaN(),
			Delay: -1, FarDBFS: audioLevelOf(far), MicDBFS: p.dbfs(), OutDBFS: p.dbfs()},
			SampleRate: rate, ModuleRate: rate, Duration: time.Duration(n) * time.Second / time.Duration(rate),
			FarTalkReduction: math.NaN()}, nil
	}
	work := rate
	if rate%100 != 0 {
		work = 48000
		far, mic = Resample(far, rate, work), Resample(mic, rate, work)
	}
	cfg.SampleRate = work
	p, err := New(cfg)
	if err != nil {
		return nil, Report{}, err
	}
	defer p.Close()
	chunk := p.ChunkSamples()
	out := make([]int16, (len(mic)+chunk-1)/chunk*chunk)
	copy(out, mic)
	farBuf := make([]int16, chunk)
	var micTalk, outTalk power
	farPeak := peakSecond(far, work)
	for off := 0; off < len(out); off += chunk {
		clear(farBuf)
		if off < len(far) {
			copy(farBuf, far[off:min(off+chunk, len(far))])
		}
		if err := p.ProcessRender(farBuf); err != nil {
			return nil, Report{}, err
		}
		talking := far != nil && audioLevelOf(farBuf) > farPeak-30
		if talking {
			micTalk.add(out[off : off+chunk])
		}
		if err := p.ProcessCapture(out[off:off+chunk], delay); err != nil {
			return nil, Report{}, err
		}
		if talking {
			outTalk.add(out[off : off+chunk])
		}
	}
	out = out[:len(mic)]
	r := Report{Stats: p.Stats(), SampleRate: rate, ModuleRate: work,
		Duration: time.Duration(n) * time.Second / time.Duration(rate), FarTalkReduction: math.NaN()}
	if micTalk.n > 0 {
		r.FarTalkReduction = micTalk.dbfs() - outTalk.dbfs()
	}
	if work != rate {
		out = Resample(out, work, rate)
		out = append(out, make([]int16, max(0, n-len(out)))...)[:n]
	}
	return out, r, nil
}

// peakSecond is the level of the loudest second of pcm, dBFS.
func peakSecond(pcm []int16, rate int) float64 {
	peak := audio.SilenceDBFS
	for off := 0; off < len(pcm); off += rate {
		peak = max(peak, audioLevelOf(pcm[off:min(off+rate, len(pcm))]))
	}
	return peak
}

func audioLevelOf(pcm []int16) float64 {
	var p power
	p.add(pcm)
	return p.dbfs()
}

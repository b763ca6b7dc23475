package dsp

import (
	"math"
	"math/rand/v2"
)

// Generated test signals: speech-like talkers and steady noise, so that
// the tests measure the processing without recordings to tune to.

// talker describes a synthetic voice.
type talker struct {
	f0      float64 // mean pitch, Hz
	seed    uint64
	levelDB float64 // RMS over the active syllables, dBFS
}

// span is a phrase: seconds from the start of the signal.
type span struct{ from, to float64 }

// vowel formants (F1, F2, F3 in Hz) the syllables pick from.
var vowels = [][3]float64{
	{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {640, 1190, 2390}, {440, 1020, 2240},
}

// speech returns n samples at rate of t speaking in phrases: syllables of
// 120-280 ms with a raised-cosine envelope at about 4 per second, mostly
// voiced (harmonics of a gliding pitch shaped by formants), some unvoiced
// (noise bursts, high-passed), silent between phrases. active[i] says
// whether sample i belongs to a syllable.
func speech(rate, n int, t talker, phrases []span) (pcm []float64, active []bool) {
	rng := rand.New(rand.NewPCG(t.seed, t.seed^0x9e3779b97f4a7c15))
	pcm = make([]float64, n)
	active = make([]bool, n)
	const maxHarm = 40
	var phase [maxHarm]float64
	for _, ph := range phrases {
		pos := ph.from
		for pos < ph.to {
			dur := 0.12 + 0.16*rng.Float64()
			if pos+dur > ph.to {
				dur = ph.to - pos
			}
			start, end := int(pos*float64(rate)), min(int((pos+dur)*float64(rate)), n)
			v := vowels[rng.IntN(len(vowels))]
			voiced := rng.Float64() < 0.8
			glide := 0.85 + 0.3*rng.Float64() // pitch at the syllable's start, relative
			var hp float64                    // high-pass state for unvoiced bursts
			var prev float64
			for i := start; i < end; i++ {
				x := float64(i-start) / float64(end-start)
				env := math.Pow(math.Sin(math.Pi*x), 2)
				var s float64
				if voiced {
					f0 := t.f0 * (glide + (1-glide)*x) * (1 + 0.01*math.Sin(2*math.Pi*5*float64(i)/float64(rate)))
					for k := 1; k <= maxHarm; k++ {
						f := f0 * float64(k)
						if f > 0.45*float64(rate) || f > 7000 {
							break
						}
						a := 1 / float64(k)
						for j, fm := range v {
							bw := 80.0 + 40*float64(j)
							a *= 1 + 6*math.Exp(-(f-fm)*(f-fm)/(2*bw*bw))/float64(j+1)
						}
						phase[k-1] += 2 * math.Pi * f / float64(rate)
						if phase[k-1] > 2*math.Pi {
							phase[k-1] -= 2 * math.Pi
						}
						s += a * math.Sin(phase[k-1])
					}
				} else {
					w := rng.NormFloat64()
					hp = 0.9 * (hp + w - prev) // one-pole high-pass: a hiss
					prev = w
					s = hp
				}
				pcm[i] = env * s
				active[i] = env > 0.1
			}
			pos += dur + 0.03 + 0.06*rng.Float64()
		}
	}
	scaleTo(pcm, active, t.levelDB)
	return pcm, active
}

// noise returns steady pinkish noise (white through a gentle low-pass) at
// levelDB dBFS RMS.
func noise(n int, seed uint64, levelDB float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]float64, n)
	var lp float64
	for i := range out {
		lp = 0.7*lp + 0.3*rng.NormFloat64()
		out[i] = lp
	}
	scaleTo(out, nil, levelDB)
	return out
}

// scaleTo scales x so that its RMS over the samples where mask holds (all
// of them with a nil mask) is levelDB dBFS.
func scaleTo(x []float64, mask []bool, levelDB float64) {
	var sum float64
	var n int
	for i, v := range x {
		if mask == nil || mask[i] {
			sum += v * v
			n++
		}
	}
	if n == 0 || sum == 0 {
		return
	}
	g := 32768 * dbToAmp(levelDB) / math.Sqrt(sum/float64(n))
	for i := range x {
		x[i] *= g
	}
}

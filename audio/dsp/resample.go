package dsp

import "math"

// resampleTaps is the half-width of the resampling filter in input
// samples (at the lower of the two rates): enough for a flat passband to
// about 0.9 of Nyquist and over 60 dB of rejection beyond it.
const resampleTaps = 24

// Resample converts mono pcm from rate `from` to rate `to` with a
// Blackman-windowed sinc low-pass at the lower rate's Nyquist frequency,
// so that going down does not alias. For offline use (termcall dsp): it
// works on a whole signal, at a cost of 2*resampleTaps multiplies per
// output sample.
func Resample(pcm []int16, from, to int) []int16 {
	if from == to || len(pcm) == 0 || from <= 0 || to <= 0 {
		return pcm
	}
	n := int(int64(len(pcm)) * int64(to) / int64(from))
	out := make([]int16, n)
	step := float64(from) / float64(to)
	cutoff := min(1, 1/step)                      // relative to the input's Nyquist
	half := int(math.Ceil(resampleTaps / cutoff)) // taps each side, in input samples
	for i := range out {
		x := float64(i) * step
		c := int(math.Floor(x))
		var acc, wsum float64
		for j := c - half + 1; j <= c+half; j++ {
			if j < 0 || j >= len(pcm) {
				continue
			}
			d := x - float64(j)
			w := cutoff * sinc(cutoff*d) * blackman(d/float64(half))
			acc += w * float64(pcm[j])
			wsum += w
		}
		if wsum != 0 {
			acc /= wsum // unity gain at DC, also at the edges
		}
		out[i] = clamp16(acc)
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over t in [-1, 1].
func blackman(t float64) float64 {
	if t <= -1 || t >= 1 {
		return 0
	}
	return 0.42 + 0.5*math.Cos(math.Pi*t) + 0.08*math.Cos(2*math.Pi*t)
}

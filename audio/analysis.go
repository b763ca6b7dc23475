package audio

import (
	"math"
	"math/bits"
	"math/cmplx"
	"sync"
	"time"
)

// SilenceDBFS is the level reported for digital silence (instead of -Inf,
// which JSON and arithmetic handle badly).
const SilenceDBFS = -120.0

// LevelDBFS returns the RMS level of pcm relative to full scale (32768):
// a full-scale square wave is 0 dBFS, a full-scale sine about -3 dBFS.
// Silence and empty input give SilenceDBFS.
func LevelDBFS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return SilenceDBFS
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return rmsToDBFS(math.Sqrt(sum / float64(len(pcm))))
}

func rmsToDBFS(rms float64) float64 {
	if rms <= 0 {
		return SilenceDBFS
	}
	return max(20*math.Log10(rms/32768), SilenceDBFS)
}

// maxAnalysis bounds the samples DominantFrequency looks at (the most recent
// ones), keeping the FFT at 2^17 points at most.
const maxAnalysis = 1 << 16

// DominantFrequency returns the frequency in Hz of the strongest spectral
// peak of mono pcm, or 0 for silence or too little input. It windows the
// signal (Hann), zero-pads to at least twice its length, and refines the peak
// bin by Gaussian (log-parabolic) interpolation; a clean tone over 100 ms or
// more comes out within 0.1 %.
func DominantFrequency(pcm []int16, sampleRate int) float64 {
	var sp spectrum
	return sp.dominant(pcm, sampleRate)
}

// spectrum is the scratch of a dominant-frequency analysis. A Meter keeps
// one, so that its analyses allocate nothing after the first.
type spectrum struct {
	hann []float64 // the window for len(hann) samples
	buf  []complex128
}

func (sp *spectrum) dominant(pcm []int16, sampleRate int) float64 {
	if len(pcm) > maxAnalysis {
		pcm = pcm[len(pcm)-maxAnalysis:]
	}
	n := len(pcm)
	if n < 64 || sampleRate <= 0 || LevelDBFS(pcm) < -90 {
		return 0
	}
	size := 1 << bits.Len(uint(2*n-1)) // power of two ≥ 2n
	if cap(sp.buf) < size {
		sp.buf = make([]complex128, size)
	}
	buf := sp.buf[:size]
	clear(buf[n:])
	if len(sp.hann) != n {
		sp.hann = make([]float64, n)
		for i := range sp.hann {
			sp.hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		}
	}
	var mean float64
	for _, s := range pcm {
		mean += float64(s)
	}
	mean /= float64(n)
	for i, s := range pcm {
		buf[i] = complex((float64(s)-mean)*sp.hann[i], 0)
	}
	fft(buf)
	// Ignore the lowest bins (DC leakage, < 20 Hz). The peak is found on
	// squared magnitudes (no square roots); the interpolation below is
	// the same on their logarithms.
	lo := max(2, int(20*float64(size)/float64(sampleRate)))
	best, bestPow := -1, 0.0
	for k := lo; k < size/2-1; k++ {
		if p := power(buf[k]); p > bestPow {
			best, bestPow = k, p
		}
	}
	if best < 0 || bestPow == 0 {
		return 0
	}
	a := math.Log(power(buf[best-1]) + 1e-24)
	b := math.Log(bestPow + 1e-24)
	c := math.Log(power(buf[best+1]) + 1e-24)
	delta := 0.0
	if den := a - 2*b + c; den != 0 {
		delta = 0.5 * (a - c) / den
	}
	delta = max(-0.5, min(0.5, delta))
	return (float64(best) + delta) * float64(sampleRate) / float64(size)
}

func power(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

// fft is an in-place iterative radix-2 Cooley-Tukey transform; len(x) must
// be a power of two.
func fft(x []complex128) {
	n := len(x)
	shift := 64 - uint(bits.Len(uint(n))-1)
	for i := range n {
		if j := int(bits.Reverse64(uint64(i)) >> shift); j > i {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range half {
				t := w * x[start+k+half]
				x[start+k+half] = x[start+k] - t
				x[start+k] += t
				w *= step
			}
		}
	}
}

// Reading is one Meter measurement over a window.
type Reading struct {
	LevelDBFS   float64 // RMS level, SilenceDBFS for silence
	FrequencyHz float64 // dominant frequency, 0 for silence
	Volume      int     // 0-100, for USER_VOICE_VOLUME
	Samples     int     // samples measured
}

// VolumeFromDBFS maps a level to the 0-100 volume scale TRTCCalling's
// USER_VOICE_VOLUME uses: -60 dBFS and below is 0, 0 dBFS is 100, linear in dB.
func VolumeFromDBFS(db float64) int {
	v := (db + 60) / 60 * 100
	return int(math.Round(max(0, min(100, v))))
}

// MeterAnalysis is the span of each Meter window in which the dominant
// frequency is found (its last stretch with sound in it): a tone comes out
// within 0.01 Hz over 100 ms, and the transform is a tenth of the one over
// a whole second.
const MeterAnalysis = 100 * time.Millisecond

// Meter accumulates mono frames and produces a Reading per window (e.g. one
// second, for per-second stats and USER_VOICE_VOLUME): the level of the
// whole window, the frequency of its last MeterAnalysis that is not
// silent. Safe for concurrent use.
type Meter struct {
	mu       sync.Mutex
	rate     int
	window   int
	analysis int // samples at the end of the window analysed for frequency
	buf      []int16
	spec     spectrum
	last     Reading
	have     bool
}

// NewMeter returns a meter over windows of the given duration at sampleRate.
func NewMeter(sampleRate int, window time.Duration) *Meter {
	w := max(int(int64(sampleRate)*int64(window)/int64(time.Second)), 1)
	a := min(w, int(int64(sampleRate)*int64(MeterAnalysis)/int64(time.Second)))
	return &Meter{rate: sampleRate, window: w, analysis: a, buf: make([]int16, 0, w)}
}

// Write adds a frame. When a window completes it returns its Reading and true.
func (m *Meter) Write(pcm []int16) (Reading, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var (
		out  Reading
		done bool
	)
	for len(pcm) > 0 {
		take := min(len(pcm), m.window-len(m.buf))
		m.buf = append(m.buf, pcm[:take]...)
		pcm = pcm[take:]
		if len(m.buf) == m.window {
			db := LevelDBFS(m.buf)
			out = Reading{
				LevelDBFS:   db,
				FrequencyHz: m.spec.dominant(m.soundingEnd(), m.rate),
				Volume:      VolumeFromDBFS(db),
				Samples:     len(m.buf),
			}
			m.last, m.have, done = out, true, true
			m.buf = m.buf[:0]
		}
	}
	return out, done
}

// soundingEnd returns the last MeterAnalysis of the full window that is
// not silent (the end of the window if all of it is).
func (m *Meter) soundingEnd() []int16 {
	for end := len(m.buf); end >= m.analysis; end -= m.analysis {
		if span := m.buf[end-m.analysis : end]; LevelDBFS(span) >= -90 {
			return span
		}
	}
	return m.buf[len(m.buf)-m.analysis:]
}

// Last returns the latest completed Reading, and false if none yet.
func (m *Meter) Last() (Reading, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.have
}

// Package dsp runs WebRTC's AudioProcessing module (Debian's
// libwebrtc-audio-processing 0.3, the one PulseAudio's echo-cancel uses)
// over mono int16 PCM: echo cancellation fed with what the speaker plays,
// noise suppression, adaptive digital gain and a high-pass filter.
//
// The module works on 10 ms chunks; ProcessRender and ProcessCapture take
// any whole number of them, so a call's 20 ms frames go in as they are.
// A Processor owns C++ memory: Close it.
package dsp

/*
#cgo pkg-config: webrtc-audio-processing
#cgo CXXFLAGS: -std=c++14 -O2 -Wno-deprecated-declarations
#include <stdlib.h>
#include "apm.h"
*/
import "C"

import (
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/termcall/termcall/audio"
)

// Config selects what a Processor does.
type Config struct {
	// SampleRate in Hz: a multiple of 100 between 8000 and 48000 (the
	// module resamples to its own band rates internally); 0 is 48000.
	SampleRate int
	AEC        bool // echo cancellation (needs ProcessRender)
	NS         bool // noise suppression
	AGC        bool // adaptive digital gain with a limiter
	HPF        bool // high-pass filter (removes DC and rumble)
	// AECLevel is how hard the echo suppressor works, 0 (low) to 2
	// (high): higher removes more echo and more of a near talker during
	// double talk; DefaultConfig uses 1 (moderate).
	AECLevel int
	// NSLevel is the suppression strength, 0 (low) to 3 (very high);
	// DefaultConfig uses 2 (high), WebRTC's own default for calls.
	NSLevel int
	// AGCTargetDBFS is the peak level the gain aims for, in dB below full
	// scale (1..31); 0 means 9, which leaves a talker at a normal level
	// (about -24 dBFS RMS) within a few dB and lifts a quiet one by up to
	// AGCMaxGainDB and more.
	AGCTargetDBFS int
	// AGCMaxGainDB caps the compression gain of the AGC's digital stage
	// (1..90); 0 means 9.
	AGCMaxGainDB int
}

// DefaultConfig turns everything on at 48 kHz, the call format.
func DefaultConfig() Config {
	return Config{SampleRate: 48000, AEC: true, NS: true, AGC: true, HPF: true, AECLevel: 1, NSLevel: 2}
}

// CallConfig is the processing of a call: DefaultConfig with echo
// cancellation, noise suppression and gain control switched as asked, and
// the high-pass filter on whenever any of them is. ok is false when all
// three are off: then there is nothing to run.
func CallConfig(aec, ns, agc bool) (cfg Config, ok bool) {
	cfg = DefaultConfig()
	cfg.AEC, cfg.NS, cfg.AGC = aec, ns, agc
	cfg.HPF = aec || ns || agc
	return cfg, cfg.HPF
}

func (c Config) withDefaults() Config {
	if c.SampleRate == 0 {
		c.SampleRate = 48000
	}
	if c.AGCTargetDBFS == 0 {
		c.AGCTargetDBFS = 9
	}
	if c.AGCMaxGainDB == 0 {
		c.AGCMaxGainDB = 9
	}
	return c
}

// Stats are the module's echo metrics and the levels seen since New.
type Stats struct {
	// ERLE is the module's echo return loss enhancement, dB (how much echo
	// it removed), its long-term average and the last value; both are
	// NaN until the AEC has reported (or with the AEC off).
	ERLE, ERLEInstant float64
	// ERL is the echo path's own loss (far end to microphone), dB.
	ERL float64
	// Delay is the AEC's estimate of the echo delay (-1 before it has one).
	Delay time.Duration
	// StreamDelay is the delay the last ProcessCapture was given (the
	// devices' reported latency, see Wrap), as the module takes it: in
	// whole milliseconds, 0..500.
	StreamDelay time.Duration
	// Levels in dBFS, RMS over everything processed so far (far end,
	// microphone before and after processing; audio.SilenceDBFS for none).
	FarDBFS, MicDBFS, OutDBFS float64
	// RenderChunks and CaptureChunks count 10 ms chunks processed.
	RenderChunks, CaptureChunks uint64
}

// Processor is one AudioProcessing instance. Its methods may be called
// from different goroutines (playout and capture); calls are serialized.
type Processor struct {
	cfg   Config
	chunk int

	mu       sync.Mutex
	apm      *C.tc_apm
	far, mic power
	out      power
	renderN  uint64
	captureN uint64
	delay    time.Duration // the last capture's stream delay
}

// power accumulates the energy of int16 samples for an RMS level.
type power struct {
	sum float64
	n   uint64
}

func (p *power) add(pcm []int16) {
	var s float64
	for _, v := range pcm {
		f := float64(v)
		s += f * f
	}
	p.sum += s
	p.n += uint64(len(pcm))
}

func (p power) dbfs() float64 {
	if p.n == 0 {
		return audio.SilenceDBFS
	}
	return DBFS(p.sum / float64(p.n))
}

// DBFS converts a mean square of int16 samples to a level relative to
// full scale, as audio.LevelDBFS does (a full-scale sine is about -3);
// silence is audio.SilenceDBFS.
func DBFS(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return audio.SilenceDBFS
	}
	return max(10*math.Log10(meanSquare/(32768.0*32768.0)), audio.SilenceDBFS)
}

// New creates a processor for cfg.
func New(cfg Config) (*Processor, error) {
	cfg = cfg.withDefaults()
	if cfg.SampleRate < 8000 || cfg.SampleRate > 48000 || cfg.SampleRate%100 != 0 {
		return nil, fmt.Errorf("%w: sample rate %d Hz, want a multiple of 100 in 8000..48000", ErrConfig, cfg.SampleRate)
	}
	if cfg.AECLevel < 0 || cfg.AECLevel > 2 || cfg.NSLevel < 0 || cfg.NSLevel > 3 || cfg.AGCTargetDBFS < 0 || cfg.AGCTargetDBFS > 31 ||
		cfg.AGCMaxGainDB < 0 || cfg.AGCMaxGainDB > 90 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	cc := C.tc_apm_config{
		rate: C.int(cfg.SampleRate), aec: cbool(cfg.AEC), aec_level: C.int(cfg.AECLevel), ns: cbool(cfg.NS), ns_level: C.int(cfg.NSLevel),
		agc: cbool(cfg.AGC), agc_target_dbfs: C.int(cfg.AGCTargetDBFS), agc_gain_db: C.int(cfg.AGCMaxGainDB),
		hpf: cbool(cfg.HPF),
	}
	var code C.int
	a := C.tc_apm_new(&cc, &code)
	if a == nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, &ModuleError{Op: "create", Code: int(code)})
	}
	return &Processor{cfg: cfg, chunk: cfg.SampleRate / 100, apm: a}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Config returns the configuration in use (defaults filled in).
func (p *Processor) Config() Config { return p.cfg }

// ChunkSamples is the number of samples in 10 ms, the module's unit.
func (p *Processor) ChunkSamples() int { return p.chunk }

func (p *Processor) check(pcm []int16) error {
	if len(pcm) == 0 || len(pcm)%p.chunk != 0 {
		return fmt.Errorf("%w: %d samples at %d Hz (a chunk is %d)", ErrFrameSize, len(pcm), p.cfg.SampleRate, p.chunk)
	}
	return nil
}

// ProcessRender tells the echo canceller what the speaker is about to
// play: exactly the samples written to it, in order. far is not changed.
func (p *Processor) ProcessRender(far []int16) error {
	if err := p.check(far); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return ErrClosed
	}
	p.far.add(far)
	if !p.cfg.AEC {
		return nil // nothing else uses the far end here
	}
	if code := C.tc_apm_render(p.apm, (*C.int16_t)(unsafe.Pointer(&far[0])), C.int(len(far))); code != 0 {
		return &ModuleError{Op: "render", Code: int(code)}
	}
	p.renderN += uint64(len(far) / p.chunk)
	return nil
}

// ProcessCapture processes microphone samples in place. delay is the time
// between ProcessRender of a sample and the capture of its echo (playout
// buffering plus capture buffering); the module refines it itself, so a
// rough figure does.
func (p *Processor) ProcessCapture(mic []int16, delay time.Duration) error {
	if err := p.check(mic); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return ErrClosed
	}
	p.mic.add(mic)
	// Clamped as apm.cc clamps it, so that Stats says what the module got.
	ms := min(max(delay.Milliseconds(), 0), 500)
	p.delay = time.Duration(ms) * time.Millisecond
	code := C.tc_apm_capture(p.apm, (*C.int16_t)(unsafe.Pointer(&mic[0])), C.int(len(mic)), C.int(ms))
	if code != 0 {
		return &ModuleError{Op: "capture", Code: int(code)}
	}
	p.out.add(mic)
	p.captureN += uint64(len(mic) / p.chunk)
	return nil
}

// Stats returns the echo metrics and levels so far.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{
		ERLE: math.NaN(), ERLEInstant: math.NaN(), ERL: math.NaN(), Delay: -1,
		FarDBFS: p.far.dbfs(), MicDBFS: p.mic.dbfs(), OutDBFS: p.out.dbfs(),
		RenderChunks: p.renderN, CaptureChunks: p.captureN, StreamDelay: p.delay,
	}
	if p.apm == nil || !p.cfg.AEC {
		return s
	}
	var cs C.tc_apm_stats
	C.tc_apm_stats_get(p.apm, &cs)
	// The module reports -100 for "no estimate yet".
	if cs.erle_average > -100 {
		s.ERLE = float64(cs.erle_average)
	}
	if cs.erle_instant > -100 {
		s.ERLEInstant = float64(cs.erle_instant)
	}
	if cs.erl_average > -100 {
		s.ERL = float64(cs.erl_average)
	}
	if cs.delay_median_ms >= 0 {
		s.Delay = time.Duration(cs.delay_median_ms) * time.Millisecond
	}
	return s
}

// Close frees the module. Later calls return ErrClosed.
func (p *Processor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm != nil {
		C.tc_apm_free(p.apm)
		p.apm = nil
	}
	return nil
}

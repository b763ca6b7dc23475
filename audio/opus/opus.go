// Package opus is a thin cgo wrapper over libopus for 48 kHz voice: an
// encoder with the controls a call needs (bitrate, complexity, in-band FEC,
// expected loss, DTX) and a decoder with packet-loss concealment and FEC
// recovery.
//
// Every call passes explicit lengths to C derived from the Go slice lengths,
// so libopus never writes past a slice. Encoder and Decoder are safe for
// concurrent use (a mutex serialises calls and guards Close).
package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// The ctl macros are variadic and type-checked; cgo cannot call them
// directly, so each control used gets a tiny C helper.
static int tc_enc_set_bitrate(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(v)); }
static int tc_enc_get_bitrate(OpusEncoder *e, opus_int32 *v) { return opus_encoder_ctl(e, OPUS_GET_BITRATE(v)); }
static int tc_enc_set_complexity(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(v)); }
static int tc_enc_set_inband_fec(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(v)); }
static int tc_enc_set_loss_perc(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(v)); }
static int tc_enc_set_dtx(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_DTX(v)); }
static int tc_enc_get_in_dtx(OpusEncoder *e, opus_int32 *v) { return opus_encoder_ctl(e, OPUS_GET_IN_DTX(v)); }
static int tc_dec_get_last_duration(OpusDecoder *d, opus_int32 *v) { return opus_decoder_ctl(d, OPUS_GET_LAST_PACKET_DURATION(v)); }
static int tc_dec_reset(OpusDecoder *d) { return opus_decoder_ctl(d, OPUS_RESET_STATE); }
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Application selects the encoder's tuning.
type Application int

// Encoder applications.
const (
	AppVoIP     Application = C.OPUS_APPLICATION_VOIP
	AppAudio    Application = C.OPUS_APPLICATION_AUDIO
	AppLowDelay Application = C.OPUS_APPLICATION_RESTRICTED_LOWDELAY
)

// MaxPacketSize is the largest Opus packet (RFC 6716 §3.2.1 bound for one frame
// is 1275 bytes; 1500 leaves room for multi-frame packets on one MTU).
const MaxPacketSize = 1500

// maxFrameMs is the longest frame a packet can carry (120 ms).
const maxFrameMs = 120

func validRate(rate int) bool {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

// validEncodeFrame reports whether n samples per channel is a legal Opus
// frame at rate: 2.5, 5, 10, 20, 40 or 60 ms.
func validEncodeFrame(rate, n int) bool {
	for _, tenthMs := range []int{25, 50, 100, 200, 400, 600} {
		if n*10000 == rate*tenthMs {
			return true
		}
	}
	return false
}

// validDecodeFrame reports whether n samples per channel is a whole number
// of 2.5 ms units up to 120 ms, as libopus requires for PLC and FEC.
func validDecodeFrame(rate, n int) bool {
	unit := rate / 400
	return n > 0 && n%unit == 0 && n <= rate*maxFrameMs/1000
}

// Encoder encodes 16-bit PCM into Opus packets.
type Encoder struct {
	mu       sync.Mutex
	st       *C.OpusEncoder
	rate     int
	channels int
	cleanup  runtime.Cleanup
}

// NewEncoder creates an encoder. sampleRate must be 8000, 12000, 16000, 24000
// or 48000; channels 1 or 2.
func NewEncoder(sampleRate, channels int, app Application) (*Encoder, error) {
	if !validRate(sampleRate) || (channels != 1 && channels != 2) {
		return nil, fmt.Errorf("%w: rate %d, channels %d", ErrInvalidConfig, sampleRate, channels)
	}
	switch app {
	case AppVoIP, AppAudio, AppLowDelay:
	default:
		return nil, fmt.Errorf("%w: application %d", ErrInvalidConfig, app)
	}
	var code C.int
	st := C.opus_encoder_create(C.opus_int32(sampleRate), C.int(channels), C.int(app), &code)
	if code != C.OPUS_OK || st == nil {
		return nil, codeErr("opus_encoder_create", code)
	}
	e := &Encoder{st: st, rate: sampleRate, channels: channels}
	// Safety net for a forgotten Close; Close cancels it.
	e.cleanup = runtime.AddCleanup(e, func(p *C.OpusEncoder) { C.opus_encoder_destroy(p) }, st)
	return e, nil
}

// Close frees the C encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		return nil
	}
	e.cleanup.Stop()
	C.opus_encoder_destroy(e.st)
	e.st = nil
	return nil
}

func (e *Encoder) ctl(op string, f func(*C.OpusEncoder) C.int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		return ErrClosed
	}
	return codeErr(op, f(e.st))
}

// SetBitrate sets the target bitrate in bit/s (500 to 512000).
func (e *Encoder) SetBitrate(bps int) error {
	if bps < 500 || bps > 512000 {
		return fmt.Errorf("opus: bitrate %d: %w", bps, ErrBadArg)
	}
	return e.ctl("set bitrate", func(st *C.OpusEncoder) C.int { return C.tc_enc_set_bitrate(st, C.opus_int32(bps)) })
}

// Bitrate returns the encoder's current bitrate in bit/s.
func (e *Encoder) Bitrate() (int, error) {
	var v C.opus_int32
	err := e.ctl("get bitrate", func(st *C.OpusEncoder) C.int { return C.tc_enc_get_bitrate(st, &v) })
	return int(v), err
}

// SetComplexity sets the computational complexity, 0 (fastest) to 10.
func (e *Encoder) SetComplexity(c int) error {
	if c < 0 || c > 10 {
		return fmt.Errorf("opus: complexity %d: %w", c, ErrBadArg)
	}
	return e.ctl("set complexity", func(st *C.OpusEncoder) C.int { return C.tc_enc_set_complexity(st, C.opus_int32(c)) })
}

// SetInbandFEC turns in-band forward error correction on or off. FEC only
// takes effect with a non-zero SetPacketLossPerc.
func (e *Encoder) SetInbandFEC(on bool) error {
	return e.ctl("set inband fec", func(st *C.OpusEncoder) C.int { return C.tc_enc_set_inband_fec(st, C.opus_int32(b2i(on))) })
}

// SetPacketLossPerc tells the encoder the expected packet loss (0-100 %).
func (e *Encoder) SetPacketLossPerc(pct int) error {
	if pct < 0 || pct > 100 {
		return fmt.Errorf("opus: packet loss %d%%: %w", pct, ErrBadArg)
	}
	return e.ctl("set packet loss", func(st *C.OpusEncoder) C.int { return C.tc_enc_set_loss_perc(st, C.opus_int32(pct)) })
}

// SetDTX turns discontinuous transmission on or off. With DTX, frames of
// silence encode to packets of at most 2 bytes that need not be sent.
func (e *Encoder) SetDTX(on bool) error {
	return e.ctl("set dtx", func(st *C.OpusEncoder) C.int { return C.tc_enc_set_dtx(st, C.opus_int32(b2i(on))) })
}

// InDTX reports whether the last encoded frame was in DTX (silence) state.
func (e *Encoder) InDTX() (bool, error) {
	var v C.opus_int32
	err := e.ctl("get in dtx", func(st *C.OpusEncoder) C.int { return C.tc_enc_get_in_dtx(st, &v) })
	return v != 0, err
}

// Encode encodes one frame. len(pcm) must be channels times a legal frame
// size (2.5, 5, 10, 20, 40 or 60 ms). It returns the number of bytes written
// to out; a result of 2 bytes or less marks a DTX frame that need not be sent.
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		return 0, ErrClosed
	}
	if len(pcm)%e.channels != 0 || !validEncodeFrame(e.rate, len(pcm)/e.channels) {
		return 0, fmt.Errorf("%w: %d samples at %d Hz, %d channel(s)", ErrFrameSize, len(pcm), e.rate, e.channels)
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("opus: encode: %w", ErrBufferTooSmall)
	}
	outLen := min(len(out), 1<<30)
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/e.channels),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(outLen))
	if n < 0 {
		return 0, codeErr("opus_encode", n)
	}
	return int(n), nil
}

// Decoder decodes Opus packets into 16-bit PCM.
type Decoder struct {
	mu       sync.Mutex
	st       *C.OpusDecoder
	rate     int
	channels int
	cleanup  runtime.Cleanup
}

// NewDecoder creates a decoder for the given output rate and channel count.
func NewDecoder(sampleRate, channels int) (*Decoder, error) {
	if !validRate(sampleRate) || (channels != 1 && channels != 2) {
		return nil, fmt.Errorf("%w: rate %d, channels %d", ErrInvalidConfig, sampleRate, channels)
	}
	var code C.int
	st := C.opus_decoder_create(C.opus_int32(sampleRate), C.int(channels), &code)
	if code != C.OPUS_OK || st == nil {
		return nil, codeErr("opus_decoder_create", code)
	}
	d := &Decoder{st: st, rate: sampleRate, channels: channels}
	d.cleanup = runtime.AddCleanup(d, func(p *C.OpusDecoder) { C.opus_decoder_destroy(p) }, st)
	return d, nil
}

// Close frees the C decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return nil
	}
	d.cleanup.Stop()
	C.opus_decoder_destroy(d.st)
	d.st = nil
	return nil
}

// decode runs opus_decode with fec and a frame size taken from len(pcm).
func (d *Decoder) decode(op string, packet []byte, pcm []int16, fec bool, exact bool) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return 0, ErrClosed
	}
	if len(pcm) == 0 || len(pcm)%d.channels != 0 {
		return 0, fmt.Errorf("%w: pcm buffer of %d samples for %d channel(s)", ErrFrameSize, len(pcm), d.channels)
	}
	frame := len(pcm) / d.channels
	if exact && !validDecodeFrame(d.rate, frame) {
		return 0, fmt.Errorf("%w: %s needs a multiple of 2.5 ms up to 120 ms, got %d samples", ErrFrameSize, op, frame)
	}
	// Cap at 120 ms: libopus never needs more, and the cap keeps C.int in range.
	frame = min(frame, d.rate*maxFrameMs/1000)
	var data *C.uchar
	if len(packet) > 0 {
		if len(packet) > 1<<20 {
			return 0, fmt.Errorf("%s: packet of %d bytes: %w", op, len(packet), ErrInvalidPacket)
		}
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	n := C.opus_decode(d.st, data, C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(frame), C.int(b2i(fec)))
	if n < 0 {
		return 0, codeErr(op, n)
	}
	return int(n), nil
}

// Decode decodes one packet into pcm and returns the number of samples per
// channel written. pcm must have room for the packet's duration (120 ms of
// samples accepts any packet). An empty packet is an error: call DecodePLC.
func (d *Decoder) Decode(packet []byte, pcm []int16) (int, error) {
	if len(packet) == 0 {
		return 0, ErrEmptyPacket
	}
	return d.decode("opus_decode", packet, pcm, false, false)
}

// DecodePLC conceals one lost frame: it fills all of pcm, whose length sets
// the duration to conceal (a multiple of 2.5 ms, e.g. 960 samples for 20 ms
// mono at 48 kHz), and returns the samples per channel written.
func (d *Decoder) DecodePLC(pcm []int16) (int, error) {
	return d.decode("opus plc", nil, pcm, false, true)
}

// DecodeFEC recovers the frame lost just before packet from the in-band FEC
// data packet carries. len(pcm) must be the lost frame's duration. When
// packet has no FEC data libopus falls back to concealment, so the call
// still yields audio. Decode packet itself afterwards as usual.
func (d *Decoder) DecodeFEC(packet []byte, pcm []int16) (int, error) {
	if len(packet) == 0 {
		return d.DecodePLC(pcm)
	}
	return d.decode("opus fec", packet, pcm, true, true)
}

// LastPacketDuration returns the samples per channel of the last decoded or
// concealed frame.
func (d *Decoder) LastPacketDuration() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return 0, ErrClosed
	}
	var v C.opus_int32
	if err := codeErr("get last packet duration", C.tc_dec_get_last_duration(d.st, &v)); err != nil {
		return 0, err
	}
	return int(v), nil
}

// Reset returns the decoder to its initial state, e.g. after a stream restart.
func (d *Decoder) Reset() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return ErrClosed
	}
	return codeErr("reset", C.tc_dec_reset(d.st))
}

// PacketSamples returns the number of samples per channel packet decodes to
// at sampleRate, or an error for a malformed packet.
func PacketSamples(packet []byte, sampleRate int) (int, error) {
	if len(packet) == 0 {
		return 0, ErrEmptyPacket
	}
	if !validRate(sampleRate) {
		return 0, fmt.Errorf("%w: rate %d", ErrInvalidConfig, sampleRate)
	}
	if len(packet) > 1<<20 {
		return 0, fmt.Errorf("packet samples: %w", ErrInvalidPacket)
	}
	n := C.opus_packet_get_nb_samples((*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)), C.opus_int32(sampleRate))
	if n < 0 {
		return 0, codeErr("packet samples", n)
	}
	return int(n), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

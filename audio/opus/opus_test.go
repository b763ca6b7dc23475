package opus

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/audio"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const rate = 48000

func newEnc(t testing.TB, fec bool) *Encoder {
	t.Helper()
	e, err := NewEncoder(rate, 1, AppVoIP)
	if err != nil {
		t.Fatalf("NewEncoder: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	must(t, e.SetBitrate(32000))
	must(t, e.SetComplexity(10))
	must(t, e.SetInbandFEC(fec))
	if fec {
		must(t, e.SetPacketLossPerc(20))
	}
	return e
}

func newDec(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder(rate, 1)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// toneFrames returns n frames of frameSamples of a hz tone at half scale.
func toneFrames(t testing.TB, hz float64, n, frameSamples int) [][]int16 {
	t.Helper()
	tone, err := audio.NewTone(audio.DefaultFormat(), hz, 0.5)
	must(t, err)
	out := make([][]int16, n)
	for i := range out {
		out[i] = make([]int16, frameSamples)
		must(t, tone.ReadFrame(out[i]))
	}
	return out
}

func TestRoundTripTone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hz    float64
		frame int
	}{
		{"440Hz-20ms", 440, 960},
		{"880Hz-20ms", 880, 960},
		{"440Hz-10ms", 440, 480},
		{"880Hz-10ms", 880, 480},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, dec := newEnc(t, true), newDec(t)
			frames := toneFrames(t, tc.hz, rate/tc.frame, tc.frame) // 1 s
			var in, out []int16
			pkt := make([]byte, MaxPacketSize)
			pcm := make([]int16, tc.frame)
			for i, f := range frames {
				n, err := enc.Encode(f, pkt)
				must(t, err)
				if n < 3 {
					t.Fatalf("frame %d: %d-byte packet for a tone", i, n)
				}
				got, err := dec.Decode(pkt[:n], pcm)
				must(t, err)
				if got != tc.frame {
					t.Fatalf("decoded %d samples, want %d", got, tc.frame)
				}
				if i*tc.frame >= rate/5 { // skip 200 ms of codec warm-up
					in = append(in, f...)
					out = append(out, pcm...)
				}
			}
			freq := audio.DominantFrequency(out, rate)
			if math.Abs(freq-tc.hz)/tc.hz > 0.01 {
				t.Errorf("decoded frequency %.2f Hz, want %.0f ± 1 %%", freq, tc.hz)
			}
			lin, lout := audio.LevelDBFS(in), audio.LevelDBFS(out)
			if math.Abs(lin-lout) > 3 {
				t.Errorf("level %.2f dBFS in, %.2f dBFS out: differ by more than 3 dB", lin, lout)
			}
			t.Logf("freq %.2f Hz, level in %.2f out %.2f dBFS", freq, lin, lout)
		})
	}
}

// TestFEC loses the first frame of a frequency change and recovers it from
// the next packet: FEC must give the new frequency, which PLC (extrapolating
// the old one) could not.
func TestFEC(t *testing.T) {
	enc := newEnc(t, true)
	const frame, lost = 960, 30
	frames := append(toneFrames(t, 440, lost, frame), toneFrames(t, 880, 20, frame)...)
	pkts := make([][]byte, len(frames))
	for i, f := range frames {
		buf := make([]byte, MaxPacketSize)
		n, err := enc.Encode(f, buf)
		must(t, err)
		pkts[i] = buf[:n]
	}

	decodeUpTo := func(d *Decoder) {
		pcm := make([]int16, frame)
		for i := range lost {
			_, err := d.Decode(pkts[i], pcm)
			must(t, err)
		}
	}
	fecDec, plcDec := newDec(t), newDec(t)
	decodeUpTo(fecDec)
	decodeUpTo(plcDec)

	rec := make([]int16, frame)
	n, err := fecDec.DecodeFEC(pkts[lost+1], rec)
	must(t, err)
	if n != frame {
		t.Fatalf("FEC gave %d samples, want %d", n, frame)
	}
	plc := make([]int16, frame)
	_, err = plcDec.DecodePLC(plc)
	must(t, err)

	// The 20 ms frame is short, so allow 3 %; 440 vs 880 is 100 % apart.
	fecHz := audio.DominantFrequency(rec, rate)
	plcHz := audio.DominantFrequency(plc, rate)
	t.Logf("recovered frame: FEC %.1f Hz %.1f dBFS; PLC %.1f Hz %.1f dBFS",
		fecHz, audio.LevelDBFS(rec), plcHz, audio.LevelDBFS(plc))
	if math.Abs(fecHz-880)/880 > 0.03 {
		t.Errorf("FEC-recovered frame at %.1f Hz, want 880 Hz (the lost frame's tone)", fecHz)
	}
	if audio.LevelDBFS(rec) < -20 {
		t.Errorf("FEC-recovered frame too quiet: %.1f dBFS", audio.LevelDBFS(rec))
	}
	// The stream goes on normally after recovery.
	pcm := make([]int16, frame)
	_, err = fecDec.Decode(pkts[lost+1], pcm)
	must(t, err)
	if hz := audio.DominantFrequency(pcm, rate); math.Abs(hz-880)/880 > 0.03 {
		t.Errorf("frame after recovery at %.1f Hz, want 880", hz)
	}
}

func TestPLC(t *testing.T) {
	enc, dec := newEnc(t, false), newDec(t)
	pkt := make([]byte, MaxPacketSize)
	pcm := make([]int16, 960)
	for _, f := range toneFrames(t, 440, 25, 960) {
		n, err := enc.Encode(f, pkt)
		must(t, err)
		_, err = dec.Decode(pkt[:n], pcm)
		must(t, err)
	}
	for i := range 3 {
		n, err := dec.DecodePLC(pcm)
		must(t, err)
		if n != 960 {
			t.Fatalf("PLC frame %d: %d samples, want 960", i, n)
		}
		if i == 0 {
			if lvl := audio.LevelDBFS(pcm); lvl < -30 {
				t.Errorf("first PLC frame after a tone is %.1f dBFS; concealment should continue it", lvl)
			}
			if hz := audio.DominantFrequency(pcm, rate); math.Abs(hz-440)/440 > 0.05 {
				t.Errorf("first PLC frame at %.1f Hz, want about 440", hz)
			}
		}
	}
	if d, err := dec.LastPacketDuration(); err != nil || d != 960 {
		t.Errorf("LastPacketDuration = %d, %v; want 960", d, err)
	}
	// 10 ms concealment also works.
	if n, err := dec.DecodePLC(pcm[:480]); err != nil || n != 480 {
		t.Errorf("10 ms PLC: %d, %v", n, err)
	}
}

func TestDTX(t *testing.T) {
	enc := newEnc(t, true)
	must(t, enc.SetDTX(true))
	pkt := make([]byte, MaxPacketSize)
	silence := make([]int16, 960)
	small, total := 0, 0
	for i := range 100 { // 2 s of silence
		n, err := enc.Encode(silence, pkt)
		must(t, err)
		if i >= 25 {
			total++
			if n <= 2 {
				small++
			}
		}
	}
	inDTX, err := enc.InDTX()
	must(t, err)
	t.Logf("DTX: %d of %d silent packets ≤ 2 bytes, in DTX %v", small, total, inDTX)
	if small < total*8/10 {
		t.Errorf("only %d of %d silent frames were DTX packets (≤ 2 bytes)", small, total)
	}
	if !inDTX {
		t.Error("encoder not in DTX after 2 s of silence")
	}
	// Speech (a tone) leaves DTX at once.
	for i, f := range toneFrames(t, 440, 3, 960) {
		n, err := enc.Encode(f, pkt)
		must(t, err)
		if i > 0 && n <= 2 {
			t.Errorf("tone frame %d encoded as %d-byte DTX packet", i, n)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewEncoder(44100, 1, AppVoIP); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("44.1 kHz encoder: %v, want ErrInvalidConfig", err)
	}
	if _, err := NewEncoder(rate, 3, AppVoIP); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("3 channels: %v, want ErrInvalidConfig", err)
	}
	if _, err := NewEncoder(rate, 1, Application(7)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad application: %v, want ErrInvalidConfig", err)
	}
	if _, err := NewDecoder(11025, 1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("11.025 kHz decoder: %v, want ErrInvalidConfig", err)
	}
	enc, dec := newEnc(t, false), newDec(t)
	pkt := make([]byte, MaxPacketSize)
	for _, n := range []int{0, 100, 959, 961, 1920 * 2} {
		if _, err := enc.Encode(make([]int16, n), pkt); !errors.Is(err, ErrFrameSize) {
			t.Errorf("Encode %d samples: %v, want ErrFrameSize", n, err)
		}
	}
	if _, err := enc.Encode(make([]int16, 960), nil); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Encode into nil: %v, want ErrBufferTooSmall", err)
	}
	if err := enc.SetBitrate(10); !errors.Is(err, ErrBadArg) {
		t.Errorf("SetBitrate(10): %v", err)
	}
	if err := enc.SetComplexity(11); !errors.Is(err, ErrBadArg) {
		t.Errorf("SetComplexity(11): %v", err)
	}
	if _, err := dec.Decode(nil, make([]int16, 960)); !errors.Is(err, ErrEmptyPacket) {
		t.Errorf("Decode(nil): %v, want ErrEmptyPacket", err)
	}
	if _, err := dec.DecodePLC(make([]int16, 100)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("PLC of 100 samples: %v, want ErrFrameSize", err)
	}
	if _, err := dec.Decode([]byte{0xff, 0xff, 0xff}, make([]int16, 5760)); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("garbage packet: %v, want ErrInvalidPacket", err)
	}
	// A 60 ms packet does not fit a 20 ms buffer: an error, not an overflow.
	enc60 := newEnc(t, false)
	n, err := enc60.Encode(make([]int16, 2880), pkt)
	must(t, err)
	pcm := make([]int16, 3000)
	for i := range pcm {
		pcm[i] = 12345
	}
	if _, err := dec.Decode(pkt[:n], pcm[:960]); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("60 ms packet into 20 ms: %v, want ErrBufferTooSmall", err)
	}
	for i := 960; i < len(pcm); i++ {
		if pcm[i] != 12345 {
			t.Fatalf("decoder wrote past the slice length at %d", i)
		}
	}
	if got, err := PacketSamples(pkt[:n], rate); err != nil || got != 2880 {
		t.Errorf("PacketSamples = %d, %v; want 2880", got, err)
	}

	must(t, enc.Close())
	must(t, enc.Close())
	if _, err := enc.Encode(make([]int16, 960), pkt); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
	must(t, dec.Close())
	if _, err := dec.DecodePLC(make([]int16, 960)); !errors.Is(err, ErrClosed) {
		t.Errorf("PLC after Close: %v", err)
	}
}

// TestConcurrentClose checks the mutex: Close racing Decode must not crash.
func TestConcurrentClose(t *testing.T) {
	dec, err := NewDecoder(rate, 1)
	must(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pcm := make([]int16, 960)
		for range 1000 {
			if _, err := dec.DecodePLC(pcm); errors.Is(err, ErrClosed) {
				return
			}
		}
	}()
	must(t, dec.Close())
	<-done
}

func FuzzOpusDecode(f *testing.F) {
	// Seeds: real packets (tone, silence, 10 ms, 60 ms) plus odd TOC bytes.
	enc, err := NewEncoder(rate, 1, AppVoIP)
	if err != nil {
		f.Fatal(err)
	}
	defer enc.Close()
	_ = enc.SetInbandFEC(true)
	_ = enc.SetPacketLossPerc(10)
	pkt := make([]byte, MaxPacketSize)
	for i, fr := range toneFrames(f, 440, 5, 960) {
		n, err := enc.Encode(fr, pkt)
		if err != nil {
			f.Fatal(err)
		}
		if i >= 3 {
			f.Add(append([]byte(nil), pkt[:n]...))
		}
	}
	n, _ := enc.Encode(make([]int16, 480), pkt)
	f.Add(append([]byte(nil), pkt[:n]...))
	n, _ = enc.Encode(make([]int16, 2880), pkt)
	f.Add(append([]byte(nil), pkt[:n]...))
	for _, s := range [][]byte{{0x00}, {0xfc, 0xff, 0xfe}, {0x03, 0x3f}, {0x0b, 0x81, 0x00}, {0xff}} {
		f.Add(s)
	}
	good := make([]byte, MaxPacketSize)
	gn, err := enc.Encode(toneFrames(f, 440, 1, 960)[0], good)
	if err != nil {
		f.Fatal(err)
	}
	good = good[:gn]

	dec, err := NewDecoder(rate, 1)
	if err != nil {
		f.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, 5760+64)
	f.Fuzz(func(t *testing.T, data []byte) {
		for i := 5760; i < len(pcm); i++ {
			pcm[i] = 0x5a5a
		}
		if n, err := dec.Decode(data, pcm[:5760]); err == nil && (n < 0 || n > 5760) {
			t.Fatalf("Decode returned %d samples", n)
		}
		if _, err := dec.DecodeFEC(data, pcm[:960]); err != nil && !isOpusErr(err) {
			t.Fatalf("DecodeFEC: unexpected error type %v", err)
		}
		_, _ = PacketSamples(data, rate)
		for i := 5760; i < len(pcm); i++ {
			if pcm[i] != 0x5a5a {
				t.Fatalf("decoder wrote past the slice at %d", i)
			}
		}
		// The decoder stays usable after garbage.
		if n, err := dec.Decode(good, pcm[:960]); err != nil || n != 960 {
			t.Fatalf("valid packet after garbage: %d, %v", n, err)
		}
	})
}

func isOpusErr(err error) bool {
	var oe Error
	return errors.As(err, &oe) || errors.Is(err, ErrFrameSize) || errors.Is(err, ErrEmptyPacket)
}

func BenchmarkOpusEncode20ms(b *testing.B) {
	enc := newEnc(b, true)
	frames := toneFrames(b, 440, 50, 960)
	pkt := make([]byte, MaxPacketSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := enc.Encode(frames[i%len(frames)], pkt); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkOpusDecode20ms(b *testing.B) {
	enc, dec := newEnc(b, true), newDec(b)
	frames := toneFrames(b, 440, 50, 960)
	pkts := make([][]byte, len(frames))
	for i, f := range frames {
		buf := make([]byte, MaxPacketSize)
		n, err := enc.Encode(f, buf)
		if err != nil {
			b.Fatal(err)
		}
		pkts[i] = buf[:n]
	}
	pcm := make([]int16, 960)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(pkts[i%len(pkts)], pcm); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

package media

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/jitter"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/vp8"
)

// packets splits fuzz input into RTP datagrams: each is a 2-byte length
// and that many bytes, as a network would deliver them.
func packets(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 && len(out) < 64 {
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func frame(pkts [][]byte) []byte {
	var b []byte
	for _, p := range pkts {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b
}

// realVideoPackets encodes pattern frames and packetizes them as the
// sender does, for seeds.
func realVideoPackets(t testing.TB, frames int) [][]byte {
	t.Helper()
	enc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pat, err := video.NewPattern(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	pk := rtp.NewPacketizer(rtpMTU, 96, 1234, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(100), 90000)
	var out [][]byte
	for i := range frames {
		data, _, err := enc.Encode(pat.Frame(i), int64(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pk.Packetize(data, 6000) {
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// FuzzVideoReceiver feeds arbitrary datagrams through RTP parsing, VP8
// depacketizing, keyframe gating and decoding: nothing may panic.
func FuzzVideoReceiver(f *testing.F) {
	real := realVideoPackets(f, 4)
	f.Add(frame(real))
	f.Add(frame(real[1:]))                                                                                            // keyframe start lost
	f.Add(frame([][]byte{real[len(real)-1], real[0]}))                                                                // reordered
	f.Add(frame([][]byte{{0x80, 0x60, 0, 1, 0, 0, 0, 1}}))                                                            // header only
	f.Add(frame([][]byte{append(real[0][:12:12], 0x90, 0x80, 0x80, 0x01, 0x9d, 0x01, 0x2a, 0xff, 0x7f, 0xff, 0x7f)})) // forged 16383x16383 keyframe
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small size limit keeps each exec fast: libvpx takes its time
		// on garbage that claims a big picture (the limit's own check is
		// tested in video/vp8).
		dec, err := vp8.NewDecoder(vp8.DecoderConfig{MaxWidth: 320, MaxHeight: 240})
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		vr := newVideoReceiver(dec)
		for _, b := range packets(data) {
			var p rtp.Packet
			if p.Unmarshal(b) != nil {
				continue
			}
			vr.push(&p, func(fr *video.Frame, _ bool, res frameResult) {
				if res == frameDecoded && (fr == nil || fr.Validate() != nil) {
					t.Fatalf("decoded an invalid frame: %+v", fr)
				}
			})
		}
	})
}

// FuzzAudioRTP feeds arbitrary datagrams through RTP parsing, the jitter
// buffer and the Opus decoder with FEC and PLC: nothing may panic, and
// every frame played has the right size.
func FuzzAudioRTP(f *testing.F) {
	tone, err := audio.NewTone(audio.DefaultFormat(), 440, 0.5)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := newOpusEncoder(32000)
	if err != nil {
		f.Fatal(err)
	}
	pk := rtp.NewPacketizer(rtpMTU, 111, 99, &codecs.OpusPayloader{}, rtp.NewFixedSequencer(65530), 48000)
	var real [][]byte
	pcm := make([]int16, 960)
	out := make([]byte, 1500)
	for range 10 {
		_ = tone.ReadFrame(pcm)
		n, err := enc.Encode(pcm, out)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range pk.Packetize(out[:n], 960) {
			b, _ := p.Marshal()
			real = append(real, b)
		}
	}
	_ = enc.Close()
	f.Add(frame(real))
	f.Add(frame([][]byte{real[3], real[1], real[2], real[2]}))
	f.Add(frame([][]byte{{0x80, 0x6f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0xfc}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := jitter.NewDecoder(jitter.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		now := time.Unix(0, 0)
		buf := make([]int16, dec.FrameSamples())
		for _, b := range packets(data) {
			var p rtp.Packet
			if p.Unmarshal(b) != nil {
				continue
			}
			dec.Push(p.SequenceNumber, p.Timestamp, p.Payload, now)
			now = now.Add(20 * time.Millisecond)
			if _, err := dec.Pop(now, buf); err != nil {
				t.Fatalf("pop: %v", err)
			}
		}
	})
}

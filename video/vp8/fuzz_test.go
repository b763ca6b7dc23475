package vp8

import (
	"testing"

	"github.com/termcall/termcall/video"
)

// encodeSeeds returns a keyframe and two interframes of a small pattern.
func encodeSeeds(t testing.TB) (key, inter1, inter2 []byte) {
	t.Helper()
	p, err := video.NewPattern(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(EncoderConfig{Width: 64, Height: 48, BitrateKbps: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out [3][]byte
	for i := range out {
		if out[i], _, err = enc.Encode(p.Frame(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1], out[2]
}

// FuzzVP8Decode feeds arbitrary packets to a decoder that has seen a valid
// keyframe (so interframe paths run too), then checks that the decoder
// still decodes a valid keyframe. Any panic or crash fails.
func FuzzVP8Decode(f *testing.F) {
	key, inter1, inter2 := encodeSeeds(f)
	f.Add(key)
	f.Add(inter1)
	f.Add(inter2)
	f.Add(forgedKeyframe(16383, 16383, 1200))
	f.Add(forgedKeyframe(1920, 1080, 64))
	f.Add(key[:len(key)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(DecoderConfig{MaxWidth: 640, MaxHeight: 480})
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		if _, err := dec.Decode(key); err != nil {
			t.Fatalf("seed keyframe: %v", err)
		}
		if fr, err := dec.Decode(data); err == nil {
			if fr.Width <= 0 || fr.Height <= 0 || fr.Width > 640 || fr.Height > 480 ||
				len(fr.Y) < fr.Width*fr.Height {
				t.Fatalf("decoded bogus frame %dx%d", fr.Width, fr.Height)
			}
		}
		fr, err := dec.Decode(key)
		if err != nil {
			t.Fatalf("valid keyframe after fuzz input: %v", err)
		}
		if fr.Width != 64 || fr.Height != 48 {
			t.Fatalf("keyframe decoded to %dx%d", fr.Width, fr.Height)
		}
	})
}

package video

import (
	"bytes"
	"context"
	"testing"
)

// FuzzY4M feeds arbitrary files to the Y4M reader: errors are fine,
// panics and frames of the wrong size are not.
func FuzzY4M(f *testing.F) {
	p, _ := NewPattern(32, 24)
	var good bytes.Buffer
	if err := WriteY4M(&good, 15, p.Frame(0), p.Frame(1)); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte("YUV4MPEG2 W2 H2 C420\nFRAME\n\x00\x01\x02\x03\x04\x05"))
	f.Add([]byte("YUV4MPEG2 W4 H4 C444\n"))
	f.Add([]byte("YUV4MPEG2 W16383 H16383\nFRAME\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		y, err := NewY4M(bytes.NewReader(data))
		if err != nil {
			return
		}
		w, h := y.Size()
		for i := 0; i < 4; i++ {
			fr, err := y.ReadFrame(context.Background())
			if err != nil {
				return
			}
			if fr.Width != w || fr.Height != h || fr.Validate() != nil {
				t.Fatalf("frame %dx%d from a %dx%d header", fr.Width, fr.Height, w, h)
			}
		}
	})
}

package media

import (
	"context"
	"testing"
	"time"

	"github.com/termcall/termcall/video"
)

func TestAudioEchoDelays(t *testing.T) {
	e := NewAudioEcho(60*time.Millisecond, 20*time.Millisecond) // 3 frames
	out := make([]int16, 4)
	var got []int16
	for i := int16(1); i <= 8; i++ {
		if err := e.WriteFrame([]int16{i, i, i, i}); err != nil {
			t.Fatal(err)
		}
		if err := e.ReadFrame(out); err != nil {
			t.Fatal(err)
		}
		got = append(got, out[0])
	}
	// Three frames of silence while the line fills, then 1, 2, 3...
	want := []int16{0, 0, 1, 2, 3, 4, 5, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("echo order %v, want %v", got, want)
		}
	}
}

func TestVideoMirrorFlips(t *testing.T) {
	pat, err := video.NewPattern(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	m := NewVideoMirror(pat)
	f, err := m.ReadFrame(context.Background())
	if err != nil || f.Width != 64 {
		t.Fatalf("fallback frame %v %v", f, err)
	}
	src := pat.Frame(0)
	if err := m.WriteFrame(src); err != nil {
		t.Fatal(err)
	}
	got, _ := m.ReadFrame(context.Background())
	for y := range src.Height {
		for x := range src.Width {
			if a, b := got.At(x, y), src.At(src.Width-1-x, y); a != b {
				t.Fatalf("pixel (%d,%d) = %v, want mirrored %v", x, y, a, b)
			}
		}
	}
}

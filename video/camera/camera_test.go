package camera

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/video"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConvertYUYV(t *testing.T) {
	// 4x2 picture, stride 10 (2 bytes of padding per row).
	src := []byte{
		10, 100, 20, 200, 30, 110, 40, 210, 0, 0,
		50, 102, 60, 202, 70, 113, 80, 212, 0, 0,
	}
	f := video.NewFrame(4, 2)
	if !ConvertYUYV(f, src, 10) {
		t.Fatal("conversion refused")
	}
	if string(f.Y) != string([]byte{10, 20, 30, 40, 50, 60, 70, 80}) {
		t.Fatalf("Y %v", f.Y)
	}
	if string(f.U) != string([]byte{101, 112}) || string(f.V) != string([]byte{201, 211}) {
		t.Fatalf("U %v V %v", f.U, f.V)
	}
	// Odd height: the last chroma row comes from one source row.
	f3 := video.NewFrame(2, 3)
	if !ConvertYUYV(f3, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4) || f3.U[1] != 10 || f3.V[1] != 12 {
		t.Fatalf("odd height: U %v V %v", f3.U, f3.V)
	}
	if ConvertYUYV(video.NewFrame(4, 2), src[:15], 10) {
		t.Fatal("short buffer accepted")
	}
	if ConvertYUYV(video.NewFrame(3, 2), src, 10) {
		t.Fatal("odd width accepted")
	}
	if ConvertYUYV(video.NewFrame(4, 2), src, 6) {
		t.Fatal("stride below 2*width accepted")
	}
}

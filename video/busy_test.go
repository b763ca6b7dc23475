package video

import (
	"context"
	"testing"
)

// Busy frames move and change every frame (so an encoder cannot skip
// them), and follow SetSize.
func TestBusyMovesAndResizes(t *testing.T) {
	b, err := NewBusy(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f1, _ := b.ReadFrame(ctx)
	f2, _ := b.ReadFrame(ctx)
	if f1.Width != 320 || f1.Height != 240 || f1.Validate() != nil {
		t.Fatalf("frame %dx%d: %v", f1.Width, f1.Height, f1.Validate())
	}
	same := 0
	for i := range f1.Y {
		if f1.Y[i] == f2.Y[i] {
			same++
		}
	}
	if same > len(f1.Y)/4 {
		t.Errorf("%d of %d luma samples unchanged between frames: not busy", same, len(f1.Y))
	}
	b.SetSize(160, 120)
	if f, _ := b.ReadFrame(ctx); f.Width != 160 || f.Height != 120 {
		t.Errorf("after SetSize(160, 120) the frame is %dx%d", f.Width, f.Height)
	}
	b.SetSize(15, 3) // refused
	if w, h := b.Size(); w != 160 || h != 120 {
		t.Errorf("a bad SetSize changed the size to %dx%d", w, h)
	}
	if s, err := ParseInput("pattern:busy"); err != nil || s.Kind != InputBusy || s.String() != "pattern:busy" {
		t.Errorf("ParseInput(pattern:busy) = %+v, %v", s, err)
	}
}

package video

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPump(t *testing.T) {
	p, _ := NewPattern(64, 48)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int
	var pts []int64
	done := make(chan error, 1)
	go func() {
		done <- Pump(ctx, p, 100, func(f *Frame, n int64) error {
			got = append(got, PatternCounter(f))
			pts = append(pts, n)
			if len(got) == 5 {
				cancel()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != context.Canceled {
		t.Fatal("pump stopped before 5 frames (deadline hit)")
	}
	for i := range got {
		if got[i] != i || (i == 0 && pts[0] != 0) || (i > 0 && pts[i] <= pts[i-1]) {
			t.Fatalf("frame %d: counter %d pts %d", i, got[i], pts[i])
		}
	}
	stop := errors.New("stop")
	err := Pump(context.Background(), p, 15, func(*Frame, int64) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("fn error not returned: %v", err)
	}
	if err := Pump(context.Background(), p, 0, nil); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("fps 0: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := NewFrame(5, 3).Validate(); err != nil {
		t.Fatal(err)
	}
	f := NewFrame(16, 16)
	f.V = f.V[:10]
	if err := f.Validate(); !errors.Is(err, ErrBadSize) {
		t.Fatalf("short V: %v", err)
	}
	f = NewFrame(16, 16)
	f.YStride = 8
	if err := f.Validate(); !errors.Is(err, ErrBadSize) {
		t.Fatalf("narrow stride: %v", err)
	}
	if err := (*Frame)(nil).Validate(); !errors.Is(err, ErrBadSize) {
		t.Fatal("nil frame valid")
	}
	if err := NewFrame(0, 0).Validate(); !errors.Is(err, ErrBadSize) {
		t.Fatal("empty frame valid")
	}
}

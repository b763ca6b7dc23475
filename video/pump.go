package video

import (
	"context"
	"fmt"
	"time"
)

// Pump reads frames from src at fps and hands each to fn with its
// presentation time in units of 1/fps s since the start: 0, 1, 2... with
// gaps where ticks were skipped, so timestamps follow the wall clock. The first frame is
// read at once, not one tick later, so media starts as soon as the call is
// connected. A slow fn makes Pump skip ticks rather than queue them. Pump
// returns nil when ctx ends, or the first error from src or fn.
func Pump(ctx context.Context, src Source, fps int, fn func(f *Frame, pts int64) error) error {
	if fps <= 0 || fps > 240 {
		return fmt.Errorf("%w: fps %d", ErrBadSpec, fps)
	}
	period := time.Second / time.Duration(fps)
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	for pts := int64(0); ; {
		f, err := src.ReadFrame(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("video: read frame: %w", err)
		}
		if err := fn(f, pts); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pts = max(pts+1, int64((time.Since(start)+period/2)/period))
	}
}

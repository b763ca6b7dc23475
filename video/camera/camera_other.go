//go:build !linux

package camera

import (
	"fmt"

	"github.com/termcall/termcall/video"
)

// Opener has the signature video.WithCamera expects; capture is Linux-only.
func Opener(path string, cfg video.Config) (video.Source, error) {
	return nil, fmt.Errorf("%w: %s: V4L2 capture needs Linux; use --video-in pattern or --video-in y4m:FILE", video.ErrCameraUnsupported, path)
}

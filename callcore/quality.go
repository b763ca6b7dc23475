package callcore

import (
	"fmt"
	"strings"
)

// VideoQuality names a sending profile, as TRTCCalling's setVideoQuality
// takes it: "120p" .. "720p". The bandwidth estimate and the size the
// receivers show still cap what is sent; the profile is the most.
type VideoQuality string

// Video qualities. Quality240p is the default.
const (
	Quality120p VideoQuality = "120p"
	Quality180p VideoQuality = "180p"
	Quality240p VideoQuality = "240p"
	Quality360p VideoQuality = "360p"
	Quality480p VideoQuality = "480p"
	Quality720p VideoQuality = "720p"
)

// DefaultVideoQuality is what a client sends unless told otherwise.
const DefaultVideoQuality = Quality240p

// VideoProfile is what a quality means: the largest size, frame rate and
// video bitrate sent.
type VideoProfile struct {
	Quality       VideoQuality `json:"quality"`
	Width, Height int
	FPS           int
	MaxKbps       int
}

// VideoQualities lists the qualities from the smallest up.
func VideoQualities() []VideoQuality {
	return []VideoQuality{Quality120p, Quality180p, Quality240p, Quality360p, Quality480p, Quality720p}
}

// Profile returns the profile of q. The bitrate caps are where VP8 at
// that size and rate stops looking better (realtime, cpu-used -6).
func (q VideoQuality) Profile() (VideoProfile, error) {
	p := VideoProfile{Quality: q}
	switch q {
	case Quality120p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 160, 120, 15, 100
	case Quality180p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 320, 180, 15, 220
	case Quality240p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 320, 240, 15, 300
	case Quality360p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 640, 360, 20, 600
	case Quality480p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 640, 480, 20, 800
	case Quality720p:
		p.Width, p.Height, p.FPS, p.MaxKbps = 1280, 720, 24, 1500
	default:
		names := make([]string, 0, 6)
		for _, v := range VideoQualities() {
			names = append(names, string(v))
		}
		return VideoProfile{}, fmt.Errorf("%w: video quality %q, want one of %s", ErrInvalidArgument, string(q), strings.Join(names, ", "))
	}
	return p, nil
}

// ParseVideoQuality parses a quality name ("360p"; "360" is taken too).
func ParseVideoQuality(s string) (VideoQuality, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "" && !strings.HasSuffix(s, "p") {
		s += "p"
	}
	q := VideoQuality(s)
	if _, err := q.Profile(); err != nil {
		return "", err
	}
	return q, nil
}

// VideoQualitySetter is implemented by a MediaFactory whose sessions
// can change their sending profile (callcore/media's does): the profile
// applies to the call in progress and to every later one.
type VideoQualitySetter interface {
	SetVideoQuality(VideoProfile)
}

// SetVideoQuality sets the video sending profile (TRTCCalling's
// setVideoQuality): now, in a call, and for later calls. Without media
// that can change it the call is refused with ErrWrongState.
func (e *Engine) SetVideoQuality(q VideoQuality) error {
	p, err := q.Profile()
	if err != nil {
		return err
	}
	vs, ok := e.factory.(VideoQualitySetter)
	if !ok {
		return fmt.Errorf("%w: this client's media cannot change its video quality", ErrWrongState)
	}
	vs.SetVideoQuality(p)
	return nil
}

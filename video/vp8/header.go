package vp8

import "fmt"

// Header is the uncompressed data chunk at the start of a VP8 frame
// (RFC 6386 §9.1). Width/Height/scales are set for keyframes only.
type Header struct {
	Keyframe      bool
	Version       int
	Show          bool
	FirstPartSize int
	Width, Height int
	HScale        int
	VScale        int
}

// ParseHeader validates the VP8 frame header in b without decoding
// anything. It never reads past len(b).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 3 {
		return Header{}, fmt.Errorf("%w: %d bytes, need 3 for the frame tag", ErrTruncated, len(b))
	}
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	h := Header{
		Keyframe:      tag&1 == 0,
		Version:       int(tag>>1) & 7,
		Show:          (tag>>4)&1 == 1,
		FirstPartSize: int(tag >> 5),
	}
	if h.Version > 3 {
		return h, fmt.Errorf("%w: version %d", ErrCorrupt, h.Version)
	}
	rest := len(b) - 3
	if h.Keyframe {
		if len(b) < 10 {
			return h, fmt.Errorf("%w: keyframe of %d bytes, need 10 for its header", ErrTruncated, len(b))
		}
		if b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
			return h, fmt.Errorf("%w: bad keyframe start code % x", ErrCorrupt, b[3:6])
		}
		w := int(b[6]) | int(b[7])<<8
		ht := int(b[8]) | int(b[9])<<8
		h.Width, h.HScale = w&0x3fff, w>>14
		h.Height, h.VScale = ht&0x3fff, ht>>14
		if h.Width == 0 || h.Height == 0 {
			return h, fmt.Errorf("%w: keyframe size %dx%d", ErrCorrupt, h.Width, h.Height)
		}
		rest = len(b) - 10
	}
	if h.FirstPartSize > rest {
		return h, fmt.Errorf("%w: first partition %d bytes, %d left", ErrTruncated, h.FirstPartSize, rest)
	}
	return h, nil
}

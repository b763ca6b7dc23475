package media

import (
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/vp8"
)

// frameResult says what became of one reassembled frame.
type frameResult int

const (
	frameDecoded frameResult = iota // decoded: the frame is passed along
	frameSkipped                    // waiting for a keyframe after loss: ask for one
	frameBroken                     // the decoder refused it: ask for a keyframe
)

// videoReceiver turns one peer's VP8 RTP packets into decoded frames. It
// reassembles frames (vp8Assembler), waits for a keyframe after any loss
// or decode error, and never panics on what the network sends (see
// FuzzVideoReceiver). Not safe for concurrent use: one reader goroutine
// owns it.
type videoReceiver struct {
	asm     *vp8Assembler
	dec     *vp8.Decoder
	needKey bool
	now     func() time.Time
}

func newVideoReceiver(dec *vp8.Decoder) *videoReceiver {
	return &videoReceiver{asm: newVP8Assembler(), dec: dec, needKey: true, now: time.Now}
}

// push adds a packet and calls emit for every frame it completes: with the
// decoded frame for frameDecoded, nil otherwise.
func (v *videoReceiver) push(p *rtp.Packet, emit func(f *video.Frame, key bool, res frameResult)) {
	for _, fr := range v.asm.push(p, v.now()) {
		if fr.lossBefore {
			v.needKey = true
		}
		// VP8 frame tag: P bit (bit 0) clear on keyframes (RFC 6386 §9.1).
		key := len(fr.data) > 0 && fr.data[0]&0x01 == 0
		if v.needKey && !key {
			emit(nil, false, frameSkipped)
			continue
		}
		dec, err := v.dec.Decode(fr.data)
		if err != nil || dec == nil {
			v.needKey = true
			emit(nil, key, frameBroken)
			continue
		}
		v.needKey = false
		emit(dec, key, frameDecoded)
	}
}

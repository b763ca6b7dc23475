package media

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

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
// depacketizes with pion's sample builder, waits for a keyframe after any
// loss or decode error, and never panics on what the network sends (see
// FuzzVideoReceiver). Not safe for concurrent use: one reader goroutine
// owns it.
type videoReceiver struct {
	sb      *samplebuilder.SampleBuilder
	dec     *vp8.Decoder
	needKey bool
}

func newVideoReceiver(dec *vp8.Decoder) *videoReceiver {
	return &videoReceiver{
		sb:      samplebuilder.New(256, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(500*time.Millisecond)),
		dec:     dec,
		needKey: true,
	}
}

// push adds a packet and calls emit for every frame it completes: with the
// decoded frame for frameDecoded, nil otherwise.
func (v *videoReceiver) push(p *rtp.Packet, emit func(f *video.Frame, key bool, res frameResult)) {
	v.sb.Push(p)
	for smp := v.sb.Pop(); smp != nil; smp = v.sb.Pop() {
		if smp.PrevDroppedPackets > 0 {
			v.needKey = true
		}
		// VP8 payload header: P bit (bit 0) clear on keyframes (RFC 6386 §9.1).
		key := len(smp.Data) > 0 && smp.Data[0]&0x01 == 0
		if v.needKey && !key {
			emit(nil, false, frameSkipped)
			continue
		}
		fr, err := v.dec.Decode(smp.Data)
		if err != nil || fr == nil {
			v.needKey = true
			emit(nil, key, frameBroken)
			continue
		}
		v.needKey = false
		emit(fr, key, frameDecoded)
	}
}

package callcore

import (
	"fmt"

	"github.com/termcall/termcall/server/proto"
)

// CallType is audio or video. Its values are TRTCCalling's numbers, and it
// travels as that number in JSON (callType in INVITED and
// CALL_TYPE_CHANGED). The zero value is no call type: Accept and Reject
// read it as "the invitation's".
type CallType int

// Call types.
const (
	CallTypeAudio CallType = proto.CallTypeAudio
	CallTypeVideo CallType = proto.CallTypeVideo
)

// ParseCallType reads "audio" or "video".
func ParseCallType(s string) (CallType, error) {
	switch s {
	case "audio":
		return CallTypeAudio, nil
	case "video":
		return CallTypeVideo, nil
	}
	return 0, fmt.Errorf("%w: call type %q is not audio or video", ErrInvalidArgument, s)
}

// String returns "audio", "video" or, for anything else, "unknown".
func (t CallType) String() string {
	switch t {
	case CallTypeAudio:
		return "audio"
	case CallTypeVideo:
		return "video"
	default:
		return "unknown"
	}
}

// Valid reports whether t is audio or video.
func (t CallType) Valid() bool { return t == CallTypeAudio || t == CallTypeVideo }

// Other returns video for audio and audio for video (what a switch or a
// toggle goes to); any other value is returned unchanged.
func (t CallType) Other() CallType {
	switch t {
	case CallTypeAudio:
		return CallTypeVideo
	case CallTypeVideo:
		return CallTypeAudio
	default:
		return t
	}
}

package callcore

import (
	"encoding/json"
	"log/slog"

	"github.com/termcall/termcall/server/proto"
)

// MediaFactory creates the media side of a call. The engine calls it when
// it joins a call room (as inviter or accepter).
type MediaFactory interface {
	NewSession(MediaCall) (MediaSession, error)
}

// MediaCall describes a call to the media layer and gives it the way back
// into the engine.
type MediaCall struct {
	RoomID     uint32
	SelfID     string
	CallType   CallType
	ICEServers []proto.ICEServer
	// Send relays payload to another member through the server. It does
	// not wait for the server; relay failures are logged by the engine.
	Send func(to string, payload json.RawMessage) error
	// PeerUp reports that media with userID is flowing: the engine emits
	// USER_ENTER.
	PeerUp func(userID string)
	// PeerDown reports that media with userID was lost for a few seconds:
	// the engine emits USER_LEAVE (reason "media_lost"), and hangs up a 1:1
	// call that has no media left.
	PeerDown func(userID string)
	// PeerReconnecting reports that media with userID stopped and is being
	// restarted (ICE restart over the relay). The engine checks its
	// signaling link, which the restart needs and which a network change
	// may have killed without a word.
	PeerReconnecting func(userID string)
	// PeerFailed reports that media with userID never connected: ICE or
	// DTLS failed, or nothing connected within the media timeout of
	// AddPeer. The engine emits ERROR (CodeMediaFailed) and ends a 1:1 call
	// with reason media_failed. A peer is reported failed or down, never both.
	PeerFailed func(userID string, err error)
	// Error reports a media problem the user must hear about as an ERROR
	// event: an ICE server that cannot be used (CodeICEServer), a track in a
	// codec termcall does not decode (CodeUnsupportedCodec), a missing
	// device (CodeNoMicrophone, CodeNoCamera).
	Error func(code int, msg string)
	// Volume reports each speaker's level (0-100, the local user under
	// their own ID) about once a second: the engine emits USER_VOICE_VOLUME.
	Volume func(volumeMap map[string]int)
	// Logger is the engine's logger; the session adds its own attributes
	// (which part of the engine, the room) rather than the engine adding them.
	Logger *slog.Logger
}

// MediaSession is the media of one call. The engine calls its methods from
// a single goroutine, in order, never under the engine's lock.
type MediaSession interface {
	// AddPeer starts media with a member. offerer is true for the member
	// who joined later: it offers to the ones already there.
	AddPeer(userID string, offerer bool)
	RemovePeer(userID string)
	HandleSignal(from string, payload json.RawMessage)
	SetMicMute(mute bool)
	SetCamera(on bool)
	SetCallType(callType CallType)
	Close() error
}

// ViewBinder is implemented by a MediaSession that renders video: the
// engine gives it the view bindings (StartRemoteView, StartLocalView)
// whenever they change, and once after the session is created.
type ViewBinder interface {
	SetViews(ViewTable)
}

// ViewTable is a snapshot of the view bindings.
type ViewTable struct {
	// Local lists the views showing the local camera.
	Local []string
	// Remote maps a member's userID to the views showing their video.
	Remote map[string][]string
}

// mediaHandle holds a call's session. Its fields are touched only on the
// engine's media goroutine.
type mediaHandle struct {
	sess   MediaSession
	closed bool
}

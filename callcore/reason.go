package callcore

import "github.com/termcall/termcall/server/proto"

// EndReason says why something ended: a call (CALL_END), a member's part
// in it (USER_LEAVE), an invitation (CALLING_CANCEL) or the login
// (KICKED_OUT). It is a string in JSON. Most come from the server
// (server/proto's Reason constants, with the same values); ReasonMediaLost
// is the engine's own.
type EndReason string

// End reasons.
const (
	ReasonHangup       EndReason = proto.ReasonHangup       // the member hung up
	ReasonLogout       EndReason = proto.ReasonLogout       // the member logged out
	ReasonKicked       EndReason = proto.ReasonKicked       // the member's login was replaced
	ReasonDisconnected EndReason = proto.ReasonDisconnected // the connection was lost for good
	ReasonRejected     EndReason = proto.ReasonRejected     // the invitee rejected
	ReasonBusy         EndReason = proto.ReasonBusy         // the invitee's line was busy
	ReasonNoAnswer     EndReason = proto.ReasonNoAnswer     // the invitation timed out
	ReasonCancelled    EndReason = proto.ReasonCancelled    // the inviter cancelled
	ReasonCallEnded    EndReason = proto.ReasonCallEnded    // CALLING_CANCEL: the call ended before an answer
	ReasonMultiLogin   EndReason = proto.ReasonMultiLogin   // KICKED_OUT: logged in elsewhere
	ReasonShutdown     EndReason = proto.ReasonShutdown     // the server is shutting down
	// ReasonMediaFailed: media with a member never connected (ICE or DTLS
	// failed, or nothing connected in time).
	ReasonMediaFailed EndReason = proto.ReasonMediaFailed
	// ReasonMediaLost is USER_LEAVE's reason when a member's media dropped
	// for longer than the media layer allows while the server still has
	// them in the call.
	ReasonMediaLost EndReason = "media_lost"
)

// String returns the reason as it appears on the wire ("" for none).
func (r EndReason) String() string { return string(r) }

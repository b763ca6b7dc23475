// Package proto defines termcall's signaling wire format: the frames that
// clients and the signaling server exchange over one websocket.
//
// Every websocket text message is one JSON Frame. A client request carries a
// non-zero ID; the server answers it with exactly one frame of type "reply"
// or "error" carrying the same ID. Frames the server pushes on its own
// (invitations, room changes, relayed payloads) have ID 0.
//
// docs/protocol.md describes every message, its fields, the errors and the
// order of events for each call flow; keep the two in step.
package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// Limits that both ends enforce. A frame over MaxFrameSize is refused
// before it is parsed.
const (
	// MaxFrameSize bounds one websocket message. SDP offers with several
	// tracks stay well below it.
	MaxFrameSize = 64 << 10
	// MaxInvitees bounds the invitee list of one invitation.
	MaxInvitees = 16
	// MaxRoomMembers bounds how many users can be in one call (mesh media).
	MaxRoomMembers = 16
	// MaxWatch bounds the user list of one watch request.
	MaxWatch = 256
	// MaxTimeout is the longest ringing timeout, in seconds.
	MaxTimeout = 3600
	// MaxNickName and MaxAvatar bound setSelfInfo's fields, in bytes.
	MaxNickName = 64
	MaxAvatar   = 512
	// Version is the TRTCCalling av_call payload version termcall speaks.
	Version = 4
)

// Where `termcall serve` listens and clients connect unless told
// otherwise: one default for every command and the example config.
const (
	DefaultAddr      = "127.0.0.1:7788"
	DefaultServerURL = "ws://" + DefaultAddr + "/ws"
)

// Frame types sent by clients (requests).
const (
	TypeLogin          = "login"
	TypeLogout         = "logout"
	TypeInvite         = "invite"
	TypeCancel         = "cancel"
	TypeAccept         = "accept"
	TypeReject         = "reject"
	TypeHangup         = "hangup"
	TypeSwitchCallType = "switchCallType"
	TypeMediaState     = "mediaState" // also pushed by the server
	TypeRelay          = "relay"      // also pushed by the server
	TypeWatch          = "watch"
	TypePing           = "ping"
	TypeSetSelfInfo    = "setSelfInfo"
)

// Frame types sent by the server.
const (
	TypeReply           = "reply"
	TypeError           = "error"
	TypeInvited         = "invited"
	TypeInviteAccepted  = "inviteAccepted"
	TypeInviteRejected  = "inviteRejected"
	TypeInviteMissed    = "inviteMissed"
	TypeInviteCancelled = "inviteCancelled"
	TypeInviteTimeout   = "inviteTimeout"
	TypeInviteeList     = "inviteeList"
	TypeMemberJoined    = "memberJoined"
	TypeMemberLeft      = "memberLeft"
	TypeCallEnded       = "callEnded"
	TypeCallTypeChanged = "callTypeChanged"
	TypePresence        = "presence"
	TypeKicked          = "kicked"
)

// Call types, as in TRTCCalling.
const (
	CallTypeAudio = 1
	CallTypeVideo = 2
)

// Presence states.
const (
	PresenceOnline  = "online"
	PresenceBusy    = "busy"
	PresenceOffline = "offline"
)

// Reasons carried by memberLeft, callEnded, inviteCancelled and kicked.
const (
	ReasonHangup       = "hangup"
	ReasonLogout       = "logout"
	ReasonKicked       = "kicked"
	ReasonDisconnected = "disconnected"
	ReasonRejected     = "rejected"
	ReasonBusy         = "busy"
	ReasonNoAnswer     = "no_answer"
	ReasonCancelled    = "cancelled"
	ReasonCallEnded    = "call_ended"
	ReasonMultiLogin   = "multipleAccount"
	ReasonShutdown     = "shutdown"
	// ReasonMediaFailed: a member's media never connected (ICE or DTLS
	// failed, or nothing connected in time); sent by the client with hangup.
	ReasonMediaFailed = "media_failed"
)

// Error codes carried by error frames. 4xxx are the client's fault, 5xxx
// the server's. The numbers are part of the protocol: never renumber.
const (
	CodeBadRequest      = 4000 // well-formed frame, invalid fields
	CodeMalformed       = 4001 // not JSON, or not a frame
	CodeTooLarge        = 4002 // over MaxFrameSize
	CodeRateLimited     = 4003 // too many frames; this one was dropped
	CodeUnknownType     = 4004 // no such frame type
	CodeNotLoggedIn     = 4010 // login first
	CodeAlreadyLoggedIn = 4011 // this connection is logged in already
	CodeInvalidUserSig  = 4012 // bad signature, bad encoding or wrong key
	CodeUserSigExpired  = 4013 // now > TLS.time + TLS.expire
	CodeSDKAppIDMatch   = 4014 // userSig or login names another SDKAppID
	CodeIdentifierMatch = 4015 // userSig was issued to another userID
	CodeInvalidUserID   = 4016 // not 1-32 of [A-Za-z0-9_-]
	CodeUnknownInvite   = 4040 // no open invitation with that inviteID for you
	CodeNotPermitted    = 4041 // e.g. cancelling an invitation you did not send
	CodeUnknownGroup    = 4042 // no such IM group
	CodeNotGroupMember  = 4043 // you are not a member of that group
	CodeWrongState      = 4090 // e.g. inviting while ringing, hangup while idle
	CodeRoomFull        = 4091 // the call has MaxRoomMembers members
	CodeNotInSameRoom   = 4092 // relay target is not in your call
	CodeInternal        = 5000
)

// Websocket close codes of the server's own (private range 4000-4999;
// they share no meaning with the error codes above). The standard ones it
// uses are 1000 (logout, kicked), 1001 (shutdown), 1008 (rate limit, slow
// consumer) and 1009 (frame too large).
const (
	// CloseLoginTimeout: the connection did not log in within the server's
	// login deadline (10 s by default).
	CloseLoginTimeout = 4008
)

// Query parameters of the websocket URL. A client that has logged in
// names its session on every later dial (ResumeURL), so that the server
// can admit its reconnect even while it refuses new connections.
const (
	QueryUserID    = "userID"
	QuerySessionID = "sessionID"
)

// ResumeURL adds the resume parameters to a websocket URL, keeping any
// query it already has.
func ResumeURL(base, userID, sessionID string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("resume URL: %w", err)
	}
	q := u.Query()
	q.Set(QueryUserID, userID)
	q.Set(QuerySessionID, sessionID)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Frame is one websocket message.
type Frame struct {
	Type string          `json:"type"`
	ID   uint64          `json:"id,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Error is the body of an error frame. It is also a Go error, so a client
// can return it from a request and callers can errors.As it.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("signaling error %d: %s", e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ICEServer is one STUN/TURN server handed to clients at login.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// LoginRequest logs a connection in. SessionID identifies the client
// instance: a login with the SessionID of the user's current session
// resumes it (a reconnect) instead of kicking it.
type LoginRequest struct {
	SDKAppID  uint32 `json:"sdkAppID"`
	UserID    string `json:"userID"`
	UserSig   string `json:"userSig"`
	SessionID string `json:"sessionID,omitempty"`
}

// LoginReply answers a login.
type LoginReply struct {
	UserID     string      `json:"userID"`
	SessionID  string      `json:"sessionID"`
	Resumed    bool        `json:"resumed"`
	ServerTime int64       `json:"serverTime"` // unix ms
	ICEServers []ICEServer `json:"iceServers,omitempty"`
	Room       *RoomState  `json:"room,omitempty"` // the call a resumed session is still in
}

// InviteRequest sends an invitation. With RoomID 0 the server opens a new
// call with the inviter as its first member; an inviter who is already in a
// call adds the invitees to it (RoomID must then be that call's, or 0).
type InviteRequest struct {
	Invitees []string `json:"invitees"`
	CallType int      `json:"callType"`
	Timeout  int      `json:"timeout"` // seconds, 0 = ring until answered or cancelled
	GroupID  string   `json:"groupID,omitempty"`
	RoomID   uint32   `json:"roomID,omitempty"`
}

// InviteReply answers an invite. Invitees is who was invited after group
// filtering; busy invitees are reported by inviteRejected frames.
type InviteReply struct {
	InviteID string   `json:"inviteID"`
	RoomID   uint32   `json:"roomID"`
	Invitees []string `json:"invitees"`
}

// InviteRef names an invitation (cancel, accept).
type InviteRef struct {
	InviteID string `json:"inviteID"`
}

// RejectRequest declines an invitation.
type RejectRequest struct {
	InviteID string `json:"inviteID"`
	Busy     bool   `json:"busy,omitempty"`
}

// AcceptReply answers an accept with the call the user has joined.
type AcceptReply struct {
	Room RoomState `json:"room"`
}

// SwitchCallTypeRequest changes a 1:1 call between audio and video.
type SwitchCallTypeRequest struct {
	CallType int `json:"callType"`
}

// MediaState is a member's microphone and camera state. Clients send it
// without UserID/RoomID; the server fills them in when it forwards it.
type MediaState struct {
	RoomID uint32 `json:"roomID,omitempty"`
	UserID string `json:"userID,omitempty"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
}

// Relay carries an opaque payload (SDP, ICE candidates) to another member
// of the same call. Clients fill To; the server replaces it with From.
type Relay struct {
	To      string          `json:"to,omitempty"`
	From    string          `json:"from,omitempty"`
	Payload json.RawMessage `json:"payload"`
}

// WatchRequest subscribes to presence changes of Users.
type WatchRequest struct {
	Users []string `json:"users"`
}

// WatchReply gives the current presence of the watched users.
type WatchReply struct {
	Presence []Presence `json:"presence"`
}

// PingReply answers a ping.
type PingReply struct {
	ServerTime int64 `json:"serverTime"` // unix ms
}

// AVCall is the TRTCCalling av_call payload, kept so that the fields keep
// the original's meaning (trtccalling-behaviour.md §2.3).
type AVCall struct {
	Version    int    `json:"version"`
	BusinessID string `json:"businessID"`
	CallType   int    `json:"call_type"`
	RoomID     uint32 `json:"room_id,omitempty"`
	CallEnd    *int   `json:"call_end,omitempty"`
	LineBusy   string `json:"line_busy,omitempty"`
	Cmd        string `json:"cmd,omitempty"`
}

// NewAVCall builds the av_call payload for a call type and room.
func NewAVCall(callType int, roomID uint32) *AVCall {
	cmd := "audioCall"
	if callType == CallTypeVideo {
		cmd = "videoCall"
	}
	return &AVCall{Version: Version, BusinessID: "av_call", CallType: callType, RoomID: roomID, Cmd: cmd}
}

// Invited is pushed to each invitee.
type Invited struct {
	InviteID    string   `json:"inviteID"`
	Sponsor     string   `json:"sponsor"`
	Invitees    []string `json:"invitees"`
	GroupID     string   `json:"groupID,omitempty"`
	IsFromGroup bool     `json:"isFromGroup"`
	CallType    int      `json:"callType"`
	RoomID      uint32   `json:"roomID"`
	Timeout     int      `json:"timeout"`
	SentAt      int64    `json:"sentAt"` // unix ms
	Data        *AVCall  `json:"data"`
	// The sponsor's setSelfInfo, if any.
	SponsorNickName string `json:"sponsorNickName,omitempty"`
	SponsorAvatar   string `json:"sponsorAvatar,omitempty"`
}

// InviteAnswer is pushed when an invitee accepts or rejects.
type InviteAnswer struct {
	InviteID string  `json:"inviteID"`
	Sponsor  string  `json:"sponsor"`
	UserID   string  `json:"userID"`
	Busy     bool    `json:"busy,omitempty"`
	Data     *AVCall `json:"data,omitempty"`
}

// InviteEnd is pushed for a cancelled, missed or timed-out invitation.
type InviteEnd struct {
	InviteID string   `json:"inviteID"`
	Sponsor  string   `json:"sponsor"`
	UserIDs  []string `json:"userIDs,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// InviteeList is pushed to the members of a group call when the list of
// invitees still ringing changes.
type InviteeList struct {
	RoomID  uint32   `json:"roomID"`
	Pending []string `json:"pending"`
}

// Member is one user in a call.
type Member struct {
	UserID string `json:"userID"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
}

// RoomState describes a call.
type RoomState struct {
	RoomID    uint32   `json:"roomID"`
	CallType  int      `json:"callType"`
	GroupID   string   `json:"groupID,omitempty"`
	IsGroup   bool     `json:"isGroup"`
	Inviter   string   `json:"inviter"`
	Members   []Member `json:"members"`
	Pending   []string `json:"pending"`
	StartedAt int64    `json:"startedAt,omitempty"` // unix ms when a second member joined
}

// MemberEvent is pushed when a user joins or leaves a call.
type MemberEvent struct {
	RoomID uint32 `json:"roomID"`
	UserID string `json:"userID"`
	Audio  bool   `json:"audio,omitempty"`
	Video  bool   `json:"video,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// CallEnded is pushed to every member of a call that ends, including the
// one whose leaving ended it. Duration is whole seconds since the call was
// answered (0 if it never was).
type CallEnded struct {
	RoomID   uint32  `json:"roomID"`
	Duration int     `json:"duration"`
	Reason   string  `json:"reason"`
	By       string  `json:"by,omitempty"`
	Data     *AVCall `json:"data,omitempty"`
}

// CallTypeChanged is pushed to all members when a 1:1 call switches type.
type CallTypeChanged struct {
	RoomID   uint32 `json:"roomID"`
	CallType int    `json:"callType"`
	UserID   string `json:"userID"`
}

// Presence is one user's presence.
type Presence struct {
	UserID   string `json:"userID"`
	Status   string `json:"status"`
	NickName string `json:"nickName,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
}

// SelfInfo is the body of setSelfInfo: how a user is shown to others
// (INVITED and presence carry it). Empty fields clear the value.
type SelfInfo struct {
	NickName string `json:"nickName,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
}

// HangupRequest is the optional body of hangup. Reason is "" (hangup) or
// ReasonMediaFailed; the server ends a 1:1 call with it.
type HangupRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Kicked is pushed before the server closes a session.
type Kicked struct {
	Reason string `json:"reason"`
}

// Decode errors.
var (
	ErrTooLarge  = errors.New("frame too large")
	ErrMalformed = errors.New("malformed frame")
	ErrNoType    = errors.New("frame has no type")
)

// Decode parses one websocket message into a Frame. It never panics and
// refuses frames over MaxFrameSize before parsing them.
func Decode(data []byte) (Frame, error) {
	var f Frame
	if len(data) > MaxFrameSize {
		return f, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxFrameSize)
	}
	// Unmarshal refuses trailing data itself, and unlike a Decoder it
	// allocates no read buffer per frame (17 % of the server's allocation
	// under load).
	if err := json.Unmarshal(data, &f); err != nil {
		return Frame{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if f.Type == "" {
		return Frame{}, ErrNoType
	}
	if len(f.Type) > 32 {
		return Frame{}, fmt.Errorf("%w: type too long", ErrMalformed)
	}
	return f, nil
}

// DecodeBody unmarshals a frame's body into v. An empty body leaves v as is.
func DecodeBody(f Frame, v any) error {
	if len(f.Body) == 0 || bytes.Equal(f.Body, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(f.Body, v); err != nil {
		return fmt.Errorf("%w: %s body: %w", ErrMalformed, f.Type, err)
	}
	return nil
}

// Encode builds a frame. A body that cannot be marshalled is a programming
// error, reported as an error rather than a panic.
func Encode(typ string, id uint64, body any) ([]byte, error) {
	f := Frame{Type: typ, ID: id}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s body: %w", typ, err)
		}
		f.Body = b
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", typ, err)
	}
	return b, nil
}

var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidUserID reports whether id is 1-32 of [A-Za-z0-9_-].
func ValidUserID(id string) bool { return userIDPattern.MatchString(id) }

// ValidCallType reports whether t is audio or video.
func ValidCallType(t int) bool { return t == CallTypeAudio || t == CallTypeVideo }

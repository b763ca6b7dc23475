package callcore

import "time"

// EventName names an engine event. The names are TRTCCalling's EVENT
// constants; headless mode prints them as the "event" field.
type EventName string

// Events, with the payload type each one carries in Event.Data.
const (
	EventSDKReady                   EventName = "SDK_READY"                      // SDKReady
	EventInvited                    EventName = "INVITED"                        // Invited
	EventUserAccept                 EventName = "USER_ACCEPT"                    // UserRef (the accepter)
	EventReject                     EventName = "REJECT"                         // UserRef (the rejecter)
	EventNoResp                     EventName = "NO_RESP"                        // NoResp
	EventLineBusy                   EventName = "LINE_BUSY"                      // LineBusy
	EventCallingCancel              EventName = "CALLING_CANCEL"                 // CallingCancel
	EventCallingTimeout             EventName = "CALLING_TIMEOUT"                // CallingTimeout
	EventUserEnter                  EventName = "USER_ENTER"                     // UserRef
	EventUserLeave                  EventName = "USER_LEAVE"                     // UserLeave
	EventCallEnd                    EventName = "CALL_END"                       // CallEnd
	EventKickedOut                  EventName = "KICKED_OUT"                     // KickedOut
	EventUserVideoAvailable         EventName = "USER_VIDEO_AVAILABLE"           // VideoAvailable
	EventUserAudioAvailable         EventName = "USER_AUDIO_AVAILABLE"           // AudioAvailable
	EventUserVoiceVolume            EventName = "USER_VOICE_VOLUME"              // VoiceVolume
	EventGroupCallInviteeListUpdate EventName = "GROUP_CALL_INVITEE_LIST_UPDATE" // InviteeList
	EventCallTypeChanged            EventName = "CALL_TYPE_CHANGED"              // CallTypeChanged
	EventError                      EventName = "ERROR"                          // Error
	// EventPresence is termcall's own: a watched contact's presence changed
	// (see Engine.WatchPresence).
	EventPresence EventName = "PRESENCE" // Presence
	// EventCallingEnd is TRTCCalling's other name for CALL_END: handlers
	// registered for it receive CALL_END events (Event.Name is CALL_END).
	EventCallingEnd EventName = "CALLING_END"
	// EventDevicedUpdated (TRTCCalling's spelling) and EventDeviceUpdated
	// come together when a camera, microphone or speaker came or went, or
	// one in use failed (devices.go).
	EventDevicedUpdated EventName = "DEVICED_UPDATED" // DevicesUpdated
	EventDeviceUpdated  EventName = "DEVICE_UPDATED"  // DevicesUpdated
	// EventMicSilent is termcall's own: the unmuted microphone delivers
	// only silence (muted in the OS?), or sound again.
	EventMicSilent EventName = "MIC_SILENT" // MicSilent
)

// canonical maps an alias to the event the engine emits.
func (n EventName) canonical() EventName {
	if n == EventCallingEnd {
		return EventCallEnd
	}
	return n
}

// AllEvents lists every event name, for validation and help text.
func AllEvents() []EventName {
	return []EventName{
		EventSDKReady, EventInvited, EventUserAccept, EventReject, EventNoResp, EventLineBusy,
		EventCallingCancel, EventCallingTimeout, EventUserEnter, EventUserLeave, EventCallEnd,
		EventKickedOut, EventUserVideoAvailable, EventUserAudioAvailable, EventUserVoiceVolume,
		EventGroupCallInviteeListUpdate, EventCallTypeChanged, EventError, EventPresence,
		EventDevicedUpdated, EventDeviceUpdated, EventMicSilent,
	}
}

// Event is one engine event. Data is one of the payload types below; its
// JSON form is the TRTCCalling payload (field names as in the reference).
type Event struct {
	Name EventName
	Time time.Time
	Data any
}

// SDKReady is the payload of SDK_READY.
type SDKReady struct {
	Name   string `json:"name"` // "ts_im_ready", as in the reference
	UserID string `json:"userID"`
}

// InviteData is the inviteData object of INVITED.
type InviteData struct {
	Version  int      `json:"version"`
	CallType CallType `json:"callType"`
	CallEnd  int      `json:"callEnd"`
	RoomID   uint32   `json:"roomID"`
}

// Invited is the payload of INVITED.
type Invited struct {
	InviteID    string     `json:"inviteID"`
	Sponsor     string     `json:"sponsor"`
	UserIDList  []string   `json:"userIDList"`
	IsFromGroup bool       `json:"isFromGroup"`
	GroupID     string     `json:"groupID,omitempty"`
	InviteData  InviteData `json:"inviteData"`
	Timeout     int        `json:"timeout"`
	// The sponsor's SetSelfInfo, if they set one.
	SponsorNickName string `json:"sponsorNickName,omitempty"`
	SponsorAvatar   string `json:"sponsorAvatar,omitempty"`
}

// UserRef is the payload of USER_ACCEPT, REJECT and USER_ENTER.
type UserRef struct {
	UserID string `json:"userID"`
}

// UserLeave is the payload of USER_LEAVE.
type UserLeave struct {
	UserID string    `json:"userID"`
	Reason EndReason `json:"reason,omitempty"`
}

// NoResp is the payload of NO_RESP (the caller's view of a timeout).
type NoResp struct {
	InviteID   string   `json:"inviteID"`
	Sponsor    string   `json:"sponsor"`
	UserID     string   `json:"userID"` // the first of UserIDList
	UserIDList []string `json:"userIDList"`
}

// LineBusy is the payload of LINE_BUSY. The caller gets it with UserID =
// the busy user; the busy user gets it with Sponsor = who called.
type LineBusy struct {
	InviteID string `json:"inviteID"`
	Sponsor  string `json:"sponsor"`
	UserID   string `json:"userID"`
}

// CallingCancel is the payload of CALLING_CANCEL.
type CallingCancel struct {
	InviteID string    `json:"inviteID"`
	Sponsor  string    `json:"sponsor"`
	Reason   EndReason `json:"reason,omitempty"`
}

// CallingTimeout is the payload of CALLING_TIMEOUT (the invitee's view).
type CallingTimeout struct {
	InviteID   string   `json:"inviteID"`
	Sponsor    string   `json:"sponsor"`
	UserIDList []string `json:"userIDList"`
}

// CallEnd is the payload of CALL_END. CallEnd is the duration in seconds.
type CallEnd struct {
	UserID  string    `json:"userID"`
	CallEnd int       `json:"callEnd"`
	Reason  EndReason `json:"reason"`
	RoomID  uint32    `json:"roomID"`
}

// KickedOut is the payload of KICKED_OUT.
type KickedOut struct {
	Reason EndReason `json:"reason"`
}

// VideoAvailable is the payload of USER_VIDEO_AVAILABLE.
type VideoAvailable struct {
	UserID           string `json:"userID"`
	IsVideoAvailable bool   `json:"isVideoAvailable"`
}

// AudioAvailable is the payload of USER_AUDIO_AVAILABLE.
type AudioAvailable struct {
	UserID           string `json:"userID"`
	IsAudioAvailable bool   `json:"isAudioAvailable"`
}

// VoiceVolume is the payload of USER_VOICE_VOLUME: level 0-100 per user.
type VoiceVolume struct {
	VolumeMap map[string]int `json:"volumeMap"`
}

// InviteeList is the payload of GROUP_CALL_INVITEE_LIST_UPDATE: the
// invitees still ringing.
type InviteeList struct {
	UserIDList []string `json:"userIDList"`
}

// CallTypeChanged is the payload of CALL_TYPE_CHANGED.
type CallTypeChanged struct {
	OldCallType CallType `json:"oldCallType"`
	NewCallType CallType `json:"newCallType"`
	UserID      string   `json:"userID"` // who switched
}

// Error is the payload of ERROR.
type Error struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// Presence is the payload of PRESENCE.
type Presence struct {
	UserID   string         `json:"userID"`
	Status   PresenceStatus `json:"status"`
	NickName string         `json:"nickName,omitempty"` // their SetSelfInfo, if any
	Avatar   string         `json:"avatar,omitempty"`
}

// SelfInfo is how the local user is shown to others (SetSelfInfo).
type SelfInfo struct {
	NickName string `json:"nickName"`
	Avatar   string `json:"avatar"`
}

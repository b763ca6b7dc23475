package callcore

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCallType(t *testing.T) {
	for _, tc := range []struct {
		t     CallType
		s     string
		valid bool
		other CallType
	}{
		{CallTypeAudio, "audio", true, CallTypeVideo},
		{CallTypeVideo, "video", true, CallTypeAudio},
		{0, "unknown", false, 0},
		{3, "unknown", false, 3},
	} {
		if got := tc.t.String(); got != tc.s {
			t.Errorf("CallType(%d).String() = %q, want %q", int(tc.t), got, tc.s)
		}
		if got := tc.t.Valid(); got != tc.valid {
			t.Errorf("CallType(%d).Valid() = %v", int(tc.t), got)
		}
		if got := tc.t.Other(); got != tc.other {
			t.Errorf("CallType(%d).Other() = %d, want %d", int(tc.t), int(got), int(tc.other))
		}
	}
	for s, want := range map[string]CallType{"audio": CallTypeAudio, "video": CallTypeVideo} {
		if got, err := ParseCallType(s); err != nil || got != want {
			t.Errorf("ParseCallType(%q) = %d, %v", s, int(got), err)
		}
	}
	for _, s := range []string{"", "Audio", "1", "screen"} {
		if _, err := ParseCallType(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseCallType(%q): %v, want ErrInvalidArgument", s, err)
		}
	}
}

// The domain types keep the payloads' JSON as it was: call types are
// numbers, reasons and statuses strings.
func TestDomainTypesJSON(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{CallTypeChanged{OldCallType: CallTypeVideo, NewCallType: CallTypeAudio, UserID: "a"}, `{"oldCallType":2,"newCallType":1,"userID":"a"}`},
		{InviteData{Version: 4, CallType: CallTypeVideo, RoomID: 7}, `{"version":4,"callType":2,"callEnd":0,"roomID":7}`},
		{CallEnd{UserID: "a", CallEnd: 3, Reason: ReasonHangup, RoomID: 7}, `{"userID":"a","callEnd":3,"reason":"hangup","roomID":7}`},
		{UserLeave{UserID: "a", Reason: ReasonMediaLost}, `{"userID":"a","reason":"media_lost"}`},
		{UserLeave{UserID: "a"}, `{"userID":"a"}`},
		{KickedOut{Reason: ReasonMultiLogin}, `{"reason":"multipleAccount"}`},
		{Presence{UserID: "a", Status: PresenceBusy}, `{"userID":"a","status":"busy"}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("json %+v = %s (%v), want %s", tc.v, b, err, tc.want)
		}
	}
	if ReasonMediaFailed.String() != "media_failed" || PresenceOffline.String() != "offline" {
		t.Error("String must return the wire value")
	}
}

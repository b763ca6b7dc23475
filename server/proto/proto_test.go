package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		in   string
		err  error
		typ  string
		id   uint64
		body string
	}{
		{in: `{"type":"ping","id":3}`, typ: "ping", id: 3},
		{in: `{"type":"invite","body":{"invitees":["b"]}}`, typ: "invite", body: `{"invitees":["b"]}`},
		{in: `not json`, err: ErrMalformed},
		{in: `{"type":"a"} {"type":"b"}`, err: ErrMalformed},
		{in: `{"id":1}`, err: ErrNoType},
		{in: `{"type":"` + strings.Repeat("x", 33) + `"}`, err: ErrMalformed},
		{in: `{"type":"ping","id":-1}`, err: ErrMalformed},
		{in: `[]`, err: ErrMalformed},
		{in: `{"type":"x","body":` + strings.Repeat(" ", MaxFrameSize) + `{}}`, err: ErrTooLarge},
	}
	for _, tc := range cases {
		f, err := Decode([]byte(tc.in))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Decode(%.40q) error %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || f.Type != tc.typ || f.ID != tc.id || string(f.Body) != tc.body {
			t.Errorf("Decode(%.40q) = %+v, %v", tc.in, f, err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	b, err := Encode(TypeInvited, 0, Invited{InviteID: "i", Sponsor: "a", Invitees: []string{"b"}, Data: NewAVCall(CallTypeVideo, 7)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil || f.Type != TypeInvited || f.ID != 0 {
		t.Fatalf("%+v %v", f, err)
	}
	var inv Invited
	if err := DecodeBody(f, &inv); err != nil || inv.Data.Cmd != "videoCall" || inv.Data.RoomID != 7 || inv.Data.BusinessID != "av_call" {
		t.Fatalf("%+v %v", inv, err)
	}
	if _, err := Encode("x", 1, func() {}); err == nil {
		t.Fatal("encoding a func succeeded")
	}
	var e *Error
	if !errors.As(error(Errorf(CodeBadRequest, "bad %d", 1)), &e) || e.Code != CodeBadRequest || !strings.Contains(e.Error(), "bad 1") {
		t.Fatalf("Errorf %+v", e)
	}
}

func TestValidUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"alice": true, "A_b-9": true, strings.Repeat("a", 32): true,
		"": false, strings.Repeat("a", 33): false, "al ice": false, "ä": false, "a/b": false,
	} {
		if ValidUserID(id) != want {
			t.Errorf("ValidUserID(%q) != %v", id, want)
		}
	}
}

// requestBodies returns a fresh value of every request body type.
func requestBodies() []any {
	return []any{
		&LoginRequest{}, &InviteRequest{}, &InviteRef{}, &RejectRequest{}, &SwitchCallTypeRequest{},
		&MediaState{}, &Relay{}, &WatchRequest{}, &SelfInfo{}, &HangupRequest{},
	}
}

// FuzzDecode feeds arbitrary messages to Decode and every request body
// type: nothing may panic, and a decoded frame re-encodes to the same frame.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"login","id":1,"body":{"sdkAppID":1400000001,"userID":"alice","userSig":"x","sessionID":"s"}}`))
	f.Add([]byte(`{"type":"relay","id":2,"body":{"to":"bob","payload":{"sdp":"v=0"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := Decode(data)
		if err != nil {
			return
		}
		if fr.Type == "" {
			t.Fatal("decoded a frame without type")
		}
		for _, v := range requestBodies() {
			_ = DecodeBody(fr, v)
		}
		b, err := Encode(fr.Type, fr.ID, fr.Body)
		if err != nil {
			if len(fr.Body) == 0 {
				t.Fatalf("re-encode: %v", err)
			}
			return
		}
		fr2, err := Decode(b)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("re-decode %q: %v", b, err)
		}
		if err == nil && (fr2.Type != fr.Type || fr2.ID != fr.ID || !jsonEqual(fr.Body, fr2.Body)) {
			t.Fatalf("round trip %+v -> %+v", fr, fr2)
		}
	})
}

// jsonEqual compares two JSON values by meaning (Marshal escapes <, > and &).
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b) || bytes.Equal(bytes.TrimSpace(a), []byte("null")) || bytes.Equal(bytes.TrimSpace(b), []byte("null"))
	}
	var x, y any
	dx, dy := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	dx.UseNumber()
	dy.UseNumber()
	if dx.Decode(&x) != nil || dy.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestResumeURL(t *testing.T) {
	got, err := ResumeURL("ws://127.0.0.1:7788/ws?x=1", "bob", "0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if want := "ws://127.0.0.1:7788/ws?sessionID=0123456789abcdef0123456789abcdef&userID=bob&x=1"; got != want {
		t.Fatalf("ResumeURL = %q, want %q", got, want)
	}
	// Values are escaped, and existing resume parameters are replaced.
	got, err = ResumeURL("ws://h/ws?userID=old", "a&b", "s d")
	if err != nil || got != "ws://h/ws?sessionID=s+d&userID=a%26b" {
		t.Fatalf("ResumeURL = %q, %v", got, err)
	}
	if _, err := ResumeURL("ws://h/ws\x7f%zz", "a", "b"); err == nil {
		t.Fatal("a bad base URL was accepted")
	}
}

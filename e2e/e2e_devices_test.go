package e2e_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	pcm "github.com/termcall/termcall/audio"
)

// Devices end to end: the devices command lists the stand-ins a client
// started with, and switchDevice changes what the far end hears and sees
// in the middle of a call, on the same stream, with no new call.

// deviceIDs returns the deviceId of each entry of a DEVICES listing.
func deviceIDs(ev event, kind string) []string {
	l, _ := ev[kind].([]any)
	var ids []string
	for _, e := range l {
		m, _ := e.(map[string]any)
		ids = append(ids, str(m, "deviceId"))
	}
	return ids
}

// defaultID returns the deviceId of the listing's default entry.
func defaultID(ev event, kind string) string {
	l, _ := ev[kind].([]any)
	for _, e := range l {
		m, _ := e.(map[string]any)
		if m["default"] == true {
			return str(m, "deviceId")
		}
	}
	return ""
}

func TestDevicesSwitchMidCall(t *testing.T) {
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "pattern")

	alice.Send(t, "devices")
	ls := alice.Expect(t, "DEVICES", waitLong, nil)
	for kind, want := range map[string][]string{
		"microphones": {"tone:440", "silence"},
		"speakers":    {"null"},
		"cameras":     {"pattern", "pattern:busy"},
	} {
		for _, id := range want {
			if !slices.Contains(deviceIDs(ls, kind), id) {
				t.Errorf("DEVICES %s = %v, want %q among them", kind, deviceIDs(ls, kind), id)
			}
		}
	}
	if d := defaultID(ls, "microphones"); d != "tone:440" {
		t.Errorf("default microphone %q, want tone:440 (no sound card here: the one alice started with)", d)
	}

	alice.Send(t, "call bob video 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, func(ev event) bool { return str(ev, "userID") == "bob" })
	before := bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	bob.Expect(t, "STATS", mediaWait, seesVideo("alice", 320, 240, 15))

	alice.Send(t, "switchDevice microphone tone:660")
	sw := alice.Expect(t, "DEVICE_SWITCHED", waitLong, is(map[string]any{"kind": "microphone", "deviceId": "tone:660"}))
	now := bob.Expect(t, "STATS", mediaWait, after(sw, hears("alice", 660)))
	// The same stream: its packet count went on growing, no reset.
	if p0, p1 := fnum(sub(before, "audio"), "packetsReceived"), fnum(sub(now, "audio"), "packetsReceived"); p1 <= p0 {
		t.Errorf("bob's packetsReceived from alice went from %v to %v across the switch: a new stream", p0, p1)
	}

	// Wait until no keyframe has come for three STATS lines (the start of
	// a call and the bandwidth ramp bring some), so that one after the
	// switch is the switch's.
	quiet := now
	for n, keys := 0, fnum(sub(now, "video"), "keyframes"); n < 3; {
		quiet = bob.Expect(t, "STATS", mediaWait, after(quiet, func(ev event) bool { return str(ev, "userID") == "alice" }))
		if k := fnum(sub(quiet, "video"), "keyframes"); k == keys {
			n++
		} else {
			n, keys = 0, k
		}
	}
	keys0 := fnum(sub(quiet, "video"), "keyframes")
	frames0 := fnum(sub(quiet, "video"), "framesDecoded")
	alice.Send(t, "switchDevice camera pattern:busy")
	sw = alice.Expect(t, "DEVICE_SWITCHED", waitLong, is(map[string]any{"kind": "camera", "deviceId": "pattern:busy"}))
	// The keyframe comes at once (the encoder's own interval is 20 s):
	// within the two STATS lines after the switch.
	next := bob.Expect(t, "STATS", mediaWait, after(sw, func(ev event) bool { return str(ev, "userID") == "alice" }))
	next = bob.Expect(t, "STATS", mediaWait, after(next, func(ev event) bool { return str(ev, "userID") == "alice" }))
	if k := fnum(sub(next, "video"), "keyframes"); k <= keys0 {
		t.Errorf("no keyframe reached bob after the camera switch (keyframes %v before, %v after)", keys0, k)
	}
	seen := bob.Expect(t, "STATS", mediaWait, after(sw, func(ev event) bool {
		return seesVideo("alice", 320, 240, 15)(ev) && fnum(sub(ev, "video"), "framesDecoded") > frames0+15
	}))
	if e := fnum(sub(seen, "video"), "decodeErrors"); e != 0 {
		t.Errorf("bob had %v decode errors after the camera switch", e)
	}

	// Bad switches are errors; the call goes on with the devices in use.
	for _, line := range []string{
		"switchDevice microphone mic:no-such-card",
		"switchDevice camera tone:440",
		"switchDevice speaker nowhere",
	} {
		alice.Send(t, line)
		alice.ExpectError(t, line, 4000)
	}
	alice.Send(t, "switchDevice phone x")
	alice.ExpectError(t, "switchDevice phone x", 4000)
	bob.Expect(t, "STATS", mediaWait, after(now, hears("alice", 660)))

	alice.Send(t, "devices")
	ls = alice.Expect(t, "DEVICES", waitLong, nil)
	if ids := deviceIDs(ls, "microphones"); !slices.Contains(ids, "tone:660") {
		t.Errorf("after the switch DEVICES microphones = %v, want tone:660 among them", ids)
	}

	for _, c := range []*client{alice, bob} {
		for _, name := range []string{"CALL_END", "USER_LEAVE", "INVITED"} {
			if n := len(c.eventsNamed(name)); name == "INVITED" && c == bob && n == 1 {
				continue // the call itself
			} else if n > 0 {
				t.Errorf("%s got %d %s during the switches: the call was not kept", c.user, n, name)
			}
		}
	}
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

// A microphone that delivers only zeros (as one muted in the OS does) is
// reported after a few seconds; sound coming back, or muting on purpose,
// ends the report.
func TestDevicesSilentMicrophone(t *testing.T) {
	zeros := filepath.Join(t.TempDir(), "zeros.wav")
	w, err := pcm.CreateWAV(zeros, pcm.DefaultFormat())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(make([]int16, pcm.SampleRate)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "wav:"+zeros, "--video-in", "none")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "none")

	alice.Send(t, "call bob audio 30")
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ENTER", mediaWait, nil)
	alice.Expect(t, "MIC_SILENT", mediaWait, is(map[string]any{"silent": true, "deviceId": "wav:" + zeros}))

	// Muted on purpose: not a problem to show.
	alice.Send(t, "setMicMute true")
	alice.Expect(t, "MIC_SILENT", waitLong, is(map[string]any{"silent": false}))
	alice.Send(t, "setMicMute false")
	alice.Expect(t, "MIC_SILENT", waitLong, is(map[string]any{"silent": true}))

	alice.Send(t, "switchDevice microphone tone:440")
	alice.Expect(t, "MIC_SILENT", mediaWait, is(map[string]any{"silent": false}))
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	alice.ExpectNone(t, "MIC_SILENT", 4*time.Second, nil) // a tone is never silent
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

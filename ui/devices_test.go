package ui

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/termcall/termcall/callcore"
)

// devEngine is a recording engine with devices: what client's device
// manager lists with no sound card (the stand-ins).
type devEngine struct {
	*recEngine
	mu    sync.Mutex
	lists callcore.DeviceLists
	cur   map[callcore.DeviceKind]string
}

func newDevEngine() *devEngine {
	return &devEngine{
		recEngine: newRecEngine(),
		lists: callcore.DeviceLists{
			Cameras:     []callcore.DeviceInfo{{ID: "pattern", Label: "test pattern", Default: true}, {ID: "pattern:busy", Label: "moving test pattern"}},
			Microphones: []callcore.DeviceInfo{{ID: "tone:440", Label: "440 Hz test tone", Default: true}, {ID: "silence", Label: "silence (no microphone)"}},
			Speakers:    []callcore.DeviceInfo{{ID: "null", Label: "nothing (audio is not played)", Default: true}},
		},
		cur: map[callcore.DeviceKind]string{callcore.DeviceCamera: "pattern", callcore.DeviceMicrophone: "tone:440", callcore.DeviceSpeaker: "null"},
	}
}

func (e *devEngine) GetDevices() (callcore.DeviceLists, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lists, nil
}

func (e *devEngine) CurrentDevice(k callcore.DeviceKind) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur[k]
}

func (e *devEngine) SwitchDevice(k callcore.DeviceKind, id string) error {
	if err := e.rec("SwitchDevice %s %s", k, id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.ContainsFunc(e.lists.Of(k), func(d callcore.DeviceInfo) bool { return d.ID == id }) {
		return errors.New("no such device")
	}
	e.cur[k] = id
	return nil
}

func inCallWithDevices(t *testing.T, tweak func(*devEngine)) (*harness, *devEngine) {
	t.Helper()
	eng := newDevEngine()
	if tweak != nil {
		tweak(eng)
	}
	h := &harness{}
	*h = *newHarnessOn(t, eng.recEngine, Options{})
	// The model must see the engine with devices: rebuild it on eng.
	h.m.Close()
	h.m = New(eng, h.m.c.opts)
	h.m.c.inline = true
	t.Cleanup(h.m.Close)
	h.send(teaWindow(100, 40))
	h.event(callcore.EventSDKReady, callcore.SDKReady{Name: "ts_im_ready", UserID: "alice"})
	h.event(callcore.EventInvited, invited("bob", callcore.CallTypeVideo))
	h.key("a")
	h.event(callcore.EventUserEnter, callcore.UserRef{UserID: "bob"})
	return h, eng
}

func TestDevicePickerSwitchesMidCall(t *testing.T) {
	h, _ := inCallWithDevices(t, nil)
	// The call screen shows the devices in use, and the key in the help.
	h.requireView("devices: mic tone:440 · speaker null · camera pattern", "i devices")

	h.key("i")
	h.requireView("Devices", "Cameras", "Microphones", "Speakers", "tone:440", "440 Hz test tone (default)", "pattern:busy")
	// Rows: pattern, pattern:busy, tone:440, silence, null. Down three
	// times is the "silence" microphone.
	h.key("down", "down", "down", "enter")
	h.requireCall("SwitchDevice microphone silence")
	h.requireNotView("Cameras")
	h.requireView("Microphone: silence", "devices: mic silence · speaker null · camera pattern")

	// esc closes the picker without switching.
	h.key("i")
	h.requireView("Cameras")
	h.key("esc")
	h.requireNotView("Cameras")
	h.requireView("In call")
}

func TestDevicePickerShowsFailuresAndSilence(t *testing.T) {
	h, eng := inCallWithDevices(t, func(e *devEngine) {
		e.lists.Speakers = append(e.lists.Speakers, callcore.DeviceInfo{ID: "speaker:USB", Label: "USB"})
		e.cur[callcore.DeviceSpeaker] = "speaker:USB"
	})
	h.requireView("speaker speaker:USB")
	h.event(callcore.EventMicSilent, callcore.MicSilent{Silent: true, DeviceID: "tone:440"})
	h.requireView("mic silent — muted in the OS?")
	h.event(callcore.EventMicSilent, callcore.MicSilent{Silent: false, DeviceID: "tone:440"})
	h.requireNotView("mic silent")

	// A switch the engine refuses: the error is shown, the call goes on.
	eng.fail = errors.New("microphone \"mic:gone\": no such device")
	h.key("i", "down", "down", "enter")
	h.requireView("no such device", "In call", "mic tone:440")
	eng.fail = nil

	// A device gone: the fallback is said.
	h.m.c.err = "" // the refused switch's error would hide the notice
	h.event(callcore.EventDevicedUpdated, callcore.DevicesUpdated{Fallbacks: []callcore.DeviceFallback{{Kind: callcore.DeviceCamera, From: "camera:/dev/video2", To: "pattern"}}})
	h.requireView("Camera camera:/dev/video2 is gone: now pattern")

	// A failed speaker: the ERROR line and what plays now.
	eng.mu.Lock()
	eng.cur[callcore.DeviceSpeaker] = "null"
	eng.mu.Unlock()
	h.event(callcore.EventError, callcore.Error{Code: callcore.CodeDeviceFailed, Msg: `speaker "speaker:USB" failed: unplugged; now using "null", the call goes on`})
	h.requireView(`error 60104: speaker "speaker:USB" failed`, "speaker null")
}

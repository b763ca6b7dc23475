package callcore

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// soundSystem stands in for the sound card and camera: devices come and
// go when the test says so. It is the DeviceManager package client
// implements over the real ones.
type soundSystem struct {
	mu       sync.Mutex
	lists    DeviceLists
	cur      map[DeviceKind]string
	switches []string // "kind id", in order
	reporter DeviceReporter
	failOpen bool
}

func newSoundSystem() *soundSystem {
	return &soundSystem{
		lists: DeviceLists{
			Cameras:     []DeviceInfo{{ID: "pattern", Label: "test pattern", Default: true}},
			Microphones: []DeviceInfo{{ID: "mic:Built-in", Label: "Built-in", Default: true}, {ID: "mic:USB headset", Label: "USB headset"}},
			Speakers:    []DeviceInfo{{ID: "null", Label: "nothing", Default: true}},
		},
		cur: map[DeviceKind]string{DeviceMicrophone: "mic:USB headset", DeviceSpeaker: "null", DeviceCamera: "pattern"},
	}
}

func (s *soundSystem) ListDevices(kind DeviceKind) ([]DeviceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lists.Of(kind)), nil
}

func (s *soundSystem) CurrentDevice(kind DeviceKind) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur[kind]
}

func (s *soundSystem) SwitchDevice(kind DeviceKind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOpen || !hasDevice(s.lists.Of(kind), id) {
		return errors.New("no such device")
	}
	s.cur[kind] = id
	s.switches = append(s.switches, string(kind)+" "+id)
	return nil
}

func (s *soundSystem) SetDeviceReporter(r DeviceReporter) { s.reporter = r }

// unplug removes a microphone, as pulling out a headset does.
func (s *soundSystem) unplug(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists.Microphones = slices.DeleteFunc(slices.Clone(s.lists.Microphones), func(d DeviceInfo) bool { return d.ID == id })
}

func TestDevicesListAndSwitch(t *testing.T) {
	srv := startServer(t, nil)
	ss := newSoundSystem()
	alice := newClient(t, srv.URL(), "alice", WithDevices(ss))

	mics, err := alice.GetMicrophones()
	must(t, err)
	if len(mics) != 2 || mics[0].ID != "mic:Built-in" || !mics[0].Default {
		t.Errorf("GetMicrophones = %+v", mics)
	}
	all, err := alice.GetDevices()
	must(t, err)
	if len(all.Cameras) != 1 || len(all.Speakers) != 1 || len(all.Microphones) != 2 {
		t.Errorf("GetDevices = %+v", all)
	}

	must(t, alice.SwitchDevice(DeviceMicrophone, "mic:Built-in"))
	if got := alice.CurrentDevice(DeviceMicrophone); got != "mic:Built-in" {
		t.Errorf("after the switch the microphone is %q", got)
	}
	wantErr(t, alice.SwitchDevice("phone", "x"), ErrInvalidArgument)
	wantErr(t, alice.SwitchDevice(DeviceCamera, ""), ErrInvalidArgument)
	if err := alice.SwitchDevice(DeviceCamera, "camera:/dev/video9"); err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("switch to a camera that is not there: %v", err)
	}

	// Without devices (media off) every call says so.
	bare := newClient(t, srv.URL(), "bob")
	_, err = bare.GetCameras()
	wantErr(t, err, ErrWrongState)
	wantErr(t, bare.SwitchDevice(DeviceSpeaker, "null"), ErrWrongState)
}

// Pulling out the headset in use: the watch sees it within a poll, the
// microphone falls back to the default, and both event names say so.
// Logout stops the watch: no goroutine is left.
func TestDevicesWatchFallsBackWhenADeviceInUseVanishes(t *testing.T) {
	srv := startServer(t, nil)
	before := goleak.IgnoreCurrent()
	ss := newSoundSystem()
	alice := newClient(t, srv.URL(), "alice", WithDevices(ss))

	ss.unplug("mic:USB headset")
	for _, name := range []EventName{EventDevicedUpdated, EventDeviceUpdated} {
		up := data[DevicesUpdated](t, alice.rec.wait(t, name, 1))
		if hasDevice(up.Microphones, "mic:USB headset") || !hasDevice(up.Microphones, "mic:Built-in") {
			t.Errorf("%s microphones = %+v", name, up.Microphones)
		}
		want := []DeviceFallback{{Kind: DeviceMicrophone, From: "mic:USB headset", To: "mic:Built-in"}}
		if !slices.Equal(up.Fallbacks, want) {
			t.Errorf("%s fallbacks = %+v, want %+v", name, up.Fallbacks, want)
		}
	}
	if got := alice.CurrentDevice(DeviceMicrophone); got != "mic:Built-in" {
		t.Errorf("after the headset went the microphone is %q", got)
	}

	must(t, alice.Logout(ctx(t)))
	must(t, alice.Close())
	goleak.VerifyNone(t, before)
}

// MIC_SILENT follows what the user should see: a silent microphone, but
// not one muted on purpose.
func TestDevicesMicSilentHonoursMute(t *testing.T) {
	srv := startServer(t, nil)
	ss := newSoundSystem()
	alice := newClient(t, srv.URL(), "alice", WithDevices(ss))

	ss.reporter.MicSilent(true)
	ev := data[MicSilent](t, alice.rec.wait(t, EventMicSilent, 1))
	if !ev.Silent || ev.DeviceID != "mic:USB headset" {
		t.Errorf("first MIC_SILENT = %+v", ev)
	}
	ss.reporter.MicSilent(true) // no change: no event
	must(t, alice.SetMicMute(ctx(t), true))
	if ev := data[MicSilent](t, alice.rec.wait(t, EventMicSilent, 2)); ev.Silent {
		t.Errorf("muting: MIC_SILENT = %+v, want silent false", ev)
	}
	ss.reporter.MicSilent(false) // sound back while muted: nothing to show
	must(t, alice.SetMicMute(ctx(t), false))
	ss.reporter.MicSilent(true)
	if ev := data[MicSilent](t, alice.rec.wait(t, EventMicSilent, 3)); !ev.Silent {
		t.Errorf("silent again: MIC_SILENT = %+v", ev)
	}
	if n := len(alice.rec.all(EventMicSilent)); n != 3 {
		t.Errorf("%d MIC_SILENT events, want 3: %v", n, alice.rec.names())
	}
}

// A speaker that failed: an ERROR with the device code and what plays
// now, then the listings with the fallback.
func TestDevicesFailedSpeakerIsReported(t *testing.T) {
	srv := startServer(t, nil)
	ss := newSoundSystem()
	alice := newClient(t, srv.URL(), "alice", WithDevices(ss))

	ss.reporter.DeviceFailed(DeviceSpeaker, "speaker:USB", "null", errors.New("device unplugged"))
	e := data[Error](t, alice.rec.wait(t, EventError, 1))
	if e.Code != CodeDeviceFailed || !strings.Contains(e.Msg, "speaker:USB") || !strings.Contains(e.Msg, "device unplugged") || !strings.Contains(e.Msg, `"null"`) {
		t.Errorf("ERROR = %+v", e)
	}
	up := data[DevicesUpdated](t, alice.rec.wait(t, EventDevicedUpdated, 1))
	if want := []DeviceFallback{{Kind: DeviceSpeaker, From: "speaker:USB", To: "null"}}; !slices.Equal(up.Fallbacks, want) {
		t.Errorf("DEVICED_UPDATED fallbacks = %+v, want %+v", up.Fallbacks, want)
	}
	alice.rec.wait(t, EventDeviceUpdated, 1)
}

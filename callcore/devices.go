package callcore

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// DeviceKind names a kind of device, as TRTCCalling's switchDevice takes it.
type DeviceKind string

// Device kinds.
const (
	DeviceCamera     DeviceKind = "camera"
	DeviceMicrophone DeviceKind = "microphone"
	DeviceSpeaker    DeviceKind = "speaker"
)

// DeviceKinds lists the kinds in the order listings show them.
func DeviceKinds() []DeviceKind { return []DeviceKind{DeviceCamera, DeviceMicrophone, DeviceSpeaker} }

// ParseDeviceKind reads a kind ("camera", "microphone" or "mic", "speaker").
func ParseDeviceKind(s string) (DeviceKind, error) {
	switch s {
	case "camera", "video":
		return DeviceCamera, nil
	case "microphone", "mic":
		return DeviceMicrophone, nil
	case "speaker":
		return DeviceSpeaker, nil
	}
	return "", fmt.Errorf("%w: device kind %q, want camera, microphone or speaker", ErrInvalidArgument, s)
}

// DeviceInfo is one device of a listing. The JSON names are those of a
// browser's MediaDeviceInfo, which TRTCCalling's getCameras and
// getMicrophones return.
type DeviceInfo struct {
	ID      string `json:"deviceId"`
	Label   string `json:"label"`
	Default bool   `json:"default"`
}

// DeviceLists are the three listings together, each never nil.
type DeviceLists struct {
	Cameras     []DeviceInfo `json:"cameras"`
	Microphones []DeviceInfo `json:"microphones"`
	Speakers    []DeviceInfo `json:"speakers"`
}

// Of returns the listing of kind.
func (l DeviceLists) Of(kind DeviceKind) []DeviceInfo {
	switch kind {
	case DeviceCamera:
		return l.Cameras
	case DeviceMicrophone:
		return l.Microphones
	case DeviceSpeaker:
		return l.Speakers
	}
	return nil
}

func (l *DeviceLists) set(kind DeviceKind, d []DeviceInfo) {
	if d == nil {
		d = []DeviceInfo{}
	}
	switch kind {
	case DeviceCamera:
		l.Cameras = d
	case DeviceMicrophone:
		l.Microphones = d
	case DeviceSpeaker:
		l.Speakers = d
	}
}

func (l DeviceLists) equal(o DeviceLists) bool {
	return slices.Equal(l.Cameras, o.Cameras) && slices.Equal(l.Microphones, o.Microphones) && slices.Equal(l.Speakers, o.Speakers)
}

// DeviceFallback says that a device in use went away (or failed) and
// which one took its place.
type DeviceFallback struct {
	Kind DeviceKind `json:"kind"`
	From string     `json:"from"`
	To   string     `json:"to"`
}

// DevicesUpdated is the payload of DEVICED_UPDATED and DEVICE_UPDATED:
// the new listings and, when a device in use went away, what replaced it.
type DevicesUpdated struct {
	DeviceLists
	Fallbacks []DeviceFallback `json:"fallbacks,omitempty"`
}

// MicSilent is the payload of MIC_SILENT: the unmuted microphone has
// delivered only silence (below SilentMicDBFS) for SilentMicAfter, as a
// microphone muted in the operating system does (Silent true), or sound
// came back (false).
type MicSilent struct {
	Silent   bool   `json:"silent"`
	DeviceID string `json:"deviceId"`
}

// What counts as a silent microphone: a real one always picks up some
// noise, far above this level.
const (
	SilentMicDBFS  = -90.0
	SilentMicAfter = 3 * time.Second
)

// CodeDeviceFailed is termcall's ERROR code for a device that failed in
// a call (a speaker whose writes fail): the call goes on with another.
const CodeDeviceFailed = 60104

// DeviceManager lists a client's devices and switches the ones its media
// uses; package client implements it over the sound system, V4L2 and the
// stand-ins (tones, files, test patterns). Methods may be called from any
// goroutine.
type DeviceManager interface {
	// ListDevices lists the devices of kind there are now.
	ListDevices(kind DeviceKind) ([]DeviceInfo, error)
	// CurrentDevice is the ID of the device of kind in use ("" for none).
	CurrentDevice(kind DeviceKind) string
	// SwitchDevice makes the media use device id of kind, in a call at
	// once (the same RTP stream goes on) and for later calls.
	SwitchDevice(kind DeviceKind, id string) error
	// SetDeviceReporter tells the manager where to report what it sees
	// on its own; the engine calls it once, in New.
	SetDeviceReporter(DeviceReporter)
}

// DeviceReporter takes what a DeviceManager sees by itself. Its methods
// do not block.
type DeviceReporter interface {
	// MicSilent reports that the microphone in use delivers silence
	// (true) or sound again (false).
	MicSilent(silent bool)
	// DeviceFailed reports that the device from of kind failed (err) and
	// to took its place.
	DeviceFailed(kind DeviceKind, from, to string, err error)
}

// WithDevices plugs in the devices: GetCameras, SwitchDevice, the
// DEVICED_UPDATED events. Without it those calls fail with ErrWrongState.
func WithDevices(m DeviceManager) Option { return func(o *options) { o.devices = m } }

// DeviceWatchEvery is how often the engine looks for devices that came
// or went, while logged in.
const DeviceWatchEvery = 2 * time.Second

// deviceWatch is the engine's device state. Its fields are guarded by
// the engine's mu.
type deviceWatch struct {
	mgr     DeviceManager
	stop    context.CancelFunc // nil when not watching
	done    chan struct{}      // closed when the last watching goroutine exits
	micRaw  bool               // the manager says the mic is silent
	micShow bool               // MIC_SILENT silent:true was emitted last
}

// engineReporter is the engine's DeviceReporter.
type engineReporter struct{ e *Engine }

func (r engineReporter) MicSilent(silent bool) {
	e := r.e
	e.mu.Lock()
	defer e.mu.Unlock()
	e.devices.micRaw = silent
	e.updateMicSilentLocked()
}

func (r engineReporter) DeviceFailed(kind DeviceKind, from, to string, err error) {
	e := r.e
	e.log.Warn("device failed", "kind", kind, "device", from, "now", to, "err", err)
	e.mu.Lock()
	e.emit(EventError, Error{Code: CodeDeviceFailed,
		Msg: fmt.Sprintf("%s %q failed: %v; now using %q, the call goes on", kind, from, err, to)})
	e.mu.Unlock()
	// Listing may take a while (the sound system): not on the caller's
	// goroutine, which is the call's playout. The dispatcher runs it after
	// the ERROR, in order.
	e.events.push(func() {
		up := DevicesUpdated{DeviceLists: e.deviceLists(), Fallbacks: []DeviceFallback{{Kind: kind, From: from, To: to}}}
		e.mu.Lock()
		e.emit(EventDevicedUpdated, up)
		e.emit(EventDeviceUpdated, up)
		e.mu.Unlock()
	})
}

// updateMicSilentLocked emits MIC_SILENT when what the user should see
// changes: a muted microphone is silent on purpose.
func (e *Engine) updateMicSilentLocked() {
	show := e.devices.micRaw && !e.micMuted
	if show == e.devices.micShow {
		return
	}
	e.devices.micShow = show
	var id string
	if e.devices.mgr != nil {
		id = e.devices.mgr.CurrentDevice(DeviceMicrophone)
	}
	e.emit(EventMicSilent, MicSilent{Silent: show, DeviceID: id})
}

func (e *Engine) deviceManager() (DeviceManager, error) {
	if e.devices.mgr == nil {
		return nil, fmt.Errorf("%w: this client has no devices (media is off or an echo contact)", ErrWrongState)
	}
	return e.devices.mgr, nil
}

// GetCameras lists the cameras (TRTCCalling's getCameras).
func (e *Engine) GetCameras() ([]DeviceInfo, error) { return e.listDevices(DeviceCamera) }

// GetMicrophones lists the microphones (TRTCCalling's getMicrophones).
func (e *Engine) GetMicrophones() ([]DeviceInfo, error) { return e.listDevices(DeviceMicrophone) }

// GetSpeakers lists the speakers.
func (e *Engine) GetSpeakers() ([]DeviceInfo, error) { return e.listDevices(DeviceSpeaker) }

func (e *Engine) listDevices(kind DeviceKind) ([]DeviceInfo, error) {
	m, err := e.deviceManager()
	if err != nil {
		return nil, err
	}
	d, err := m.ListDevices(kind)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	return d, nil
}

// GetDevices lists the three kinds at once; a kind that cannot be listed
// is empty (and logged).
func (e *Engine) GetDevices() (DeviceLists, error) {
	if _, err := e.deviceManager(); err != nil {
		return DeviceLists{}, err
	}
	return e.deviceLists(), nil
}

func (e *Engine) deviceLists() DeviceLists {
	var l DeviceLists
	for _, k := range DeviceKinds() {
		d, err := e.listDevices(k)
		if err != nil {
			e.log.Warn("list devices", "kind", k, "err", err)
		}
		l.set(k, d)
	}
	return l
}

// CurrentDevice is the ID of the device of kind in use ("" without devices).
func (e *Engine) CurrentDevice(kind DeviceKind) string {
	m, err := e.deviceManager()
	if err != nil {
		return ""
	}
	return m.CurrentDevice(kind)
}

// SwitchDevice makes the media use device id of kind (TRTCCalling's
// switchDevice): in a call at once, without a new call (the far end keeps
// decoding the same stream), and for later calls. A bad kind or an id
// that names no device of that kind is an error, and the call goes on.
func (e *Engine) SwitchDevice(kind DeviceKind, id string) error {
	m, err := e.deviceManager()
	if err != nil {
		return err
	}
	if _, err := ParseDeviceKind(string(kind)); err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("%w: switch %s: no device ID", ErrInvalidArgument, kind)
	}
	if err := m.SwitchDevice(kind, id); err != nil {
		return fmt.Errorf("switch %s: %w", kind, err)
	}
	e.log.Info("device switched", "kind", kind, "device", id)
	return nil
}

// startDeviceWatchLocked starts looking for devices that come and go
// (one goroutine, ended by stopDeviceWatchLocked; Close waits for it).
func (e *Engine) startDeviceWatchLocked() {
	w := &e.devices
	if w.mgr == nil || w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(e.life)
	w.stop, w.done = cancel, make(chan struct{})
	done := w.done
	// The first listing is taken now, not by the goroutine: a device
	// unplugged right after login must still be seen going.
	first := e.deviceLists()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		e.watchDevices(ctx, first)
	}()
}

// stopDeviceWatchLocked ends the watch. The returned channel is closed
// once its goroutine has exited (nil: none ever ran); wait for it without
// the lock.
func (e *Engine) stopDeviceWatchLocked() <-chan struct{} {
	w := &e.devices
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	return w.done
}

// watchDevices lists the devices every DeviceWatchEvery and emits
// DEVICED_UPDATED and DEVICE_UPDATED when a listing changed. A device in
// use that is gone is replaced by its kind's default.
func (e *Engine) watchDevices(ctx context.Context, last DeviceLists) {
	m := e.devices.mgr
	t := time.NewTicker(DeviceWatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := e.deviceLists()
		if now.equal(last) {
			continue
		}
		var falls []DeviceFallback
		for _, k := range DeviceKinds() {
			cur := m.CurrentDevice(k)
			if cur == "" || !hasDevice(last.Of(k), cur) || hasDevice(now.Of(k), cur) {
				continue
			}
			to, ok := defaultDevice(now.Of(k), cur)
			if !ok {
				e.log.Warn("device gone, none to fall back to", "kind", k, "device", cur)
				continue
			}
			if err := m.SwitchDevice(k, to); err != nil {
				e.log.Warn("fall back to the default device", "kind", k, "device", to, "err", err)
				continue
			}
			e.log.Info("device gone, fell back", "kind", k, "device", cur, "now", to)
			falls = append(falls, DeviceFallback{Kind: k, From: cur, To: to})
		}
		last = now
		if ctx.Err() != nil {
			return
		}
		up := DevicesUpdated{DeviceLists: now, Fallbacks: falls}
		e.mu.Lock()
		e.emit(EventDevicedUpdated, up)
		e.emit(EventDeviceUpdated, up)
		e.mu.Unlock()
	}
}

func hasDevice(d []DeviceInfo, id string) bool {
	return slices.ContainsFunc(d, func(i DeviceInfo) bool { return i.ID == id })
}

// defaultDevice picks what replaces gone: the listing's default, else its
// first device.
func defaultDevice(d []DeviceInfo, gone string) (string, bool) {
	for _, i := range d {
		if i.Default && i.ID != gone {
			return i.ID, true
		}
	}
	for _, i := range d {
		if i.ID != gone {
			return i.ID, true
		}
	}
	return "", false
}

// initDevices is New's part: the manager reports to the engine.
func (e *Engine) initDevices(m DeviceManager) {
	e.devices.mgr = m
	if m != nil {
		m.SetDeviceReporter(engineReporter{e})
	}
}

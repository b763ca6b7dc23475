package client

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/device"
	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/camera"
)

// devices is the client's callcore.DeviceManager: it lists the sound
// system's devices (miniaudio), the V4L2 cameras and the stand-ins
// (tone:HZ, wav:FILE, silence, null, pattern, y4m:FILE), and switches
// the media's sources and speaker (media.AudioInSwitch and friends) to
// any of them. Device IDs are the --audio-in/--audio-out/--video-in specs
// that open them, so a listed ID works on the command line too.
type devices struct {
	log   *slog.Logger
	aopts audio.Options
	vcfg  video.Config

	// How to list; tests replace them with fixed lists.
	listAudio   func(capture bool) ([]device.Info, error)
	listCameras func() ([]camera.Info, error)

	mic *media.AudioInSwitch
	spk *media.AudioOutSwitch
	cam *media.VideoInSwitch // nil: this client sends no video

	factory atomic.Pointer[media.Factory] // set once built, for keyframes

	mu       sync.Mutex
	started  map[callcore.DeviceKind]string   // what the client started with
	cur      map[callcore.DeviceKind]string   // in use now
	seen     map[callcore.DeviceKind][]string // stand-ins used, in order
	reporter callcore.DeviceReporter
	micWatch *silenceWatch // of the current microphone; nil for "silence"
}

var _ callcore.DeviceManager = (*devices)(nil)

func newDevices(aopts audio.Options, vcfg video.Config, devCfg device.Config, log *slog.Logger) *devices {
	return &devices{
		log: log, aopts: aopts, vcfg: vcfg,
		listAudio:   func(capture bool) ([]device.Info, error) { return device.List(devCfg, capture) },
		listCameras: camera.List,
		started:     map[callcore.DeviceKind]string{},
		cur:         map[callcore.DeviceKind]string{},
		seen:        map[callcore.DeviceKind][]string{},
	}
}

// Prefixes of the IDs of real devices, as the specs spell them.
var devicePrefix = map[callcore.DeviceKind]string{
	callcore.DeviceMicrophone: "mic",
	callcore.DeviceSpeaker:    "speaker",
	callcore.DeviceCamera:     "camera",
}

// alwaysThere are the stand-ins every client has: the null microphone
// and speaker, and the two test patterns.
func alwaysThere(kind callcore.DeviceKind) []string {
	switch kind {
	case callcore.DeviceMicrophone:
		return []string{"silence"}
	case callcore.DeviceSpeaker:
		return []string{"null"}
	case callcore.DeviceCamera:
		return []string{"pattern", "pattern:busy"}
	}
	return nil
}

// use records id as the device of kind in use (started: the first).
func (d *devices) use(kind callcore.DeviceKind, id string, started bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if started {
		d.started[kind] = id
	}
	d.cur[kind] = id
	if !strings.HasPrefix(id, devicePrefix[kind]+":") && !contains(d.seen[kind], id) {
		d.seen[kind] = append(d.seen[kind], id)
	}
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// ListDevices implements callcore.DeviceManager: the real devices (a
// sound system or camera that cannot be listed just has none), then the
// stand-ins. Default marks what a vanished device falls back to: the
// system's default device, else the one the client started with.
func (d *devices) ListDevices(kind callcore.DeviceKind) ([]callcore.DeviceInfo, error) {
	var out []callcore.DeviceInfo
	prefix := devicePrefix[kind] + ":"
	switch kind {
	case callcore.DeviceMicrophone, callcore.DeviceSpeaker:
		hw, err := d.listAudio(kind == callcore.DeviceMicrophone)
		if err != nil {
			d.log.Debug("list sound devices", "kind", kind, "err", err)
		}
		for _, i := range hw {
			out = append(out, callcore.DeviceInfo{ID: prefix + i.Name, Label: i.Name, Default: i.IsDefault})
		}
	case callcore.DeviceCamera:
		hw, err := d.listCameras()
		if err != nil {
			d.log.Debug("list cameras", "err", err)
		}
		for _, i := range hw {
			out = append(out, callcore.DeviceInfo{ID: prefix + i.Path, Label: i.Label})
		}
	default:
		return nil, fmt.Errorf("%w: device kind %q", callcore.ErrInvalidArgument, kind)
	}
	d.mu.Lock()
	started := d.started[kind]
	ids := append(append([]string{}, d.seen[kind]...), alwaysThere(kind)...)
	d.mu.Unlock()
	for _, id := range ids {
		if !hasID(out, id) {
			out = append(out, callcore.DeviceInfo{ID: id, Label: standInLabel(kind, id)})
		}
	}
	if !hasDefault(out) {
		for i := range out {
			if out[i].ID == started {
				out[i].Default = true
			}
		}
	}
	return out, nil
}

func hasID(l []callcore.DeviceInfo, id string) bool {
	for _, i := range l {
		if i.ID == id {
			return true
		}
	}
	return false
}

func hasDefault(l []callcore.DeviceInfo) bool {
	for _, i := range l {
		if i.Default {
			return true
		}
	}
	return false
}

// standInLabel says in words what a stand-in ID is.
func standInLabel(kind callcore.DeviceKind, id string) string {
	k, arg, _ := strings.Cut(id, ":")
	switch k {
	case "tone":
		return arg + " Hz test tone"
	case "wav":
		if kind == callcore.DeviceSpeaker {
			return "recording to " + arg
		}
		return "sound file " + arg
	case "silence":
		return "silence (no microphone)"
	case "null":
		return "nothing (audio is not played)"
	case "pattern":
		if arg == "busy" {
			return "moving test pattern"
		}
		return "test pattern"
	case "y4m":
		return "video file " + arg
	case "mic", "speaker", "camera":
		return "system default " + string(kind)
	}
	return id
}

// CurrentDevice implements callcore.DeviceManager.
func (d *devices) CurrentDevice(kind callcore.DeviceKind) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur[kind]
}

// SetDeviceReporter implements callcore.DeviceManager.
func (d *devices) SetDeviceReporter(r callcore.DeviceReporter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reporter = r
}

func (d *devices) report() callcore.DeviceReporter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reporter
}

// SwitchDevice implements callcore.DeviceManager. The new device is
// opened first: if it cannot be, the error says why and the old one
// stays in use.
func (d *devices) SwitchDevice(kind callcore.DeviceKind, id string) error {
	switch kind {
	case callcore.DeviceMicrophone:
		in, err := audio.ParseInput(id, d.aopts)
		if err != nil {
			return fmt.Errorf("%w: microphone %q: %w", callcore.ErrInvalidArgument, id, err)
		}
		d.mic.Swap(d.watchMic(id, in))
	case callcore.DeviceSpeaker:
		out, err := audio.ParseOutput(id, d.aopts)
		if err != nil {
			return fmt.Errorf("%w: speaker %q: %w", callcore.ErrInvalidArgument, id, err)
		}
		d.spk.Swap(out)
	case callcore.DeviceCamera:
		if d.cam == nil {
			return fmt.Errorf("%w: this client sends no video (--video-in none)", callcore.ErrWrongState)
		}
		src, err := d.openCamera(id)
		if err != nil {
			return err
		}
		d.cam.Swap(src)
		if f := d.factory.Load(); f != nil {
			f.ForceKeyframe()
		}
	default:
		return fmt.Errorf("%w: device kind %q", callcore.ErrInvalidArgument, kind)
	}
	d.use(kind, id, false)
	return nil
}

func (d *devices) openCamera(id string) (video.Source, error) {
	is, err := video.ParseInput(id)
	if err == nil && is.Kind == video.InputNone {
		err = fmt.Errorf("%w: none is not a camera (closeCamera stops sending video)", video.ErrBadSpec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: camera %q: %w", callcore.ErrInvalidArgument, id, err)
	}
	src, err := video.OpenInput(is, d.vcfg, video.WithCamera(camera.Opener))
	if err != nil {
		return nil, fmt.Errorf("%w: camera %q: %w", callcore.ErrInvalidArgument, id, err)
	}
	return src, nil
}

// watchMic puts the silent-microphone check on a newly opened input
// (not on "silence", which is silent on purpose) and ends the previous
// microphone's: a silent one no longer is once replaced.
func (d *devices) watchMic(id string, in audio.Input) audio.Input {
	var w *silenceWatch
	if id != "silence" {
		w = &silenceWatch{in: in, format: d.aopts.Format, report: d.micSilent}
	}
	d.mu.Lock()
	old := d.micWatch
	d.micWatch = w
	d.mu.Unlock()
	if old != nil && old.retire() {
		d.micSilent(false)
	}
	if w == nil {
		return in
	}
	return w
}

func (d *devices) micSilent(silent bool) {
	if r := d.report(); r != nil {
		r.MicSilent(silent)
	}
}

// speakerFailed is the speaker switch's OnFail: playout goes on with the
// default speaker, or with none (null) when that is the one that failed
// or cannot be opened. Audio keeps being received and decoded either way.
func (d *devices) speakerFailed(err error) audio.Output {
	from := d.CurrentDevice(callcore.DeviceSpeaker)
	to := "null"
	if l, lerr := d.ListDevices(callcore.DeviceSpeaker); lerr == nil {
		for _, i := range l {
			if i.Default && i.ID != from {
				to = i.ID
			}
		}
	}
	next, oerr := audio.ParseOutput(to, d.aopts)
	if oerr != nil {
		d.log.Warn("default speaker cannot be opened either", "speaker", to, "err", oerr)
		to, next = "null", audio.Null{}
	}
	d.use(callcore.DeviceSpeaker, to, false)
	if r := d.report(); r != nil {
		r.DeviceFailed(callcore.DeviceSpeaker, from, to, err)
	}
	return next
}

// silenceWatch reports a microphone that delivers only silence (below
// callcore.SilentMicDBFS) for callcore.SilentMicAfter of audio, as one
// muted in the operating system does, and when sound comes back. Time is
// counted in audio frames, not on a clock.
type silenceWatch struct {
	in     audio.Input
	format audio.Format
	report func(silent bool)

	quiet   time.Duration // audio below the threshold so far; only ReadFrame uses it
	silent  atomic.Bool
	retired atomic.Bool
}

func (w *silenceWatch) ReadFrame(pcm []int16) error {
	if err := w.in.ReadFrame(pcm); err != nil {
		return err //nolint:wrapcheck // the device's own error
	}
	if w.retired.Load() || len(pcm) == 0 {
		return nil
	}
	if audio.LevelDBFS(pcm) >= callcore.SilentMicDBFS {
		w.quiet = 0
		if w.silent.Swap(false) {
			w.report(false)
		}
		return nil
	}
	ch := max(w.format.Channels, 1)
	w.quiet += time.Duration(len(pcm)/ch) * time.Second / time.Duration(w.format.SampleRate)
	if w.quiet >= callcore.SilentMicAfter && !w.silent.Swap(true) {
		w.report(true)
	}
	return nil
}

// retire stops the watch and reports whether it had said "silent".
func (w *silenceWatch) retire() bool {
	w.retired.Store(true)
	return w.silent.Swap(false)
}

func (w *silenceWatch) Clocked() bool { return audio.IsClocked(w.in) }
func (w *silenceWatch) Close() error  { return w.in.Close() }

// Latency passes the microphone's on to the echo canceller (-1: none).
func (w *silenceWatch) Latency() time.Duration {
	if d, ok := audio.LatencyOf(w.in); ok {
		return d
	}
	return -1
}

package headless

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/netsim"
	"github.com/termcall/termcall/video"
)

// EventStats is printed by headless mode once per interval and per remote
// user while a call has media, and for each peer on the stats command.
const EventStats = "STATS"

// MediaOptions choose a headless client's media. With Enabled false the
// client does signaling only, and USER_ENTER fires when a member joins.
type MediaOptions struct {
	Enabled     bool
	AudioIn     string             // tone:HZ | wav:FILE | mic[:DEVICE] | silence
	AudioOut    string             // wav:FILE | speaker[:DEVICE] | null
	VideoIn     string             // pattern | y4m:FILE | camera[:DEVICE] | none
	VideoOut    string             // dir:DIR | null
	VideoOutFPS float64            // PNG frames per second and view at most
	Width       int                // sent video size
	Height      int                //
	FPS         int                // sent frame rate
	AudioFrame  time.Duration      // 20 ms or 10 ms Opus frames
	LoopbackICE bool               // ICE candidates on 127.0.0.1 only
	ICEServers  []config.ICEServer // STUN/TURN servers besides those the server hands out
	StatsEvery  time.Duration      // STATS interval; 0 = only on the stats command
	// ICEPolicy is "all" (default) or "relay": only TURN relay candidates,
	// for users who must not reveal their address.
	ICEPolicy string
	// VideoQuality, if set, is applied at start as setVideoQuality is
	// ("360p"; it overrides Width, Height and FPS).
	VideoQuality string
	// ImpairLoss and ImpairJitter degrade this client's inbound media
	// path: each datagram is dropped with probability ImpairLoss or
	// delayed by a random 0..ImpairJitter. A testing aid.
	ImpairLoss   float64
	ImpairJitter time.Duration
	// Echo makes the client an echo contact: it plays back what it hears
	// about a second later and sends back the video it receives, mirrored.
	Echo bool
	// AEC, NS and AGC switch the audio processing; nil: on with a real
	// microphone and speaker only (client.MediaSpec).
	AEC, NS, AGC *bool
	// EchoPath feeds what is played back into the microphone through a
	// simulated room of this delay: a testing aid for the AEC.
	EchoPath time.Duration
}

// DefaultMediaOptions are the flags' defaults.
func DefaultMediaOptions() MediaOptions {
	return MediaOptions{
		Enabled: true, AudioIn: "silence", AudioOut: "null", VideoIn: "pattern", VideoOut: "null",
		VideoOutFPS: 5, Width: 320, Height: 240, FPS: 15, AudioFrame: 20 * time.Millisecond,
		StatsEvery: time.Second, ICEPolicy: "all",
	}
}

// Ranges of the impairment flags: enough to test with, not enough to
// break a call by accident.
const (
	maxImpairLoss   = 0.5
	maxImpairJitter = 500 * time.Millisecond
)

// impairConfig validates the impairment flags.
func (o MediaOptions) impairConfig() (netsim.Config, error) {
	if !(o.ImpairLoss >= 0 && o.ImpairLoss <= maxImpairLoss) {
		return netsim.Config{}, fmt.Errorf("--impair-loss %v: want a fraction in 0..%v", o.ImpairLoss, maxImpairLoss)
	}
	if o.ImpairJitter < 0 || o.ImpairJitter > maxImpairJitter {
		return netsim.Config{}, fmt.Errorf("--impair-jitter %v: want 0..%v", o.ImpairJitter, maxImpairJitter)
	}
	// In order, as a queueing link delays: free reordering made pion's
	// transport-cc feedback report late packets lost, which the congestion
	// control then read as 10-20 % loss on a 5 % link.
	return netsim.Config{Loss: o.ImpairLoss, Jitter: o.ImpairJitter, InOrder: true}, nil
}

// impairedNet is the network media runs on with the impairment flags: the
// real one wrapped so that inbound datagrams are lost and delayed, or nil
// (media's default, the real network) when the flags impair nothing.
func (o MediaOptions) impairedNet() (transport.Net, error) {
	cfg, err := o.impairConfig()
	if err != nil || !cfg.Enabled() {
		return nil, err
	}
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	n, err := netsim.NewNet(std, cfg)
	if err != nil {
		return nil, fmt.Errorf("impairment: %w", err)
	}
	return n, nil
}

// views are headless's video outputs: with --video-out dir:DIR each view
// writes PNGs into DIR/VIEW. In echo and dir mode, each arriving user's
// video is bound to a view of their name (autoView).
type views struct {
	autoView bool
	dir      string // "" for null
	fps      float64
	log      *slog.Logger

	mu    sync.Mutex
	sinks map[string]video.Sink
	sizes map[string][2]int // startRemoteView's WxH, by view
}

// mediaSpec turns the media flags into the client's media spec, and the
// views that take the decoded video.
func mediaSpec(o MediaOptions, log *slog.Logger, onStats func(media.Stats)) (*client.MediaSpec, *views, error) {
	inet, err := o.impairedNet()
	if err != nil {
		return nil, nil, err
	}
	v := &views{fps: o.VideoOutFPS, log: log, sinks: map[string]video.Sink{}, autoView: o.Echo}
	if !o.Echo {
		vout, err := video.ParseOutput(o.VideoOut)
		if err != nil {
			return nil, nil, fmt.Errorf("--video-out: %w", err)
		}
		if vout.Kind == video.OutputDir {
			v.dir, v.autoView = vout.Dir, true
		}
	}
	spec := &client.MediaSpec{
		AudioIn: o.AudioIn, AudioOut: o.AudioOut, VideoIn: o.VideoIn, Echo: o.Echo,
		Width: o.Width, Height: o.Height, FPS: o.FPS, AudioFrame: o.AudioFrame,
		ICEServers: o.ICEServers, LoopbackICE: o.LoopbackICE, Net: inet,
		ViewSink: v.sink, OnStats: onStats, StatsEvery: o.StatsEvery,
		AEC: o.AEC, NS: o.NS, AGC: o.AGC, EchoPath: o.EchoPath,
	}
	switch o.ICEPolicy {
	case "", "all":
	case "relay":
		spec.RelayOnly = true
	default:
		return nil, nil, fmt.Errorf("--ice-policy %q: want all or relay", o.ICEPolicy)
	}
	return spec, v, nil
}

// sink resolves a view name to what shows it: its PNG directory sink,
// and, for a view given a size (startRemoteView USER VIEW WxH), that
// size, which the media layer tells the sender (it sends no larger).
func (v *views) sink(viewID string) video.Sink {
	inner := v.dirSink(viewID)
	v.mu.Lock()
	_, sized := v.sizes[viewID]
	v.mu.Unlock()
	if !sized {
		return inner
	}
	return &sizedView{v: v, id: viewID, inner: inner}
}

// setSize records the largest size view shows (0x0: any).
func (v *views) setSize(viewID string, w, h int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sizes == nil {
		v.sizes = map[string][2]int{}
	}
	v.sizes[viewID] = [2]int{w, h}
}

// sizedView is a view with a size; frames go to its directory sink, if
// any (views.close closes that).
type sizedView struct {
	v     *views
	id    string
	inner video.Sink
}

func (s *sizedView) WriteFrame(f *video.Frame) error {
	if s.inner == nil {
		return nil
	}
	return s.inner.WriteFrame(f)
}

func (s *sizedView) Close() error { return nil }

// ViewSize is read by the media layer (callcore/media's viewSizer).
func (s *sizedView) ViewSize() (w, h int) {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	sz := s.v.sizes[s.id]
	return sz[0], sz[1]
}

// dirSink resolves a view name to its PNG directory sink, made on first use.
func (v *views) dirSink(viewID string) video.Sink {
	if v.dir == "" {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if k, ok := v.sinks[viewID]; ok {
		return k
	}
	k, err := video.NewDirSink(filepath.Join(v.dir, filepath.Base(viewID)), v.fps, video.WithLogger(v.log))
	if err != nil {
		v.log.Warn("video out", "view", viewID, "err", err)
		v.sinks[viewID] = nil
		return nil
	}
	v.sinks[viewID] = k
	return k
}

func (v *views) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	for _, k := range v.sinks {
		if k != nil {
			errs = append(errs, k.Close())
		}
	}
	return errors.Join(errs...)
}

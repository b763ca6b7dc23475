// Package bench measures termcall's speed on this machine with real parts:
// the signaling server in-process on 127.0.0.1, engines with pion peers
// over loopback, Opus and VP8 through libopus and libvpx, and real
// `termcall headless` processes for the CPU cost of a client.
//
// Three measurements, all on a 1:1 audio+video call:
//   - call setup: from the callee's Accept to USER_ENTER, first decoded
//     audio and first decoded video on each side, over sequential calls;
//   - one-way audio latency: from a marked frame leaving the audio source
//     (into the encoder) to it leaving the receiver's jitter buffer (into
//     the audio sink);
//   - CPU and RSS per client process over a window of the call.
//
// The machine is shared and noisy: results are medians and p90s, and the
// numbers are meant to be compared as ratios between runs.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/termcall/termcall/server"
)

// Defaults of Options.
const (
	DefaultCalls     = 20
	DefaultMarks     = 20
	DefaultCPUWindow = 10 * time.Second
	sdkAppID         = 1400000000
)

// Options choose what Run measures.
type Options struct {
	// Calls is the number of sequential calls timed for setup.
	Calls int
	// Marks is the number of marked audio frames timed for latency.
	Marks int
	// CPUWindow is how long client CPU is measured; 0 means the default.
	CPUWindow time.Duration
	// Binary is the termcall executable run as `headless` clients for the
	// CPU measurement. Empty skips that measurement.
	Binary string
	// BinaryEnv is added to the clients' environment (tests use it to run
	// the test binary as termcall).
	BinaryEnv []string
	// Processing runs the CPU clients with echo cancellation, noise
	// suppression and gain control forced on, the processing a client with a
	// real microphone and speaker runs (the stand-in devices turn it off).
	Processing bool
	// Shaped is how many shaped-link calls to make (0: none; `termcall
	// bench` makes 3), ShapedHold the one-second windows each judges
	// while shaped (0: DefaultShapedHold).
	Shaped, ShapedHold int
	// Progress receives one line per step (nil: silent).
	Progress io.Writer
	// Logger gets the server's and engines' logs (nil: discarded).
	Logger *slog.Logger
}

func (o *Options) fill() error {
	if o.Calls == 0 {
		o.Calls = DefaultCalls
	}
	if o.Marks == 0 {
		o.Marks = DefaultMarks
	}
	if o.CPUWindow == 0 {
		o.CPUWindow = DefaultCPUWindow
	}
	if o.ShapedHold == 0 {
		o.ShapedHold = DefaultShapedHold
	}
	if o.Shaped < 0 || o.ShapedHold < 1 {
		return fmt.Errorf("%w: shaped runs %d, hold %d (want >= 0, >= 1)", ErrBadOptions, o.Shaped, o.ShapedHold)
	}
	if o.Calls < 1 || o.Marks < 1 || o.CPUWindow < 500*time.Millisecond {
		return fmt.Errorf("%w: calls %d, marks %d, cpu window %v (want >= 1, >= 1, >= 500ms)",
			ErrBadOptions, o.Calls, o.Marks, o.CPUWindow)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Result holds every number Run measured.
type Result struct {
	Machine Machine       `json:"machine"`
	Call    CallShape     `json:"call"`
	Setup   SetupResult   `json:"setup"`
	Latency LatencyResult `json:"latency"`
	CPU     *CPUResult    `json:"cpu,omitempty"`    // nil when Options.Binary is empty
	Shaped  *ShapedResult `json:"shaped,omitempty"` // nil when Options.Shaped is 0
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// CallShape describes the benchmarked call.
type CallShape struct {
	Video        string `json:"video"`
	Audio        string `json:"audio"`
	Transport    string `json:"transport"`
	AudioFrameMs int    `json:"audioFrameMs"`
}

// Run starts a signaling server on 127.0.0.1 and takes every measurement.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.fill(); err != nil {
		return Result{}, err
	}
	res := Result{
		Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH},
		Call: CallShape{
			Video: "VP8 320x240 @ 15 fps, 300 kbit/s (test pattern)", Audio: "Opus 48 kHz mono, 32 kbit/s",
			Transport: "pion/webrtc, ICE on 127.0.0.1", AudioFrameMs: 20,
		},
	}
	env, stop, err := startBenchServer(o.Logger, o.Progress)
	if err != nil {
		return res, err
	}
	defer stop()

	if res.Setup, err = measureSetup(ctx, env, o.Calls); err != nil {
		return res, fmt.Errorf("call setup: %w", err)
	}
	if res.Latency, err = measureLatency(ctx, env, o.Marks); err != nil {
		return res, fmt.Errorf("audio latency: %w", err)
	}
	if o.Binary != "" {
		cpu, err := measureCPU(ctx, env, o.Binary, o.BinaryEnv, o.CPUWindow, o.Processing)
		if err != nil {
			return res, fmt.Errorf("cpu: %w", err)
		}
		res.CPU = &cpu
	}
	if o.Shaped > 0 {
		sh, err := measureShaped(ctx, env, o.Shaped, o.ShapedHold)
		if err != nil {
			return res, fmt.Errorf("shaped link: %w", err)
		}
		res.Shaped = &sh
	}
	return res, nil
}

// benchEnv is what every measurement shares.
type benchEnv struct {
	url      string
	secret   string
	log      *slog.Logger
	progress io.Writer
}

func (e benchEnv) printf(format string, args ...any) {
	fmt.Fprintf(e.progress, format+"\n", args...)
}

// startBenchServer runs a signaling server on a free port of 127.0.0.1
// with a fresh secret, for one benchmark run; stop shuts it down.
func startBenchServer(log *slog.Logger, progress io.Writer) (env benchEnv, stop func(), err error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return env, nil, fmt.Errorf("secret: %w", err)
	}
	env = benchEnv{secret: hex.EncodeToString(key[:]), log: log, progress: progress}
	srv, err := server.New(server.Options{Addr: "127.0.0.1:0", SDKAppID: sdkAppID, Secret: env.secret, Logger: log})
	if err != nil {
		return env, nil, fmt.Errorf("server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return env, nil, fmt.Errorf("server: %w", err)
	}
	env.url = srv.URL()
	return env, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

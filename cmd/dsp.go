package cmd

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/dsp"
)

// dspCommand returns `termcall dsp`: the call's audio processing run
// offline over WAV files.
func dspCommand() *cobra.Command {
	var (
		far, mic, out string
		aec, ns, agc  bool
		report        bool
		delay         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dsp --mic MIC.wav --out OUT.wav [--far FAR.wav] [--aec=true|false] [--ns=…] [--agc=…] [--report]",
		Short: "Run the call's echo cancellation, noise suppression and gain control over WAV files",
		Long: `dsp processes a microphone recording the way a call processes the microphone
(WebRTC's audio processing: echo cancellation, noise suppression, automatic
gain, high-pass filter) and writes the result.

MIC.wav is what the microphone captured; FAR.wav is what the speaker played at
the same time, aligned sample for sample as a sound card delivers them (the
echo's delay is in the recordings: the echo canceller finds it; --delay gives
a known part of it). Both are 16-bit PCM, mono (stereo is mixed down), at the
same rate between 8 and 48 kHz; OUT.wav has the microphone's rate and length.
Without --far there is no echo to cancel. --report prints the levels and the
echo canceller's ERLE (echo return loss enhancement).`,
		Example: `  termcall dsp --far played.wav --mic recorded.wav --out clean.wav --report
  termcall dsp --mic noisy.wav --out quiet.wav --aec=false --agc=false`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, ok := dsp.CallConfig(aec, ns, agc)
			if !ok {
				cfg = dsp.Config{} // everything off: the output is the input
			}
			return runDSP(cmd.OutOrStdout(), cfg, far, mic, out, delay, report)
		},
	}
	f := cmd.Flags()
	f.StringVar(&far, "far", "", "WAV file of what the speaker played (the echo canceller's reference)")
	f.StringVar(&mic, "mic", "", "WAV file of what the microphone captured")
	f.StringVar(&out, "out", "", "WAV file to write the processed microphone to")
	f.BoolVar(&aec, "aec", true, "echo cancellation")
	f.BoolVar(&ns, "ns", true, "noise suppression")
	f.BoolVar(&agc, "agc", true, "automatic gain control")
	f.DurationVar(&delay, "delay", 0, "known delay from the far file to its echo in the mic file (the canceller estimates the rest)")
	f.BoolVar(&report, "report", false, "print levels and ERLE")
	for _, name := range []string{"mic", "out"} {
		_ = cmd.MarkFlagRequired(name) // cannot fail: the flags exist
	}
	return cmd
}

func runDSP(w io.Writer, cfg dsp.Config, farPath, micPath, outPath string, delay time.Duration, report bool) error {
	mic, rate, err := audio.ReadWAV(micPath)
	if err != nil {
		return fmt.Errorf("--mic: %w", err)
	}
	var far []int16
	if farPath != "" {
		var farRate int
		if far, farRate, err = audio.ReadWAV(farPath); err != nil {
			return fmt.Errorf("--far: %w", err)
		}
		if farRate != rate {
			return fmt.Errorf("--far is at %d Hz and --mic at %d Hz: record both at one rate, as a sound card does", farRate, rate)
		}
	} else {
		cfg.AEC = false // nothing to cancel
	}
	if delay < 0 || delay > 500*time.Millisecond {
		return fmt.Errorf("--delay %v: want 0..500ms", delay)
	}
	processed, rep, err := dsp.ProcessSignal(cfg, far, mic, rate, delay)
	if err != nil {
		if errors.Is(err, dsp.ErrConfig) {
			return fmt.Errorf("%s: %w", micPath, err)
		}
		return err
	}
	wf := audio.Format{SampleRate: rate, Channels: 1, FrameDuration: 10 * time.Millisecond}
	wav, err := audio.CreateWAV(outPath, wf)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := wav.WriteFrame(processed); err != nil {
		_ = wav.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := wav.Close(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if report {
		printDSPReport(w, cfg, rep)
	}
	return nil
}

func printDSPReport(w io.Writer, cfg dsp.Config, r dsp.Report) {
	fmt.Fprintf(w, "%d Hz, %.1f s, aec=%v ns=%v agc=%v", r.SampleRate, r.Duration.Seconds(), cfg.AEC, cfg.NS, cfg.AGC)
	if r.ModuleRate != r.SampleRate {
		fmt.Fprintf(w, " (processed at %d Hz)", r.ModuleRate)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "far  %6.1f dBFS\n", r.FarDBFS)
	fmt.Fprintf(w, "mic  %6.1f dBFS\n", r.MicDBFS)
	fmt.Fprintf(w, "out  %6.1f dBFS (%.1f dB below the mic)\n", r.OutDBFS, r.MicDBFS-r.OutDBFS)
	if !math.IsNaN(r.FarTalkReduction) {
		fmt.Fprintf(w, "while the far end talks: out %.1f dB below the mic\n", r.FarTalkReduction)
	}
	if cfg.AEC {
		if math.IsNaN(r.ERLE) {
			fmt.Fprintln(w, "ERLE none yet (too little far-end sound)")
		} else {
			fmt.Fprintf(w, "ERLE %.0f dB (the echo canceller's average; last %.0f dB)\n", r.ERLE, r.ERLEInstant)
		}
		if r.Delay >= 0 {
			fmt.Fprintf(w, "echo delay estimate %v\n", r.Delay)
		}
	}
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// Command returns the `termcall bench` command.
func Command() *cobra.Command {
	var (
		o        Options
		cpuSecs  float64
		asJSON   bool
		quiet    bool
		noClient bool
		soak     int
		soakHold time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure call setup time, one-way audio latency and CPU per client on this machine",
		Long: `bench runs a signaling server on 127.0.0.1 and 1:1 audio+video calls with real
pion peers (ICE on loopback), Opus and VP8, then prints a table:
  - call setup: from the callee's accept to USER_ENTER, the first decoded audio
    and the first decoded video on each side (median and p90 over --calls calls);
  - one-way audio latency: from a marked frame entering the Opus encoder to it
    leaving the receiver's jitter buffer (median and p90 over --marks marks);
  - CPU (% of one core) and RSS of two 'termcall headless' processes in a call.
Progress goes to stderr; --json prints the numbers as JSON instead of a table.

With --soak N it measures memory instead: N audio+video calls in a row between
two 'termcall headless' processes, each held --soak-hold, printing both
processes' RSS every 10 calls and the growth after call 10 (a leak shows as
steady growth; warm-up happens in the first calls).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if soak != 0 {
				return runSoak(cmd, SoakOptions{Calls: soak, Hold: soakHold}, quiet, asJSON)
			}
			o.CPUWindow = time.Duration(cpuSecs * float64(time.Second))
			if !noClient {
				bin, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find termcall binary: %w", err)
				}
				o.Binary = bin
			}
			if !quiet {
				o.Progress = cmd.ErrOrStderr()
			}
			res, err := Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return WriteTable(cmd.OutOrStdout(), res)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Calls, "calls", DefaultCalls, "sequential calls timed for call setup")
	f.IntVar(&o.Marks, "marks", DefaultMarks, "marked audio frames timed for latency")
	f.Float64Var(&cpuSecs, "cpu-seconds", DefaultCPUWindow.Seconds(), "seconds of a call over which client CPU is measured")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	f.BoolVar(&noClient, "no-cpu", false, "skip the CPU measurement (it runs this binary as two headless clients)")
	f.IntVar(&soak, "soak", 0, "instead of the timings, make this many calls in a row and report both clients' RSS")
	f.DurationVar(&soakHold, "soak-hold", DefaultSoakHold, "how long each --soak call stays up once video is decoded")
	return cmd
}

func runSoak(cmd *cobra.Command, o SoakOptions, quiet, asJSON bool) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find termcall binary: %w", err)
	}
	o.Binary = bin
	if !quiet {
		o.Progress = cmd.ErrOrStderr()
	}
	res, err := RunSoak(cmd.Context(), o)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return WriteSoakTable(cmd.OutOrStdout(), res)
}

// WriteTable prints r as aligned tables.
func WriteTable(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	fmt.Fprintf(w, "termcall bench: %s on %d CPUs (%s/%s, %s)\n", "1:1 audio+video call", r.Machine.CPUs, r.Machine.OS, r.Machine.Arch, r.Machine.GoVersion)
	fmt.Fprintf(w, "  %s; %s; %s\n\n", r.Call.Video, r.Call.Audio, r.Call.Transport)

	s := r.Setup
	fmt.Fprintf(w, "Call setup, ms from accept (%d calls)\n", s.Calls)
	p("  \tside\t median\t    p90\t    min\t    max")
	row := func(name, side string, d Dist) {
		p("  %s\t%s\t%7.1f\t%7.1f\t%7.1f\t%7.1f", name, side, d.MedianMs, d.P90Ms, d.MinMs, d.MaxMs)
	}
	for _, m := range []struct {
		name string
		sp   SidePair
	}{{"USER_ENTER", s.UserEnter}, {"first decoded audio", s.FirstAudio}, {"first decoded video", s.FirstVideo}} {
		row(m.name, "caller", m.sp.Caller)
		row(m.name, "callee", m.sp.Callee)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	l := r.Latency
	fmt.Fprintf(w, "\nOne-way audio latency, ms (%d of %d marks heard; 20 ms frames)\n", l.Detected, l.Marks)
	p("  \t median\t    p90\t    min\t    max")
	p("  encoder in -> jitter buffer out\t%7.1f\t%7.1f\t%7.1f\t%7.1f", l.OneWay.MedianMs, l.OneWay.P90Ms, l.OneWay.MinMs, l.OneWay.MaxMs)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "  receiver's jitter buffer (median): delay %.1f ms, target %.1f ms, jitter %.1f ms\n",
		l.BufferDelayMs, l.BufferTargetMs, l.JitterMs)

	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "\nCPU per client, termcall headless (%.1f s of a connected call)\n", c.WindowSec)
		p("  \tCPU %% of one core\tRSS MiB")
		for _, cl := range c.Clients {
			p("  %s\t%17.1f\t%7.1f", cl.Role, cl.CPUPercent, cl.RSSMiB)
		}
		p("  median\t%17.1f\t", c.MedianPercent)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

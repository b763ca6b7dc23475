package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/bench"
)

// benchCommand returns the `termcall bench` command.
func benchCommand() *cobra.Command {
	var (
		o        bench.Options
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
  - CPU (% of one core) and RSS of two 'termcall headless' processes in a call;
  - a shaped link (--shaped runs): the links shaped in-process to 200 kbit/s
    both ways mid-call, then lifted: time to adapt, bitrate and frame rate
    held, longest freeze, time to climb back.
Progress goes to stderr; --json prints the numbers as JSON instead of a table.

With --soak N it measures memory instead: N audio+video calls in a row between
two 'termcall headless' processes, each held --soak-hold, printing both
processes' RSS every 10 calls and the growth after call 10 (a leak shows as
steady growth; warm-up happens in the first calls).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if soak != 0 {
				return runSoak(cmd, bench.SoakOptions{Calls: soak, Hold: soakHold}, quiet, asJSON)
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
			res, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeResult(cmd, asJSON, res, func(w io.Writer) error { return bench.WriteTable(w, res) })
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Calls, "calls", bench.DefaultCalls, "sequential calls timed for call setup")
	f.IntVar(&o.Marks, "marks", bench.DefaultMarks, "marked audio frames timed for latency")
	f.Float64Var(&cpuSecs, "cpu-seconds", bench.DefaultCPUWindow.Seconds(), "seconds of a call over which client CPU is measured")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	f.IntVar(&o.Shaped, "shaped", 3, "shaped-link calls (200 kbit/s both ways mid-call, then lifted; 0 skips)")
	f.BoolVar(&o.Processing, "processing", true, "the CPU clients run echo cancellation, noise suppression and gain control, as with a real microphone and speaker")
	f.BoolVar(&noClient, "no-cpu", false, "skip the CPU measurement (it runs this binary as two headless clients)")
	f.IntVar(&soak, "soak", 0, "instead of the timings, make this many calls in a row and report both clients' RSS")
	f.DurationVar(&soakHold, "soak-hold", bench.DefaultSoakHold, "how long each --soak call stays up once video is decoded")
	cmd.AddCommand(benchServerCommand())
	return cmd
}

func runSoak(cmd *cobra.Command, o bench.SoakOptions, quiet, asJSON bool) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find termcall binary: %w", err)
	}
	o.Binary = bin
	if !quiet {
		o.Progress = cmd.ErrOrStderr()
	}
	res, err := bench.RunSoak(cmd.Context(), o)
	if err != nil {
		return err
	}
	return writeResult(cmd, asJSON, res, func(w io.Writer) error { return bench.WriteSoakTable(w, res) })
}

// writeResult prints a result as indented JSON or as its table.
func writeResult(cmd *cobra.Command, asJSON bool, res any, table func(io.Writer) error) error {
	if !asJSON {
		return table(cmd.OutOrStdout())
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

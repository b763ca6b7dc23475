package cmd

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/bench/load"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/procstat"
)

// benchGCPercent is the load tool's GOGC unless the environment sets one.
const benchGCPercent = 800

// benchServerCommand returns `termcall bench server`, the signaling
// server's load test.
func benchServerCommand() *cobra.Command {
	var (
		o           load.Options
		rates       string
		allowRemote string
		asJSON      bool
		quiet       bool
		cpuProfile  string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Load a signaling server: many idle users, then invite→cancel at given rates",
		Long: `server logs --users users (u00001, u00002, ...) in over real websockets, from
--addrs source addresses on 127.0.0.0/8 so that ephemeral ports do not run out,
holds them idle, then for each of --rates runs invite→cancel cycles between
random idle pairs at that many invitations per second for --phase (open loop:
an invitation is sent when due, whether or not earlier ones have finished).
It prints logins per second, the server's RSS per user, the latency from an
invite to the callee's invited push (p50, p90, p99) and the server's CPU.

Without --server it starts this binary as 'termcall serve' on 127.0.0.1 and
measures that process. With --server it needs the server's --sdkappid and
--secret (default $TERMCALL_SECRET) and measures RSS and CPU only with --pid.
A server not on this machine's loopback is refused unless --allow-remote
names its host: do not load a server that is not yours.

Each user holds one file descriptor here and one in the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, ok := os.LookupEnv("GOGC"); !ok {
				// The tool shares the machine with the server it measures:
				// its 10k clients' garbage, collected at the default pace,
				// took 18 % of a core from it. Memory is cheaper here.
				debug.SetGCPercent(benchGCPercent)
			}
			rs, err := load.ParseRates(rates)
			if err != nil {
				return fmt.Errorf("--rates: %w", err)
			}
			o.Rates = rs
			if o.ServerURL != "" {
				if err := load.CheckTarget(o.ServerURL, allowRemote); err != nil {
					return err
				}
				if o.Secret == "" {
					o.Secret = os.Getenv(config.SecretEnv)
				}
			} else {
				if o.PID != 0 {
					return fmt.Errorf("--pid needs --server")
				}
				bin, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find termcall binary: %w", err)
				}
				o.Binary = bin
			}
			if !quiet {
				o.Progress = cmd.ErrOrStderr()
			}
			if cpuProfile != "" {
				stop, err := procstat.StartCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer func() { _ = stop() }()
			}
			res, err := load.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeResult(cmd, asJSON, res, func(w io.Writer) error { return load.WriteTable(w, res) })
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Users, "users", load.DefaultUsers, "users logged in and held idle")
	f.StringVar(&rates, "rates", "500,1000,2000,4000", "invitations per second, one phase each (comma-separated)")
	f.DurationVar(&o.Phase, "phase", load.DefaultPhase, "length of each rate's phase")
	f.Float64Var(&o.LoginRate, "login-rate", 0, "logins per second (0: as fast as possible, at most --login-concurrency at once)")
	f.IntVar(&o.Concurrency, "login-concurrency", load.DefaultConcurrency, "logins in flight at once")
	f.IntVar(&o.Addrs, "addrs", load.DefaultAddrs, "source addresses 127.0.0.2... (each holds about 28k ephemeral ports; 0: the kernel's choice)")
	f.StringArrayVar(&o.ServeArgs, "serve-arg", nil, "without --server: one more flag for the server it starts, e.g. --serve-arg=--data=DIR (repeatable)")
	f.StringVar(&o.ServerURL, "server", "", "load this server (ws://HOST:PORT/ws) instead of starting one")
	f.Uint32Var(&o.SDKAppID, "sdkappid", 0, "with --server: its SDKAppID")
	f.StringVar(&o.Secret, "secret", "", "with --server: its userSig secret key (default $TERMCALL_SECRET)")
	f.IntVar(&o.PID, "pid", 0, "with --server: its process ID on this machine, to measure its RSS and CPU")
	f.StringVar(&allowRemote, "allow-remote", "", "allow --server on this host (not loopback); name it exactly")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the tool itself to this file (the server: serve --pprof)")
	return cmd
}

package load

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints r as aligned tables, like `termcall bench`.
func WriteTable(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	who := "a server it started"
	if !r.OwnServer {
		who = r.Server
	}
	fmt.Fprintf(w, "termcall bench server: %d users against %s on %d CPUs (%s/%s, %s)\n",
		r.Users, who, r.Machine.CPUs, r.Machine.OS, r.Machine.Arch, r.Machine.GoVersion)
	fmt.Fprintf(w, "  websockets from %d source addresses on 127.0.0.0/8; server CPU in %% of one core\n\n", max(1, r.Addrs))

	fmt.Fprintf(w, "Logins\n")
	p("  users\t%d", r.Users)
	p("  logins/s\t%.0f (%.2f s)", r.LoginsPerS, r.LoginSec)
	if r.RSSBefore != nil && r.RSSAfter != nil && r.RSSPerUser != nil {
		p("  server RSS before logins\t%.0f KiB", *r.RSSBefore)
		p("  server RSS with users idle\t%.0f KiB", *r.RSSAfter)
		p("  server RSS per user\t%.1f KiB", *r.RSSPerUser)
	} else {
		p("  server RSS\tnot measured (no --pid)")
	}
	if r.IdleCPU != nil {
		p("  server CPU, users idle\t%.1f %%", *r.IdleCPU)
	}
	if r.LostConns > 0 {
		p("  connections lost\t%d", r.LostConns)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nInvite→cancel, %.0f s per rate; latency from invite sent to the callee's invited, ms\n", r.PhaseSecond)
	p("  target/s\tachieved/s\t    p50\t    p90\t    p99\t    max\tmissed (no idle)\tfailed\tserver CPU %%")
	for _, ph := range r.Phases {
		cpu := "-"
		if ph.CPUPercent != nil {
			cpu = fmt.Sprintf("%.1f", *ph.CPUPercent)
		}
		// failed: an error answered the invite or cancel, or the cycle was still
		// open after the drain.
		p("  %d\t%10.0f\t%7.2f\t%7.2f\t%7.2f\t%7.2f\t%6d (%d)\t%6d\t%12s",
			ph.TargetPerS, ph.AchievedPerS, ph.P50Ms, ph.P90Ms, ph.P99Ms, ph.MaxMs, ph.Missed, ph.NoIdle, ph.Errors+ph.Unfinished, cpu)
	}
	return tw.Flush()
}

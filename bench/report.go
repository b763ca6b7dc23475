package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

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
	if len(s.Steps) > 0 {
		fmt.Fprintf(w, "\nWhere the first media's time goes, ms from accept (both sides)\n")
		p("  \t median\t    p90\t    min\t    max")
		for _, st := range s.Steps {
			p("  %s\t%7.1f\t%7.1f\t%7.1f\t%7.1f", st.Step, st.MedianMs, st.P90Ms, st.MinMs, st.MaxMs)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
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
		dsp := "off"
		if c.Processing {
			dsp = "on"
		}
		fmt.Fprintf(w, "\nCPU per client, termcall headless (%.1f s of a connected call; AEC, NS, AGC %s)\n", c.WindowSec, dsp)
		p("  \tCPU %% of one core\tRSS MiB")
		for _, cl := range c.Clients {
			p("  %s\t%17.1f\t%7.1f", cl.Role, cl.CPUPercent, cl.RSSMiB)
		}
		p("  median\t%17.1f\t", c.MedianPercent)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if sh := r.Shaped; sh != nil {
		fmt.Fprintf(w, "\nShaped link: %d kbit/s both ways mid-call, then lifted (median of %d runs; busy 320x240 picture)\n", sh.LinkKbps, sh.Runs)
		p("  time to adapt (sender below the link)\t%5.1f s", sh.AdaptS)
		p("  bitrate held while shaped\t%5.0f kbit/s", sh.HeldKbps)
		p("  frame rate held at the receiver\t%5.1f fps", sh.HeldFPS)
		p("  longest freeze (all runs)\t%5.0f ms", sh.MaxFreezeMs)
		p("  tone heard in\t%5.0f %% of the windows", sh.HeardPercent)
		p("  time to climb back above %d kbit/s\t%5.1f s", recoverKbps, sh.RecoverS)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

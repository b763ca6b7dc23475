package cmd

import (
	"github.com/spf13/cobra"

	"github.com/termcall/termcall/ui/demo"
)

// demoCommand returns `termcall demo`.
func demoCommand() *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Call an echo contact on an embedded server: a real call with no setup",
		Long: `demo starts a signaling server on a free port of 127.0.0.1, an echo contact
that answers every call and sends back what it gets (audio a second later, video
mirrored), and the TUI logged in as you with the echo contact in your contacts.
Without a microphone, speaker or camera it sends a test tone and the test
pattern instead, and says so on screen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return demo.Run(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.User, "user", "me", "your user ID")
	f.StringVar(&o.Echo, "echo", "echo", "the echo contact's user ID")
	f.StringVar(&o.AudioIn, "audio-in", "", "audio source: mic[:DEVICE] | tone:HZ | wav:FILE | silence (default mic, else a test tone)")
	f.StringVar(&o.AudioOut, "audio-out", "", "audio sink: speaker[:DEVICE] | wav:FILE | null (default speaker)")
	f.StringVar(&o.VideoIn, "video-in", "", "video source: camera[:DEVICE] | pattern | y4m:FILE | none (default camera, else the pattern)")
	f.StringVar(&o.Renderer, "renderer", "", "video renderer: auto, truecolor, 256, ascii, sixel")
	f.StringVar(&o.LogFile, "log", "", "log file (default $XDG_STATE_HOME/termcall/termcall.log)")
	return cmd
}

package cmd

import (
	"github.com/spf13/cobra"

	"github.com/termcall/termcall/headless"
)

// echoCommand is `termcall echo`: a contact that answers every call and
// sends back what it receives (audio about a second later, video
// mirrored), so a user alone can try a real call.
func echoCommand() *cobra.Command {
	var (
		opts    headless.Options
		logFile string
	)
	opts.Media = headless.DefaultMediaOptions()
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Run an echo contact: it answers every call and sends back what it gets",
		Long: `echo logs in as a contact (default user "echo") that accepts every invitation
and plays back what it hears about a second later, with the caller's video
mirrored (the test pattern until the caller's video arrives). Events are
printed as JSON lines, as in headless mode. It runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.AutoAccept = true
			opts.Media.Enabled = true
			opts.Media.Echo = true
			return runLogged(logFile, &opts, func() error {
				return headless.RunEcho(cmd.Context(), opts, cmd.OutOrStdout())
			})
		},
	}
	addLoginFlags(cmd, &opts, &logFile, "echo")
	cmd.Flags().BoolVar(&opts.Media.LoopbackICE, "ice-loopback", false, "gather ICE candidates on 127.0.0.1 only")
	_ = cmd.MarkFlagRequired("sdkappid") // cannot fail: the flag exists
	return cmd
}

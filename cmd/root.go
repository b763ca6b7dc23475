// Package cmd is the termcall command line: one file per subcommand, each
// turning flags into the options of the library that does the work. No
// library package imports cobra; main only calls Execute.
package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/ui"
)

// version is set with -ldflags "-X github.com/termcall/termcall/cmd.version=...".
var version = "dev" //nolint:gochecknoglobals // set by the linker, never written at run time

// Root returns the termcall command with every subcommand. Without a
// subcommand it runs the TUI.
func Root() *cobra.Command {
	root := &cobra.Command{
		Use:           "termcall",
		Short:         "A terminal softphone for audio/video calls",
		Long:          "termcall makes one-to-one and group audio/video calls from a terminal.\nIt re-creates the TRTCCalling component on a self-hosted signaling server.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags := config.AddFlags(root.Flags())
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Resolve(cmd.Flags())
		if err != nil {
			return fmt.Errorf("%w\n(run \"termcall init\" to write an example config file)", err)
		}
		return ui.Run(cmd.Context(), cfg)
	}
	root.AddCommand(
		serveCommand(),
		usersigCommand(),
		headlessCommand(),
		echoCommand(),
		initCommand(),
		demoCommand(),
		benchCommand(),
		dspCommand(),
	)
	return root
}

// Execute runs the command line with ctx (cancelled on SIGINT/SIGTERM by
// main).
func Execute(ctx context.Context) error { return Root().ExecuteContext(ctx) }

// Command termcall is a terminal softphone for one-to-one and group
// audio/video calls, with its own signaling server.
//
// main stays thin: each subcommand lives in the package that owns its job
// and exports a Command constructor.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/callcore/bench"
	"github.com/termcall/termcall/callcore/headless"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/ui"
	"github.com/termcall/termcall/ui/demo"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "termcall",
		Short:         "A terminal softphone for audio/video calls",
		Long:          "termcall makes one-to-one and group audio/video calls from a terminal.\nIt re-creates the TRTCCalling component on a self-hosted signaling server.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// No subcommand: the TUI, with real media.
	ui.Setup(root, ui.DefaultMedia)
	root.AddCommand(
		usersig.Command(),
		headless.Command(),
		headless.EchoCommand(),
		server.Command(),
		config.InitCommand(),
		demo.Command(),
		bench.Command(),
	// subcommands are registered here
	)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "termcall:", err)
		os.Exit(1)
	}
}

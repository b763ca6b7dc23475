// Command termcall is a terminal softphone for one-to-one and group
// audio/video calls, with its own signaling server.
//
// main stays thin: every subcommand lives in cmd/, and the work in the
// libraries it calls.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/termcall/termcall/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.Execute(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "termcall:", err)
		os.Exit(1)
	}
}

package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/server/proto"
)

// initCommand returns `termcall init`, which writes a commented example
// configuration.
func initCommand() *cobra.Command {
	var (
		path  string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "init [--force] [--path FILE]",
		Short: "Write a commented example config file",
		Long: "init writes a commented example configuration to $XDG_CONFIG_HOME/termcall/config.toml\n" +
			"(or ~/.config/termcall/config.toml, or --path). It will not replace an existing file\n" +
			"unless --force is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				p, err := config.DefaultPath()
				if err != nil {
					return err
				}
				path = p
			}
			if err := config.WriteExample(path, force); err != nil {
				return err
			}
			// The example's server is where serve listens by default, so
			// these two commands are all a first call on one machine needs.
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\nedit it, then run termcall\n"+
				"(a server for it on this machine: termcall serve --sdkappid %s --secret %s, on %s)\n",
				path, config.ExampleSDKAppID, config.ExampleSecret, proto.DefaultAddr)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "file to write (default: the XDG config path)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

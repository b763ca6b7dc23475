package config

import (
	"fmt"

	"github.com/spf13/cobra"
)

// InitCommand returns `termcall init`, which writes a commented example
// configuration.
func InitCommand() *cobra.Command {
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
				p, err := DefaultPath()
				if err != nil {
					return err
				}
				path = p
			}
			if err := WriteExample(path, force); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\nedit it, then run termcall\n", path)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "file to write (default: the XDG config path)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The CA file for a wss:// server comes from the key ca, and --ca
// overrides it.
func TestCAKeyAndFlag(t *testing.T) {
	if !strings.Contains(Example(), "ca =") {
		t.Error("Example() does not mention ca")
	}
	path := writeConfig(t, "server = \"wss://h:1/ws\"\nca = \"/etc/file.pem\"\n")
	c, err := Load(path)
	if err != nil || c.CA != "/etc/file.pem" || c.Server.String() != "wss://h:1/ws" {
		t.Fatalf("loaded %+v, %v", c, err)
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f := AddFlags(fs)
	if err := fs.Parse([]string{"--config", path, "--ca", filepath.Join("x", "ca.pem"), "--sdkappid", "1", "--user", "eve", "--secret", "k"}); err != nil {
		t.Fatal(err)
	}
	if c, err = f.Resolve(fs); err != nil || c.CA != filepath.Join("x", "ca.pem") {
		t.Fatalf("--ca: %+v, %v", c, err)
	}
}

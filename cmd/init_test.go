package cmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/termcall/termcall/config"
)

func TestInitCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.toml")
	run := func(args ...string) (string, error) {
		cmd := initCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("--path", path)
	if err != nil || !strings.Contains(out, path) {
		t.Fatalf("init: %q %v", out, err)
	}
	c, err := config.Load(path)
	if err != nil || c.Validate() != nil {
		t.Fatalf("written example does not load: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	_ = os.WriteFile(path, []byte("# mine\n"), 0o600)
	if _, err := run("--path", path); !errors.Is(err, config.ErrExists) {
		t.Fatalf("overwrote without --force: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "# mine\n" {
		t.Fatal("file changed without --force")
	}
	if _, err := run("--path", path, "--force"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != config.Example() {
		t.Fatal("--force did not rewrite the file")
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(t.TempDir(), "x"))
	if _, err := run(); err != nil {
		t.Fatal(err)
	}
	if p, _ := config.DefaultPath(); !fileExists(p) {
		t.Fatal("init without --path did not write the default path")
	}
}
func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

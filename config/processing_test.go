package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// The aec/ns/agc keys and --aec/--ns/--agc: unset stays nil (the media
// layer's default), a key sets it, a flag overrides the key, a bare flag
// means true, anything but true/false is refused.
func TestProcessingSwitches(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte(Example()+"\naec = false\nagc = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	str := func(b *bool) string {
		if b == nil {
			return "unset"
		}
		if *b {
			return "true"
		}
		return "false"
	}
	for _, tc := range []struct {
		args         []string
		aec, ns, agc string
	}{
		{nil, "false", "unset", "true"},
		{[]string{"--aec"}, "true", "unset", "true"},
		{[]string{"--aec=true", "--ns=false", "--agc=false"}, "true", "false", "false"},
		{[]string{"--ns"}, "false", "true", "true"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f := AddFlags(fs)
		if err := fs.Parse(append([]string{"--config", path}, tc.args...)); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		c, err := f.Resolve(fs)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := [3]string{str(c.AEC), str(c.NS), str(c.AGC)}; got != [3]string{tc.aec, tc.ns, tc.agc} {
			t.Errorf("%v: aec/ns/agc = %v, want %s %s %s", tc.args, got, tc.aec, tc.ns, tc.agc)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	AddFlags(fs)
	if err := fs.Parse([]string{"--aec=maybe"}); err == nil {
		t.Error("--aec=maybe accepted")
	}
}

package cmd

import (
	"bytes"
	"testing"
)

func TestBenchCommandFlags(t *testing.T) {
	cmd := benchCommand()
	for _, name := range []string{"calls", "cpu-seconds", "json", "marks", "soak", "soak-hold"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Errorf("no --%s flag", name)
		}
	}
	cmd.SetArgs([]string{"--calls", "0x"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Error("--calls 0x accepted")
	}
}

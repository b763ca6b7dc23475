package cmd

import (
	"bytes"
	"errors"
	"testing"

	"github.com/termcall/termcall/bench/load"
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

func TestBenchServerRefusesRemote(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--server", "ws://10.1.2.3:7788/ws", "--sdkappid", "1", "--secret", "x"},
		{"server", "--server", "ws://10.1.2.3:7788/ws", "--sdkappid", "1", "--secret", "x", "--allow-remote", "10.1.2.4"},
	} {
		cmd := benchCommand()
		cmd.SetArgs(args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.Execute()
		if !errors.Is(err, load.ErrRemoteRefused) {
			t.Errorf("%v: %v", args, err)
		}
	}
	cmd := benchCommand()
	cmd.SetArgs([]string{"server", "--rates", "500,x"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Error("--rates 500,x accepted")
	}
}

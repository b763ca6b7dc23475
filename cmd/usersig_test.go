package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/config/usersig"
)

func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := usersigCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestUsersigGenerateAndVerify(t *testing.T) {
	t.Setenv(config.SecretEnv, "")
	out, err := runCommand(t, "--sdkappid", "1400000000", "--secret", "k3y", "--user", "alice_1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("output %q is not one line", out)
	}
	tok := strings.TrimSpace(out)
	c, err := usersig.Verify(tok, "k3y", 1400000000, "alice_1", time.Now())
	if err != nil {
		t.Fatalf("generated token does not verify: %v", err)
	}
	if c.Expire != 604800 {
		t.Errorf("default expire = %d, want 604800", c.Expire)
	}

	out, err = runCommand(t, "--sdkappid", "1400000000", "--secret", "k3y", "--user", "alice_1", "--verify", tok)
	if err != nil {
		t.Fatalf("--verify: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--verify output %q: %v", out, err)
	}
	if got["identifier"] != "alice_1" || got["sdkappid"] != float64(1400000000) || got["expire"] != float64(604800) || got["ver"] != "2.0" {
		t.Errorf("--verify printed %v", got)
	}

	_, err = runCommand(t, "--sdkappid", "1400000000", "--secret", "wrong", "--user", "alice_1", "--verify", tok)
	if !errors.Is(err, usersig.ErrSigMismatch) {
		t.Errorf("--verify with wrong key = %v, want usersig.ErrSigMismatch", err)
	}
	_, err = runCommand(t, "--sdkappid", "1400000000", "--secret", "k3y", "--user", "alice_1", "--verify", "garbage")
	if !errors.Is(err, usersig.ErrMalformed) {
		t.Errorf("--verify garbage = %v, want usersig.ErrMalformed", err)
	}
}

func TestCommandSecretFromEnvAndExpire(t *testing.T) {
	t.Setenv(config.SecretEnv, "envkey")
	out, err := runCommand(t, "--sdkappid", "7", "--user", "bob", "--expire", "60")
	if err != nil {
		t.Fatal(err)
	}
	c, err := usersig.Verify(strings.TrimSpace(out), "envkey", 7, "bob", time.Now())
	if err != nil || c.Expire != 60 {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
}

func TestUsersigCommandErrors(t *testing.T) {
	t.Setenv(config.SecretEnv, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no secret", []string{"--sdkappid", "1", "--user", "a"}, "secret"},
		{"bad user", []string{"--sdkappid", "1", "--secret", "k", "--user", "no spaces"}, "invalid --user"},
		{"user too long", []string{"--sdkappid", "1", "--secret", "k", "--user", strings.Repeat("a", 33)}, "invalid --user"},
		{"zero expire", []string{"--sdkappid", "1", "--secret", "k", "--user", "a", "--expire", "0"}, "--expire"},
		{"missing user", []string{"--sdkappid", "1", "--secret", "k"}, "user"},
		{"missing sdkappid", []string{"--secret", "k", "--user", "a"}, "sdkappid"},
		{"sdkappid overflow", []string{"--sdkappid", "4294967296", "--secret", "k", "--user", "a"}, "sdkappid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCommand(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q on error", out)
			}
		})
	}
}

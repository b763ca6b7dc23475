package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"

	"github.com/termcall/termcall/server/proto"
)

func TestExampleParsesAndValidates(t *testing.T) {
	var c Config
	md, err := toml.Decode(Example(), &c)
	if err != nil {
		t.Fatalf("Example() does not parse: %v", err)
	}
	if und := md.Undecoded(); len(und) != 0 {
		t.Fatalf("Example() has unknown keys %v", und)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Example() does not validate: %v", err)
	}
	// The example's server is where `termcall serve` listens by default.
	if c.Server.String() != proto.DefaultServerURL || c.SDKAppID != 1400000000 || c.User != "alice" ||
		strings.Join(c.Contacts, ",") != "bob,carol" || c.Renderer != "auto" {
		t.Fatalf("Example() decoded to %+v", c)
	}
	// Every field has a (possibly commented) key in the example.
	for _, key := range []string{"server", "sdkappid", "user", "usersig", "secret", "audio_in", "audio_out",
		"video_in", "ice_loopback", "ice_servers", "nickname", "avatar", "contacts", "groups", "log_file", "renderer", "ice_policy"} {
		if !strings.Contains(Example(), key+" =") {
			t.Errorf("Example() does not mention %q", key)
		}
	}
}

func TestLoadRoundTrip(t *testing.T) {
	want := Config{
		Server: ServerList{"wss://calls.example.com/ws"}, SDKAppID: 7, User: "bob", UserSig: "sig",
		AudioIn: "mic", AudioOut: "spk", VideoIn: "pattern", Contacts: []string{"alice", "carol"},
		Groups: []string{"team"}, LogFile: "/tmp/x.log", Renderer: "ascii",
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Server.String() != want.Server.String() || got.SDKAppID != want.SDKAppID || got.User != want.User ||
		got.UserSig != want.UserSig || got.VideoIn != want.VideoIn || got.LogFile != want.LogFile ||
		strings.Join(got.Contacts, ",") != "alice,carol" || strings.Join(got.Groups, ",") != "team" ||
		got.Renderer != "ascii" || got.AudioIn != "mic" || got.AudioOut != "spk" {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if c, err := LoadOptional(filepath.Join(dir, "missing.toml")); err != nil || c.Server.String() != "" {
		t.Fatalf("LoadOptional missing file: %+v %v", c, err)
	}
	typo := filepath.Join(dir, "typo.toml")
	_ = os.WriteFile(typo, []byte("sever = \"ws://x/ws\"\n"), 0o600)
	if _, err := Load(typo); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "sever") {
		t.Fatalf("typo: %v", err)
	}
	broken := filepath.Join(dir, "broken.toml")
	_ = os.WriteFile(broken, []byte("server = \n"), 0o600)
	if _, err := Load(broken); err == nil {
		t.Fatal("broken TOML loaded")
	}
	wrongType := filepath.Join(dir, "type.toml")
	_ = os.WriteFile(wrongType, []byte("sdkappid = \"x\"\n"), 0o600)
	if _, err := Load(wrongType); err == nil {
		t.Fatal("string sdkappid loaded")
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Server: ServerList{"ws://h:1/ws"}, SDKAppID: 1, User: "a", Secret: "k"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no server", func(c *Config) { c.Server = nil }, "server is empty"},
		{"http server", func(c *Config) { c.Server = ServerList{"http://h/ws"} }, "want ws://"},
		{"no appid", func(c *Config) { c.SDKAppID = 0 }, "sdkappid"},
		{"bad user", func(c *Config) { c.User = "a b" }, "user"},
		{"no credentials", func(c *Config) { c.Secret = "" }, "usersig or secret"},
		{"bad contact", func(c *Config) { c.Contacts = []string{"ok", "no/pe"} }, "contact \"no/pe\""},
		{"bad renderer", func(c *Config) { c.Renderer = "vga" }, "renderer"},
		{"bad ice policy", func(c *Config) { c.ICEPolicy = "turn" }, "ice_policy \"turn\": want all or relay"},
		{"empty group", func(c *Config) { c.Groups = []string{" "} }, "group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// All problems are reported at once.
	if err := (Config{}).Validate(); strings.Count(err.Error(), "\n") < 3 {
		t.Fatalf("want every problem, got %v", err)
	}
}

func TestDefaultPaths(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg/cfg")
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if p, _ := DefaultPath(); p != "/xdg/cfg/termcall/config.toml" {
		t.Fatal(p)
	}
	if p, _ := DefaultLogPath(); p != "/xdg/state/termcall/termcall.log" {
		t.Fatal(p)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative") // ignored, as XDG says
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultPath(); p != "/home/u/.config/termcall/config.toml" {
		t.Fatal(p)
	}
	if p, _ := DefaultLogPath(); p != "/home/u/.local/state/termcall/termcall.log" {
		t.Fatal(p)
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte(Example()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_STATE_HOME", dir)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f := AddFlags(fs)
	if err := fs.Parse([]string{"--config", path, "--user", "dave", "--usersig", "SIG", "--renderer", "ascii", "--sdkappid", "42", "--ice-policy", "relay"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "dave" || c.UserSig != "SIG" || c.Secret != "" || c.Renderer != "ascii" || c.SDKAppID != 42 || !c.RelayOnly() {
		t.Fatalf("flags not applied: %+v", c)
	}
	if c.Server.String() != proto.DefaultServerURL || strings.Join(c.Contacts, ",") != "bob,carol" {
		t.Fatalf("file values lost: %+v", c)
	}
	if c.LogFile != filepath.Join(dir, "termcall", "termcall.log") {
		t.Fatalf("default log file: %q", c.LogFile)
	}

	// Without a file, flags alone must be complete; the secret may come from the environment.
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "none"))
	t.Setenv(SecretEnv, "envkey")
	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	f = AddFlags(fs)
	_ = fs.Parse([]string{"--server", "ws://h:1/ws", "--sdkappid", "1", "--user", "eve"})
	c, err = f.Resolve(fs)
	if err != nil || c.Secret != "envkey" {
		t.Fatalf("flags only: %+v %v", c, err)
	}
	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	f = AddFlags(fs)
	_ = fs.Parse([]string{"--user", "eve"})
	if _, err := f.Resolve(fs); !errors.Is(err, ErrInvalid) {
		t.Fatalf("incomplete config accepted: %v", err)
	}
}

// The README's config block is what users copy: it must load and validate.
func TestREADMEConfigBlockLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "Config file (`termcall init` writes a commented one):\n\n```toml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no config block in README.md")
	}
	c, err := Load(writeConfig(t, block))
	if err != nil {
		t.Fatalf("README's config block: %v\n%s", err, block)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("README's config block: %v", err)
	}
	if c.Server.String() != proto.DefaultServerURL || len(c.ICEServers) != 2 || c.ICEServers[1].Credential == "" || c.NickName == "" || c.ICEPolicy != "all" {
		t.Fatalf("README's config block decoded to %+v", c)
	}
}

// ice_policy: "" and "all" connect directly where they can, "relay" only
// through TURN.
func TestICEPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy string
		relay  bool
	}{{"", false}, {"all", false}, {"relay", true}} {
		c := Config{ICEPolicy: tc.policy}
		if c.RelayOnly() != tc.relay {
			t.Errorf("ice_policy %q: RelayOnly %v, want %v", tc.policy, c.RelayOnly(), tc.relay)
		}
	}
	c, err := Load(writeConfig(t, "ice_policy = \"relay\"\n"))
	if err != nil || !c.RelayOnly() {
		t.Fatalf("ice_policy = relay loaded as %+v, %v", c, err)
	}
}

package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestICEServersInFile(t *testing.T) {
	turn := ICEServer{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"}, Username: "alice", Credential: "s3cret"}
	cases := []struct {
		name, body string
		want       []ICEServer
	}{
		{"plain strings (the old form)", `ice_servers = ["stun:a:3478", "stun:b:3478"]`,
			[]ICEServer{{URLs: []string{"stun:a:3478"}}, {URLs: []string{"stun:b:3478"}}}},
		{"strings and inline tables mixed", `ice_servers = ["stun:a:3478", { urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"], username = "alice", credential = "s3cret" }]`,
			[]ICEServer{{URLs: []string{"stun:a:3478"}}, turn}},
		{"array of tables", "[[ice_servers]]\nurls = [\"turn:turn.example.com:3478?transport=udp\", \"turns:turn.example.com:5349\"]\nusername = \"alice\"\ncredential = \"s3cret\"\n",
			[]ICEServer{turn}},
		{"urls as one string", `ice_servers = [{ urls = "turn:t:3478", username = "u", credential = "p" }]`,
			[]ICEServer{{URLs: []string{"turn:t:3478"}, Username: "u", Credential: "p"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.ICEServers, tc.want) {
				t.Fatalf("ice_servers = %+v, want %+v", c.ICEServers, tc.want)
			}
		})
	}

	bad := []struct{ name, body, want string }{
		{"typo in a table", `ice_servers = [{ urls = ["turn:t"], user = "u" }]`, "user"},
		{"number", `ice_servers = [3478]`, "want a URL string or a table"},
		{"urls not strings", `ice_servers = [{ urls = [1] }]`, "not a string"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	// The toml package keeps only the message of a decoder's error.
	if _, err := Load(writeConfig(t, `ice_servers = [{ urls = ["turn:t"], pasword = "x" }]`)); err == nil || !strings.Contains(err.Error(), ErrUnknownKey.Error()+": ice_servers: pasword") {
		t.Fatalf("unknown key in an ICE server table: %v", err)
	}
}

// The commented ice_servers example in Example() is what users copy: it
// must parse to what it says.
func TestExampleICEServersBlock(t *testing.T) {
	var block []string
	in := false
	for _, line := range strings.Split(Example(), "\n") {
		switch {
		case strings.HasPrefix(line, "# ice_servers = ["):
			in = true
		case !in:
			continue
		}
		block = append(block, strings.TrimPrefix(line, "# "))
		if line == "# ]" {
			break
		}
	}
	if len(block) < 3 {
		t.Fatalf("no commented ice_servers example in Example():\n%s", Example())
	}
	c, err := Load(writeConfig(t, strings.Join(block, "\n")+"\n"))
	if err != nil {
		t.Fatalf("the example block does not load: %v\n%s", err, strings.Join(block, "\n"))
	}
	if len(c.ICEServers) != 2 || c.ICEServers[1].Username == "" || c.ICEServers[1].Credential == "" ||
		!isTURN(c.ICEServers[1].URLs[0]) {
		t.Fatalf("example block decoded to %+v", c.ICEServers)
	}
}

func TestICEServersRoundTrip(t *testing.T) {
	want := Config{Server: ServerList{"ws://h:1/ws"}, SDKAppID: 1, User: "a", Secret: "k", ICEServers: []ICEServer{
		{URLs: []string{"stun:s:3478"}},
		{URLs: []string{"turn:t:3478"}, Username: "u", Credential: "p"},
	}}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(writeConfig(t, buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.ICEServers, want.ICEServers) {
		t.Fatalf("round trip: %+v, want %+v\n%s", got.ICEServers, want.ICEServers, buf.String())
	}
}

func TestICEServersValidate(t *testing.T) {
	c := Config{Server: ServerList{"ws://h:1/ws"}, SDKAppID: 1, User: "a", Secret: "k", ICEServers: []ICEServer{{Username: "u"}}}
	if err := c.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ice_servers[0]: no URL") {
		t.Fatalf("ICE server without URLs: %v", err)
	}
}

func TestICEServersFromFlags(t *testing.T) {
	got, err := ICEServersFromFlags([]string{"stun:s:3478", "turn:t:3478?transport=udp", "TURNS:t:5349"}, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	want := []ICEServer{
		{URLs: []string{"stun:s:3478"}},
		{URLs: []string{"turn:t:3478?transport=udp"}, Username: "u", Credential: "p"},
		{URLs: []string{"TURNS:t:5349"}, Username: "u", Credential: "p"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := ICEServersFromFlags([]string{"stun:s:3478"}, "u", "p"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--ice-username") {
		t.Fatalf("credentials without a TURN URL: %v", err)
	}
	if s := want[1].String(); s != "turn:t:3478?transport=udp (user u)" {
		t.Fatalf("String() = %q", s)
	}
	if strings.Contains(ICEServer{URLs: []string{"turn:t"}, Username: "u", Credential: "hunter2"}.String(), "hunter2") {
		t.Fatal("String() shows the credential")
	}
}

func TestICEAndSelfInfoFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	path := writeConfig(t, "server = \"ws://h:1/ws\"\nsdkappid = 1\nuser = \"a\"\nsecret = \"k\"\nnickname = \"File\"\n"+
		"ice_servers = [\"stun:file:3478\"]\n")
	resolve := func(args ...string) (Config, error) {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f := AddFlags(fs)
		if err := fs.Parse(append([]string{"--config", path}, args...)); err != nil {
			t.Fatal(err)
		}
		return f.Resolve(fs)
	}
	c, err := resolve()
	if err != nil || c.NickName != "File" || len(c.ICEServers) != 1 || c.ICEServers[0].URLs[0] != "stun:file:3478" {
		t.Fatalf("file values: %+v %v", c, err)
	}
	c, err = resolve("--ice-server", "turn:t:3478", "--ice-username", "u", "--ice-credential", "p", "--nickname", "Alice A.", "--avatar", "https://x/a.png")
	if err != nil {
		t.Fatal(err)
	}
	if want := []ICEServer{{URLs: []string{"turn:t:3478"}, Username: "u", Credential: "p"}}; !reflect.DeepEqual(c.ICEServers, want) {
		t.Fatalf("--ice-server replaces the file's: %+v", c.ICEServers)
	}
	if c.NickName != "Alice A." || c.Avatar != "https://x/a.png" {
		t.Fatalf("self info flags: %+v", c)
	}
	if _, err := resolve("--ice-username", "u"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("--ice-username without a TURN URL: %v", err)
	}
	if _, err := resolve("--nickname", strings.Repeat("x", 65)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nickname") {
		t.Fatalf("long nickname: %v", err)
	}
}

func TestServerDefaults(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	c, err := Config{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.String() != "ws://127.0.0.1:7788/ws" {
		t.Fatalf("default server %q", c.Server)
	}
}

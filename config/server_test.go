package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

const loginKeys = "sdkappid = 1\nuser = \"a\"\nsecret = \"k\"\n"

// server is one URL or an array of them, and either validates.
func TestServerInFile(t *testing.T) {
	for _, tc := range []struct {
		line string
		want ServerList
	}{
		{`server = "ws://a:1/ws"`, ServerList{"ws://a:1/ws"}},
		{`server = ["ws://a:1/ws", "wss://b.example.com/ws"]`, ServerList{"ws://a:1/ws", "wss://b.example.com/ws"}},
		{`server = ["wss://only/ws"]`, ServerList{"wss://only/ws"}},
	} {
		c, err := Load(writeConfig(t, tc.line+"\n"+loginKeys))
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if !slices.Equal(c.Server, tc.want) {
			t.Fatalf("%s: server %q, want %q", tc.line, c.Server, tc.want)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
	}
	// The example's commented list works once uncommented.
	ex := Example()
	i := strings.Index(ex, "# server = [")
	if i < 0 {
		t.Fatal("Example() shows no list form of server")
	}
	line, _, _ := strings.Cut(ex[i+2:], "\n")
	if c, err := Load(writeConfig(t, line+"\n"+loginKeys)); err != nil || len(c.Server) != 2 || c.Validate() != nil {
		t.Fatalf("the example's %s: %q %v", line, c.Server, err)
	}
	// Neither a string nor an array of strings.
	for _, line := range []string{`server = 7`, `server = ["ws://a/ws", 7]`, `server = { url = "ws://a/ws" }`} {
		if _, err := Load(writeConfig(t, line+"\n")); err == nil || !strings.Contains(err.Error(), "server") {
			t.Errorf("%s: %v", line, err)
		}
	}
	// An empty array is no server, not the default one.
	c, err := Load(writeConfig(t, "server = []\n"+loginKeys))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "server is empty") {
		t.Fatalf("server = []: %v", err)
	}
}

// Every URL of the list is checked, and the error names the bad one.
func TestServerListBadURL(t *testing.T) {
	for _, tc := range []struct {
		list ServerList
		want []string
	}{
		{ServerList{"ws://a/ws", "http://b/ws"}, []string{`server[1] "http://b/ws": want ws://`}},
		{ServerList{"ws://a/ws", ""}, []string{"server[1] is empty"}},
		{ServerList{"ws:///ws", "ws://b/ws", "b:7788"}, []string{`server[0] "ws:///ws"`, `server[2] "b:7788"`}},
		{ServerList{"tcp://a"}, []string{`server "tcp://a": want ws://`}},
	} {
		err := tc.list.Validate()
		for _, w := range tc.want {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %v, want %q", tc.list, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), `"ws://b/ws"`) {
			t.Errorf("%q: a good URL named as bad: %v", tc.list, err)
		}
		c := Config{Server: tc.list, SDKAppID: 1, User: "a", Secret: "k"}
		if cerr := c.Validate(); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("%q: Config.Validate %v, ServerList.Validate %v", tc.list, cerr, err)
		}
	}
}

// --server takes a comma-separated list, which replaces the file's.
func TestServerFlagList(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path := writeConfig(t, `server = ["ws://file-a/ws", "ws://file-b/ws"]`+"\n"+loginKeys)
	resolve := func(args ...string) (Config, error) {
		t.Helper()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f := AddFlags(fs)
		if err := fs.Parse(append([]string{"--config", path}, args...)); err != nil {
			t.Fatal(err)
		}
		return f.Resolve(fs)
	}
	c, err := resolve()
	if err != nil || c.Server.String() != "ws://file-a/ws,ws://file-b/ws" {
		t.Fatalf("file only: %q %v", c.Server, err)
	}
	c, err = resolve("--server", "ws://a:1/ws, wss://b:2/ws")
	if err != nil || !slices.Equal(c.Server, ServerList{"ws://a:1/ws", "wss://b:2/ws"}) {
		t.Fatalf("--server list: %q %v", c.Server, err)
	}
	c, err = resolve("--server", "ws://one/ws")
	if err != nil || !slices.Equal(c.Server, ServerList{"ws://one/ws"}) {
		t.Fatalf("--server one: %q %v", c.Server, err)
	}
	if _, err := resolve("--server", "ws://a/ws,"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "server[1] is empty") {
		t.Fatalf("trailing comma: %v", err)
	}
	if _, err := resolve("--server", "ws://a/ws,https://b/ws"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `server[1] "https://b/ws"`) {
		t.Fatalf("bad second URL: %v", err)
	}
	if got := ParseServerList(" "); got != nil {
		t.Fatalf("blank --server: %q", got)
	}
}

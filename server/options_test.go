package server

import (
	"github.com/termcall/termcall/internal/clock"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadGroups(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g, err := LoadGroups(write("ok.toml", "[groups]\nteam = [\"alice\", \"bob\"]\nsolo = [\"carol\"]\n"))
	if err != nil || len(g) != 2 || len(g["team"]) != 2 || g["solo"][0] != "carol" {
		t.Fatalf("groups %v, %v", g, err)
	}
	for name, text := range map[string]string{
		"syntax.toml":  "[groups\n",
		"userid.toml":  "[groups]\nteam = [\"bad user\"]\n",
		"unknown.toml": "[groupz]\nteam = [\"alice\"]\n",
	} {
		if _, err := LoadGroups(write(name, text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"no sdkappid":    func(o *Options) { o.SDKAppID = 0 },
		"no secret":      func(o *Options) { o.Secret = "" },
		"negative grace": func(o *Options) { o.Grace = -1 },
		"bad group":      func(o *Options) { o.Groups = map[string][]string{"g": {"no way"}} },
	} {
		o := testOptions()
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	o := testOptions()
	o.Grace, o.PingInterval, o.PongWait, o.Clock = 0, 0, 0, nil
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.opts.Grace != DefaultGrace || s.opts.PingInterval != DefaultPingInterval || s.opts.PongWait != DefaultPongWait {
		t.Fatalf("defaults not filled: %+v", s.opts)
	}
	if _, ok := s.clock.(clock.Real); !ok {
		t.Fatalf("a nil Clock gives %T, want the real clock", s.clock)
	}
	if s.URL() != "" {
		t.Fatal("URL before Start")
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
}

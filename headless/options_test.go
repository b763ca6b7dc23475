package headless

import (
	"errors"
	"strings"
	"testing"
)

func TestOptionsServers(t *testing.T) {
	base := Options{SDKAppID: 1, UserID: "alice", Secret: "k"}
	for _, tc := range []struct {
		name string
		set  func(*Options)
		want string // "" for no error
	}{
		{"one", func(o *Options) { o.ServerURL = "ws://a/ws" }, ""},
		{"list", func(o *Options) { o.ServerURLs = []string{"ws://a/ws", "wss://b/ws"} }, ""},
		{"none", func(*Options) {}, "no server URL"},
		{"both", func(o *Options) { o.ServerURL, o.ServerURLs = "ws://a/ws", []string{"ws://b/ws"} }, "both"},
		{"bad one", func(o *Options) { o.ServerURL = "a:1" }, `server "a:1"`},
		{"bad in list", func(o *Options) { o.ServerURLs = []string{"ws://a/ws", ""} }, "server[1] is empty"},
	} {
		o := base
		tc.set(&o)
		err := o.check()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

package cmd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/headless"
	"github.com/termcall/termcall/internal/testserver"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/proto"
)

// --server of headless and echo takes one URL or a comma-separated list.
func TestLoginFlagsServerList(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{proto.DefaultServerURL}},
		{[]string{"--server", "ws://a/ws"}, []string{"ws://a/ws"}},
		{[]string{"--server", "ws://a/ws,wss://b:1/ws"}, []string{"ws://a/ws", "wss://b:1/ws"}},
	} {
		var (
			o       headless.Options
			logFile string
		)
		cmd := &cobra.Command{Use: "x"}
		addLoginFlags(cmd, &o, &logFile, "")
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if o.ServerURL != "" || !slices.Equal(o.ServerURLs, tc.want) {
			t.Errorf("%v: ServerURL %q ServerURLs %q, want %q", tc.args, o.ServerURL, o.ServerURLs, tc.want)
		}
	}
}

func runHeadless(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := headlessCommand()
	var out bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// `termcall headless --server DEAD,LIVE` logs in through the live one; a
// bad URL in the list is refused up front, named.
func TestHeadlessServerList(t *testing.T) {
	const appID = 1400000002
	srv := testserver.Start(t, server.Options{Addr: "127.0.0.1:0", SDKAppID: appID, Secret: serveTestSecret})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ws://" + ln.Addr().String() + "/ws"
	_ = ln.Close()

	creds := []string{"--sdkappid", "1400000002", "--user", "alice", "--secret", serveTestSecret, "--media=false"}
	out, err := runHeadless(t, "quit\n", append([]string{"--server", dead + "," + srv.URL()}, creds...)...)
	if err != nil || !strings.Contains(out, `"event":"SDK_READY"`) {
		t.Fatalf("headless --server %s,%s: %v\n%s", dead, srv.URL(), err, out)
	}

	_, err = runHeadless(t, "", append([]string{"--server", srv.URL() + ",http://b/ws"}, creds...)...)
	if !errors.Is(err, headless.ErrBadOptions) || !strings.Contains(err.Error(), `server[1] "http://b/ws"`) {
		t.Fatalf("bad second URL: %v", err)
	}
}

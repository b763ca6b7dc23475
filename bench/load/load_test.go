package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testserver"
	"github.com/termcall/termcall/server"
)

const (
	testAppID  = 1400000001
	testSecret = "load-test-secret"
)

// TestRunInProcess loads a real server started in this process: 50 users
// over two source addresses, one 100/s phase.
func TestRunInProcess(t *testing.T) {
	opts := server.DefaultOptions()
	opts.Addr, opts.SDKAppID, opts.Secret = "127.0.0.1:0", testAppID, testSecret
	srv := testserver.Start(t, opts)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const users, rate = 50, 100
	res, err := Run(ctx, Options{
		ServerURL: srv.URL(), SDKAppID: testAppID, Secret: testSecret,
		Users: users, Rates: []int{rate}, Phase: 2 * time.Second, Addrs: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != users || res.LoginsPerS <= 0 || res.LostConns != 0 {
		t.Fatalf("logins: %+v", res)
	}
	if res.RSSPerUser != nil || res.Phases[0].CPUPercent != nil {
		t.Error("RSS or CPU reported without a server PID")
	}
	if len(res.Phases) != 1 {
		t.Fatalf("phases %+v", res.Phases)
	}
	ph := res.Phases[0]
	if !(ph.P50Ms > 0 && ph.P50Ms <= ph.P90Ms && ph.P90Ms <= ph.P99Ms && ph.P99Ms <= ph.MaxMs) {
		t.Errorf("percentiles not positive and ordered: %+v", ph)
	}
	// Under -race on a busy 2-core machine a few ticks may be late; the
	// rate must still be close to the target.
	if ph.AchievedPerS < 0.8*rate || ph.AchievedPerS > 1.05*rate {
		t.Errorf("achieved %.1f/s at a target of %d/s: %+v", ph.AchievedPerS, rate, ph)
	}
	if ph.Errors != 0 || ph.Unfinished != 0 {
		t.Errorf("errors or unfinished cycles: %+v", ph)
	}
	var b strings.Builder
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "logins/s") || !strings.Contains(b.String(), "not measured") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url, allow string
		want       error
	}{
		{"ws://127.0.0.1:7788/ws", "", nil},
		{"ws://127.3.4.5:7788/ws", "", nil},
		{"ws://[::1]:7788/ws", "", nil},
		{"wss://localhost/ws", "", nil},
		{"ws://10.0.0.1:7788/ws", "", ErrRemoteRefused},
		{"ws://signal.example.org/ws", "", ErrRemoteRefused},
		{"ws://signal.example.org/ws", "signal.example.com", ErrRemoteRefused},
		{"ws://signal.example.org/ws", "signal.example.org", nil},
		{"http://127.0.0.1/ws", "", ErrBadTarget},
		{"ws:///ws", "", ErrBadTarget},
	} {
		if err := CheckTarget(tc.url, tc.allow); !errors.Is(err, tc.want) {
			t.Errorf("CheckTarget(%q, %q) = %v, want %v", tc.url, tc.allow, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Options{ServerURL: "ws://127.0.0.1:1/ws", SDKAppID: 1, Secret: "s", Users: 10, Rates: []int{1}, Phase: time.Second}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Options){
		"one user":         func(o *Options) { o.Users = 1 },
		"no rates":         func(o *Options) { o.Rates = nil },
		"zero rate":        func(o *Options) { o.Rates = []int{0} },
		"no phase":         func(o *Options) { o.Phase = 0 },
		"no secret":        func(o *Options) { o.Secret = "" },
		"no server or bin": func(o *Options) { o.ServerURL = "" },
		"too many addrs":   func(o *Options) { o.Addrs = 300 },
		"serve args":       func(o *Options) { o.ServeArgs = []string{"--data=/tmp/x"} },
	} {
		o := ok
		mod(&o)
		if err := o.validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseRates("500, 1000,x"); err == nil {
		t.Error("ParseRates accepted x")
	}
	if rs, err := ParseRates("500,1000"); err != nil || len(rs) != 2 || rs[1] != 1000 {
		t.Errorf("ParseRates = %v, %v", rs, err)
	}
	if err := raiseFileLimit(1 << 30); !errors.Is(err, ErrTooManyUsers) {
		t.Errorf("a billion users fit: %v", err)
	}
}

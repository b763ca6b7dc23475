package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/termcall/termcall/bench"
	"github.com/termcall/termcall/cmd"
)

// childEnv makes the test binary act as `termcall headless`, so that the
// CPU measurement runs real client processes without a separate build.
const childEnv = "TERMCALL_BENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

func runChild() int {
	root := cmd.Root()
	root.SetArgs(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "termcall:", err)
		return 1
	}
	return 0
}

func checkDist(t *testing.T, what string, d bench.Dist, n int, limit time.Duration) {
	t.Helper()
	lim := float64(limit) / float64(time.Millisecond)
	if d.N != n || !(d.MinMs > 0) || d.MinMs > d.MedianMs || d.MedianMs > d.P90Ms || d.P90Ms > d.MaxMs || d.MaxMs >= lim {
		t.Errorf("%s: %+v, want %d samples, 0 < min <= median <= p90 <= max < %v", what, d, n, limit)
	}
}

func TestRunMeasuresEverything(t *testing.T) {
	o := bench.Options{Calls: 2, Marks: 5, CPUWindow: 2 * time.Second}
	if testing.Short() {
		o = bench.Options{Calls: 2, Marks: 3, CPUWindow: time.Second}
	}
	o.Binary = os.Args[0]
	o.Processing = true // the flags a real-device client runs with must start a call
	o.BinaryEnv = []string{childEnv + "=1", "GORACE=atexit_sleep_ms=50"}
	var progress bytes.Buffer
	o.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := bench.Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	t.Logf("Run took %v", time.Since(start).Round(time.Millisecond))

	s := res.Setup
	if s.Calls != o.Calls {
		t.Errorf("setup calls %d, want %d", s.Calls, o.Calls)
	}
	for name, sp := range map[string]bench.SidePair{"USER_ENTER": s.UserEnter, "first audio": s.FirstAudio, "first video": s.FirstVideo} {
		checkDist(t, name+" caller", sp.Caller, o.Calls, 10*time.Second)
		checkDist(t, name+" callee", sp.Callee, o.Calls, 10*time.Second)
	}
	l := res.Latency
	if l.Marks != o.Marks || l.Detected < (o.Marks+1)/2 {
		t.Errorf("latency heard %d of %d marks (asked %d)", l.Detected, l.Marks, o.Marks)
	}
	checkDist(t, "one-way audio", l.OneWay, l.Detected, time.Second)
	if !(l.BufferTargetMs > 0) || !(l.BufferDelayMs > 0) || l.JitterMs < 0 {
		t.Errorf("jitter buffer stats %+v", l)
	}
	c := res.CPU
	if c == nil {
		t.Fatal("no CPU result")
	}
	if len(c.Clients) != 2 || c.WindowSec < o.CPUWindow.Seconds() {
		t.Fatalf("CPU result %+v", c)
	}
	for _, cl := range c.Clients {
		if !(cl.CPUPercent > 0) || cl.CPUPercent > 100*float64(res.Machine.CPUs) || !(cl.RSSMiB > 1) || cl.StatsWithVideo == 0 {
			t.Errorf("client %+v", cl)
		}
	}
	if !(c.MedianPercent > 0) {
		t.Errorf("median CPU %v", c.MedianPercent)
	}

	// The table shows the numbers; the JSON form carries the same ones.
	var tab bytes.Buffer
	if err := bench.WriteTable(&tab, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tab.String())
	for _, want := range []string{
		"first decoded audio", "first decoded video", "USER_ENTER", "encoder in -> jitter buffer out",
		fmt.Sprintf("%.1f", l.OneWay.MedianMs), fmt.Sprintf("%.1f", s.FirstVideo.Callee.P90Ms),
		fmt.Sprintf("%.1f", c.Clients[0].CPUPercent), "caller", "callee",
	} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Result
	if err := json.Unmarshal(b, &back); err != nil || back.Latency.OneWay != l.OneWay || back.CPU == nil || back.CPU.MedianPercent != c.MedianPercent {
		t.Errorf("JSON round trip: %v\n%s", err, b)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	_, err := bench.Run(context.Background(), bench.Options{Calls: -1})
	if !errors.Is(err, bench.ErrBadOptions) {
		t.Fatalf("Run(Calls: -1) = %v, want ErrBadOptions", err)
	}
}

// The soak's mechanics on a few calls (the leak itself is judged with
// `termcall bench --soak 100`): both processes sampled, growth computed,
// every call carried video both ways.
func TestSoakSamplesBothClients(t *testing.T) {
	var progress bytes.Buffer
	o := bench.SoakOptions{Calls: 3, Hold: 100 * time.Millisecond, Binary: os.Args[0],
		BinaryEnv: []string{childEnv + "=1", "GORACE=atexit_sleep_ms=50"}, Progress: &progress}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.RunSoak(ctx, o)
	if err != nil {
		t.Fatalf("RunSoak: %v\nprogress:\n%s", err, progress.String())
	}
	if len(res.Samples) != 2 || res.Samples[0].AfterCall != 0 || res.Samples[1].AfterCall != 3 {
		t.Fatalf("samples %+v, want after calls 0 and 3", res.Samples)
	}
	for _, s := range res.Samples {
		for _, role := range []string{"caller", "callee"} {
			if !(s.RSSMiB[role] > 1) {
				t.Errorf("sample %+v: no RSS for %s", s, role)
			}
		}
	}
	if _, ok := res.GrowthMiB["callee"]; !ok || len(res.GrowthMiB) != 2 {
		t.Errorf("growth %v", res.GrowthMiB)
	}
	var tab bytes.Buffer
	if err := bench.WriteSoakTable(&tab, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "growth after call 3") {
		t.Errorf("table:\n%s", tab.String())
	}
	t.Logf("\n%s", tab.String())
	if _, err := bench.RunSoak(ctx, bench.SoakOptions{Calls: 0, Binary: "x"}); !errors.Is(err, bench.ErrBadOptions) {
		t.Errorf("RunSoak(Calls: 0) = %v, want ErrBadOptions", err)
	}
}

// The shaped-link row's mechanics on one short run: it is measured and
// printed (TestShapedLinkAdapts in e2e judges the behaviour).
func TestRunMeasuresShapedLink(t *testing.T) {
	o := bench.Options{Calls: 1, Marks: 1, CPUWindow: time.Second, Shaped: 1, ShapedHold: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	sh := res.Shaped
	if sh == nil {
		t.Fatal("no shaped-link result")
	}
	if sh.Runs != 1 || sh.LinkKbps != bench.ShapedLinkKbps || !(sh.AdaptS > 0) || !(sh.HeldKbps > 0) ||
		!(sh.HeldFPS > 0) || !(sh.RecoverS > 0) || !(sh.HeardPercent > 0) {
		t.Errorf("shaped-link result %+v", *sh)
	}
	var tab bytes.Buffer
	if err := bench.WriteTable(&tab, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "Shaped link: 200 kbit/s") || !strings.Contains(tab.String(), fmt.Sprintf("%.0f kbit/s", sh.HeldKbps)) {
		t.Errorf("table lacks the shaped link:\n%s", tab.String())
	}
	if _, err := bench.Run(ctx, bench.Options{Shaped: -1}); !errors.Is(err, bench.ErrBadOptions) {
		t.Errorf("Run(Shaped: -1) = %v, want ErrBadOptions", err)
	}
	t.Logf("%+v", *sh)
}

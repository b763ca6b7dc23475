package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/internal/procstat"
)

// CPUResult is the CPU and memory of each `termcall headless` client of a
// 1:1 audio+video call, over a window of the connected call.
type CPUResult struct {
	WindowSec     float64     `json:"windowSec"`
	Clients       []ClientCPU `json:"clients"`
	MedianPercent float64     `json:"medianPercent"` // median over the clients
	// Processing says whether the clients ran AEC, NS and AGC.
	Processing bool `json:"processing"`
}

// ClientCPU is one client process.
type ClientCPU struct {
	Role       string  `json:"role"` // caller or callee
	CPUPercent float64 `json:"cpuPercent"`
	RSSMiB     float64 `json:"rssMiB"`
	// StatsWithVideo counts its STATS lines in the window that showed the
	// other side's video arriving: proof the call carried media.
	StatsWithVideo int `json:"statsWithVideo"`
}

// client is a running `termcall headless` process.
type client struct {
	role   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer // written by exec's copier until Wait returns
	exited chan struct{}
	err    error // of Wait; read after exited is closed

	mu        sync.Mutex
	events    []map[string]any
	changed   chan struct{}
	videoFrom int // index of the first event counted by videoStats
}

func startClient(env benchEnv, bin string, extraEnv []string, role, user string, args ...string) (*client, error) {
	c := &client{role: role, exited: make(chan struct{}), changed: make(chan struct{}, 1)}
	all := append([]string{"headless",
		"--server", env.url, "--sdkappid", strconv.Itoa(sdkAppID), "--user", user,
		"--ice-loopback", "--video-in", "pattern", "--audio-out", "null", "--video-out", "null",
		"--stats", "1s"}, args...)
	c.cmd = exec.Command(bin, all...)
	c.cmd.Env = append(append(os.Environ(), "TERMCALL_SECRET="+env.secret), extraEnv...)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrClient, bin, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
			select {
			case c.changed <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-read // StdoutPipe: finish reading before Wait closes it
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// expect waits for an event called name (with match, if given).
func (c *client) expect(ctx context.Context, name string, match func(map[string]any) bool) error {
	_, err := c.expectFrom(ctx, 0, name, match)
	return err
}

// mark returns the index the next event will have, for expectFrom.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// expectFrom waits for an event called name (with match, if given) among
// the events from index from on, and returns it.
func (c *client) expectFrom(ctx context.Context, from int, name string, match func(map[string]any) bool) (map[string]any, error) {
	return c.expectWithin(ctx, stepWait, from, name, match)
}

// expectWithin is expectFrom waiting at most d.
func (c *client) expectWithin(ctx context.Context, d time.Duration, from int, name string, match func(map[string]any) bool) (map[string]any, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		c.mu.Lock()
		for _, ev := range c.events[min(from, len(c.events)):] {
			if ev["event"] == name && (match == nil || match(ev)) {
				c.mu.Unlock()
				return ev, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.changed:
		case <-c.exited:
			return nil, fmt.Errorf("%w: %s exited (%v) waiting for %s: %s", ErrClient, c.role, c.err, name, tail(c.stderr.String()))
		case <-t.C:
			return nil, fmt.Errorf("%w: %s waiting %v for %s", ErrTimeout, c.role, d, name)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// markWindow starts counting STATS lines from now on.
func (c *client) markWindow() {
	c.mu.Lock()
	c.videoFrom = len(c.events)
	c.mu.Unlock()
}

// videoStats counts the STATS lines since markWindow with video arriving.
func (c *client) videoStats() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ev := range c.events[c.videoFrom:] {
		if ev["event"] == "STATS" && hasVideo(ev) {
			n++
		}
	}
	return n
}

func hasVideo(ev map[string]any) bool {
	v, _ := ev["video"].(map[string]any)
	fps, _ := v["fps"].(float64)
	return fps > 0
}

func (c *client) send(line string) {
	_, _ = io.WriteString(c.stdin, line+"\n")
}

// stop ends the client: EOF on stdin works like quit; it is killed if it
// does not exit in time.
func (c *client) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(stepWait):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func measureCPU(ctx context.Context, env benchEnv, bin string, extraEnv []string, window time.Duration, processing bool) (CPUResult, error) {
	res := CPUResult{Processing: processing}
	dsp := fmt.Sprintf("--aec=%[1]v --ns=%[1]v --agc=%[1]v", processing)
	caller, err := startClient(env, bin, extraEnv, "caller", "cpu-caller", append(strings.Fields(dsp), "--audio-in", "tone:440")...)
	if err != nil {
		return res, err
	}
	defer caller.stop()
	callee, err := startClient(env, bin, extraEnv, "callee", "cpu-callee", append(strings.Fields(dsp), "--audio-in", "tone:880", "--auto-accept")...)
	if err != nil {
		return res, err
	}
	defer callee.stop()
	clients := []*client{caller, callee}
	for _, c := range clients {
		if err := c.expect(ctx, "SDK_READY", nil); err != nil {
			return res, err
		}
	}
	caller.send("call cpu-callee video 30")
	for _, c := range clients {
		// Media flows once the far side's video shows in STATS.
		if err := c.expect(ctx, "STATS", hasVideo); err != nil {
			return res, err
		}
	}
	if err := sleep(ctx, time.Second); err != nil { // past the first keyframes
		return res, err
	}
	env.printf("cpu: measuring both clients for %v", window)
	before := make([]float64, len(clients))
	for i, c := range clients {
		c.markWindow()
		if before[i], err = cpuSeconds(c.cmd.Process.Pid); err != nil {
			return res, err
		}
	}
	start := time.Now()
	if err := sleep(ctx, window); err != nil {
		return res, err
	}
	wall := time.Since(start).Seconds()
	res.WindowSec = round2(wall)
	var pcts []float64
	for i, c := range clients {
		after, err := cpuSeconds(c.cmd.Process.Pid)
		if err != nil {
			return res, err
		}
		rss, err := rssMiB(c.cmd.Process.Pid)
		if err != nil {
			return res, err
		}
		pct := (after - before[i]) / wall * 100
		pcts = append(pcts, pct)
		res.Clients = append(res.Clients, ClientCPU{Role: c.role, CPUPercent: round2(pct), RSSMiB: round2(rss), StatsWithVideo: c.videoStats()})
	}
	res.MedianPercent = round2(median(pcts))
	caller.send("hangup")
	for _, c := range res.Clients {
		if c.StatsWithVideo == 0 {
			return res, fmt.Errorf("%w: %s saw no video during the window", ErrNoMedia, c.Role)
		}
	}
	return res, nil
}

// cpuSeconds is a process's user+system CPU time.
func cpuSeconds(pid int) (float64, error) { return procstat.CPUSeconds(pid) }

// rssMiB is a process's resident set size in MiB.
func rssMiB(pid int) (float64, error) {
	kib, err := procstat.RSSKiB(pid)
	return kib / 1024, err
}

func tail(s string) string {
	const n = 2000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

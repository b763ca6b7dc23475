// Package load is `termcall bench server`: it logs many users in to a
// signaling server over real websockets, holds them idle, then runs
// invite→cancel cycles at given rates and reports logins per second, the
// server's memory per user, invitation latency and the server's CPU.
package load

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/internal/procstat"
)

// Defaults of the flags.
const (
	DefaultUsers       = 1000
	DefaultPhase       = 5 * time.Second
	DefaultAddrs       = 8
	DefaultSDKAppID    = 1400000001
	DefaultConcurrency = 64
	// perAddrConcurrency stays below the server's default cap of 32
	// connections per IP that have not logged in yet.
	perAddrConcurrency = 16
	idleHold           = 2 * time.Second
	drainWait          = 5 * time.Second
)

// DefaultRates are the invite rates, per second.
var DefaultRates = []int{500, 1000, 2000, 4000}

// Options configure a run.
type Options struct {
	// ServerURL is the server to load; empty starts Binary as
	// `serve --addr 127.0.0.1:0` and loads that.
	ServerURL string
	Binary    string // the termcall binary, without ServerURL
	// ServeArgs are more flags for the server Binary starts (its store:
	// --data DIR; profiles: --pprof ADDR).
	ServeArgs []string
	SDKAppID  uint32 // with ServerURL: the server's; otherwise its default
	Secret    string // with ServerURL: the server's; otherwise random
	PID       int    // with ServerURL: the server's process, for RSS and CPU (0: none)

	Users       int
	Rates       []int         // invites per second, one phase each
	Phase       time.Duration // length of each rate's phase
	LoginRate   float64       // logins per second; 0 is as fast as Concurrency allows
	Concurrency int           // logins in flight at once
	Addrs       int           // source addresses 127.0.0.2...; 0 lets the kernel pick
	Progress    io.Writer     // progress lines; nil discards them
}

// Result is one run.
type Result struct {
	Machine     Machine  `json:"machine"`
	Server      string   `json:"server"`
	OwnServer   bool     `json:"ownServer"`
	Users       int      `json:"users"`
	Addrs       int      `json:"addrs"`
	LoginSec    float64  `json:"loginSeconds"`
	LoginsPerS  float64  `json:"loginsPerSecond"`
	RSSBefore   *float64 `json:"rssBeforeKiB,omitempty"`
	RSSAfter    *float64 `json:"rssAfterKiB,omitempty"`
	RSSPerUser  *float64 `json:"rssPerUserKiB,omitempty"`
	IdleCPU     *float64 `json:"idleCPUPercent,omitempty"`
	LostConns   int      `json:"lostConnections"`
	Phases      []Phase  `json:"phases"`
	PhaseSecond float64  `json:"phaseSeconds"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"goVersion"`
}

// Phase is one rate's results.
type Phase struct {
	TargetPerS   int      `json:"targetPerSecond"`
	Sent         int      `json:"sent"`
	Invited      int      `json:"invited"` // invited pushes received
	Missed       int      `json:"missed"`  // due but not sent: NoIdle, or the sender fell behind
	NoIdle       int      `json:"missedNoIdleUsers"`
	Errors       int      `json:"errors"`
	Unfinished   int      `json:"unfinished"` // cycles still open after the drain
	AchievedPerS float64  `json:"achievedPerSecond"`
	P50Ms        float64  `json:"p50Ms"`
	P90Ms        float64  `json:"p90Ms"`
	P99Ms        float64  `json:"p99Ms"`
	MaxMs        float64  `json:"maxMs"`
	CPUPercent   *float64 `json:"cpuPercent,omitempty"` // the server's, % of one core
}

func (o *Options) validate() error {
	switch {
	case o.Users < 2:
		return fmt.Errorf("%w: --users %d: need at least 2", ErrInvalidOptions, o.Users)
	case len(o.Rates) == 0:
		return fmt.Errorf("%w: no --rates", ErrInvalidOptions)
	case o.Phase <= 0:
		return fmt.Errorf("%w: --phase %s", ErrInvalidOptions, o.Phase)
	case o.LoginRate < 0:
		return fmt.Errorf("%w: --login-rate %g", ErrInvalidOptions, o.LoginRate)
	case o.Addrs < 0 || o.Addrs > 250:
		return fmt.Errorf("%w: --addrs %d: 0 to 250", ErrInvalidOptions, o.Addrs)
	case o.ServerURL != "" && (o.SDKAppID == 0 || o.Secret == ""):
		return fmt.Errorf("%w: --server needs --sdkappid and --secret to make userSigs", ErrInvalidOptions)
	case o.ServerURL == "" && o.Binary == "":
		return fmt.Errorf("%w: no server and no binary to start one", ErrInvalidOptions)
	case o.ServerURL != "" && len(o.ServeArgs) > 0:
		return fmt.Errorf("%w: --serve-arg is for the server the tool starts, not --server", ErrInvalidOptions)
	}
	for _, r := range o.Rates {
		if r <= 0 {
			return fmt.Errorf("%w: rate %d", ErrInvalidOptions, r)
		}
	}
	return nil
}

// ParseRates parses "500,1000,2000".
func ParseRates(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: rate %q", ErrInvalidOptions, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no rates in %q", ErrInvalidOptions, s)
	}
	return out, nil
}

// Run performs one run.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	if err := raiseFileLimit(o.Users); err != nil {
		return Result{}, err
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	res := Result{
		Machine: Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()},
		Server:  o.ServerURL, Users: o.Users, Addrs: o.Addrs, PhaseSecond: o.Phase.Seconds(),
	}
	pid := o.PID
	if o.ServerURL == "" {
		srv, err := startServer(ctx, o.Binary, o.ServeArgs)
		if err != nil {
			return Result{}, err
		}
		defer srv.stop()
		o.ServerURL, o.SDKAppID, o.Secret, pid = srv.url, DefaultSDKAppID, srv.secret, srv.cmd.Process.Pid
		res.Server, res.OwnServer = srv.url, true
		fmt.Fprintf(progress, "started %s serve (pid %d) at %s\n", o.Binary, pid, srv.url)
	}
	probe := newProbe(pid)
	res.RSSBefore = probe.rss()

	// A client has its userSig before it dials (an app server issued
	// it): generating 10k of them (zlib each) inside the timed logins
	// took a core of the tool's own and measured the tool.
	fmt.Fprintf(progress, "signing %d userSigs...\n", o.Users)
	sigs, err := userSigs(o)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(progress, "logging in %d users...\n", o.Users)
	t0 := time.Now()
	users, err := loginAll(ctx, o, sigs)
	res.LoginSec = time.Since(t0).Seconds()
	if err != nil {
		closeAll(users)
		return Result{}, err
	}
	res.LoginsPerS = float64(len(users)) / res.LoginSec
	fmt.Fprintf(progress, "%d logins in %.2f s (%.0f/s); holding them idle %s\n", len(users), res.LoginSec, res.LoginsPerS, idleHold)

	h := newHarness(users, uint64(time.Now().UnixNano()))
	defer h.close()
	for _, u := range users {
		go u.readLoop(h)
	}
	cpu0 := probe.cpu()
	if err := sleep(ctx, idleHold); err != nil {
		return Result{}, err
	}
	res.IdleCPU = probe.percent(cpu0, probe.cpu(), idleHold)
	res.RSSAfter = probe.rss()
	if res.RSSBefore != nil && res.RSSAfter != nil {
		per := (*res.RSSAfter - *res.RSSBefore) / float64(o.Users)
		res.RSSPerUser = &per
	}

	for _, r := range o.Rates {
		fmt.Fprintf(progress, "invite→cancel at %d/s for %s...\n", r, o.Phase)
		ph, err := runPhase(ctx, h, probe, r, o.Phase)
		if err != nil {
			return Result{}, err
		}
		res.Phases = append(res.Phases, ph)
	}
	h.mu.Lock()
	res.LostConns = h.lost
	h.mu.Unlock()
	return res, nil
}

// runPhase sends invitations at rate per second for d, open loop: the
// n-th is due at start+n/rate whether or not earlier ones finished; ticks
// with no idle pair, and a backlog of more than 50 ms the sender could not
// keep up with, count as missed rather than being sent late in a burst.
func runPhase(ctx context.Context, h *harness, probe *probe, r int, d time.Duration) (Phase, error) {
	ph := &phaseStats{}
	start := time.Now()
	cpu0 := probe.cpu()
	due, done := 0, 0
	maxLag := max(1, r/20)
	for {
		el := time.Since(start)
		if el >= d {
			break
		}
		due = int(el.Seconds() * float64(r))
		if lag := due - done; lag > maxLag {
			h.mu.Lock()
			ph.missed += lag - maxLag
			h.mu.Unlock()
			done = due - maxLag
		}
		for ; done < due; done++ {
			h.start(ph)
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return Phase{}, err
		}
	}
	cpuPct := probe.percent(cpu0, probe.cpu(), time.Since(start))
	h.drain(drainWait)
	h.mu.Lock()
	defer h.mu.Unlock()
	p := Phase{TargetPerS: r, Sent: ph.sent, Invited: len(ph.latencies), Missed: ph.missed, NoIdle: ph.noIdle, Errors: ph.errors, CPUPercent: cpuPct}
	for _, c := range h.byCaller {
		if c.ph == ph {
			p.Unfinished++
		}
	}
	p.AchievedPerS = float64(p.Invited) / d.Seconds()
	lat := slices.Clone(ph.latencies)
	slices.Sort(lat)
	p.P50Ms, p.P90Ms, p.P99Ms = pct(lat, 50), pct(lat, 90), pct(lat, 99)
	if len(lat) > 0 {
		p.MaxMs = ms(lat[len(lat)-1])
	}
	return p, nil
}

// pct is the nearest-rank percentile of sorted ds, in ms.
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	i := (len(ds)*p + 99) / 100
	return ms(ds[max(0, min(len(ds)-1, i-1))])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loginAll logs o.Users users in with at most o.Concurrency logins in
// flight (and no more than perAddrConcurrency per source address, below
// the server's per-IP cap), paced by o.LoginRate if set.
func loginAll(ctx context.Context, o Options, sigs []string) ([]*user, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dialers := []*websocket.Dialer{dialer(nil)}
	conc := o.Concurrency
	if o.Addrs > 0 {
		dialers = dialers[:0]
		for i := range o.Addrs {
			dialers = append(dialers, dialer(net.IPv4(127, 0, 0, byte(2+i))))
		}
		conc = min(conc, perAddrConcurrency*o.Addrs)
	}
	var lim *rate.Limiter
	if o.LoginRate > 0 {
		lim = rate.NewLimiter(rate.Limit(o.LoginRate), 1)
	}
	users := make([]*user, o.Users)
	var (
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.Users || ctx.Err() != nil {
					return
				}
				if lim != nil && lim.Wait(ctx) != nil {
					return
				}
				u, err := loginRetry(ctx, dialers[i%len(dialers)], o, i, sigs[i])
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				users[i] = u
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return users, firstErr
	}
	return users, ctx.Err()
}

// loginRetry retries a login the server refused as busy (503), as a
// real client does after Retry-After.
func loginRetry(ctx context.Context, d *websocket.Dialer, o Options, i int, sig string) (*user, error) {
	for attempt := 0; ; attempt++ {
		u, err := login(ctx, d, o.ServerURL, o.SDKAppID, i, sig)
		if err == nil || !errors.Is(err, errBusy) || attempt >= 20 {
			return u, err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// userSigs signs every user's userSig, on all cores.
func userSigs(o Options) ([]string, error) {
	sigs := make([]string, o.Users)
	var (
		next atomic.Int64
		errs = make([]error, runtime.GOMAXPROCS(0))
		wg   sync.WaitGroup
	)
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < o.Users; i = int(next.Add(1) - 1) {
				sig, err := usersig.GenerateNow(o.Secret, o.SDKAppID, userID(i), 24*time.Hour)
				if err != nil {
					errs[w] = fmt.Errorf("userSig for %s: %w", userID(i), err)
					return
				}
				sigs[i] = sig
			}
		})
	}
	wg.Wait()
	return sigs, errors.Join(errs...)
}

func closeAll(users []*user) {
	for _, u := range users {
		if u != nil {
			u.ws.Close()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// probe reads the server's RSS and CPU time; with no PID it reads nothing
// and every figure is nil (a remote server's process is not ours to see).
type probe struct{ pid int }

func newProbe(pid int) *probe { return &probe{pid: pid} }

func (p *probe) rss() *float64 {
	if p.pid == 0 {
		return nil
	}
	v, err := procstat.RSSKiB(p.pid)
	if err != nil {
		return nil
	}
	return &v
}

func (p *probe) cpu() *float64 {
	if p.pid == 0 {
		return nil
	}
	v, err := procstat.CPUSeconds(p.pid)
	if err != nil {
		return nil
	}
	return &v
}

// percent is the CPU used between two readings over d, in % of one core.
func (p *probe) percent(a, b *float64, d time.Duration) *float64 {
	if a == nil || b == nil || d <= 0 {
		return nil
	}
	v := (*b - *a) / d.Seconds() * 100
	return &v
}

// child is a `termcall serve` child process.
type child struct {
	cmd    *exec.Cmd
	url    string
	secret string
	done   chan struct{}
}

// startServer runs bin serve on a free loopback port with a random secret
// (passed in the environment, not argv, so ps does not show it) and waits
// for its "listening URL" line.
func startServer(ctx context.Context, bin string, extra []string) (*child, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	secret := hex.EncodeToString(raw[:])
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--sdkappid", strconv.Itoa(DefaultSDKAppID),
		"--web=false", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERMCALL_SECRET="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("serve stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &child{cmd: cmd, secret: secret, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case lines <- u:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	select {
	case u := <-lines:
		s.url = strings.TrimSpace(u)
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s serve exited before listening", bin)
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s serve did not print its listening line in 30 s", bin)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop asks the server to shut down (SIGTERM, as main handles it) and
// kills it if it has not within 10 s.
func (s *child) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

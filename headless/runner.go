// Package headless drives the call engine from a script: commands named
// after the TRTCCalling API come in on stdin, one per line, and every engine
// event goes out on stdout as one JSON object per line. It is how termcall
// is tested end to end and how it answers calls unattended.
package headless

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/procstat"
	"github.com/termcall/termcall/server/proto"
)

// Defaults of Options.
const (
	// DefaultCallTimeout bounds each engine call (login, invite, accept...).
	DefaultCallTimeout = 15 * time.Second
	// quitTimeout bounds the logout on the way out.
	quitTimeout = 5 * time.Second
	// maxLine bounds one command line.
	maxLine = 64 << 10
	// maxInvites bounds the invitations remembered for accept and reject.
	maxInvites = 256
)

// Options configure Run.
type Options struct {
	ServerURL string // ws://HOST:PORT/ws (or wss://) of `termcall serve`
	// ServerURLs are several nodes of one service instead of ServerURL
	// (set one of the two), to fail over between (--server URL1,URL2).
	ServerURLs []string
	// CAFile is a PEM file of CA certificates trusted for wss:// besides
	// the system roots.
	CAFile   string
	SDKAppID uint32
	UserID   string
	// UserSig logs the user in. When empty it is generated from Secret.
	UserSig string
	Secret  string
	// UserSigExpire is the validity of a generated userSig (default
	// client.DefaultUserSigExpire).
	UserSigExpire time.Duration
	// AutoAccept accepts every invitation; AutoReject rejects it. They
	// exclude each other.
	AutoAccept bool
	AutoReject bool
	// GroupTimeout is the ringing timeout of groupCall, in seconds
	// (default: the engine's, callcore.DefaultGroupTimeout).
	GroupTimeout int
	// CallTimeout bounds each engine call (default DefaultCallTimeout).
	CallTimeout time.Duration
	// Logger receives the engine's and the runner's logs (default: discard).
	// Never stdout: stdout carries only event lines.
	Logger *slog.Logger
	// Media chooses sources and sinks; the zero value is signaling only.
	Media MediaOptions
	// Self, when set, is sent with SetSelfInfo after each login, so that
	// others see this nickname and avatar (setSelfInfo changes it).
	Self callcore.SelfInfo
	// CPUProfile, when set, is a file that gets a pprof CPU profile of
	// the whole run (--cpuprofile), for finding where a call's CPU goes.
	CPUProfile string
}

func (o *Options) check() error {
	switch {
	case o.ServerURL == "" && len(o.ServerURLs) == 0:
		return fmt.Errorf("%w: no server URL", ErrBadOptions)
	case o.ServerURL != "" && len(o.ServerURLs) > 0:
		return fmt.Errorf("%w: both ServerURL and ServerURLs", ErrBadOptions)
	case o.SDKAppID == 0:
		return fmt.Errorf("%w: no SDKAppID", ErrBadOptions)
	case o.UserID == "":
		return fmt.Errorf("%w: no user ID", ErrBadOptions)
	case o.UserSig == "" && o.Secret == "":
		return fmt.Errorf("%w: neither a userSig nor a secret key to make one", ErrBadOptions)
	case o.AutoAccept && o.AutoReject:
		return fmt.Errorf("%w: auto-accept and auto-reject together", ErrBadOptions)
	case o.GroupTimeout < 0:
		return fmt.Errorf("%w: negative group timeout", ErrBadOptions)
	case len(o.Self.NickName) > proto.MaxNickName || len(o.Self.Avatar) > proto.MaxAvatar:
		return fmt.Errorf("%w: nickname at most %d bytes, avatar at most %d", ErrBadOptions, proto.MaxNickName, proto.MaxAvatar)
	}
	servers := config.ServerList(o.ServerURLs)
	if o.ServerURL != "" {
		servers = config.ServerList{o.ServerURL}
	}
	// Here rather than at the dial: the error names the bad URL of a list.
	if err := servers.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// runner is one Run: the engine, the output and the wait bookkeeping.
type runner struct {
	opts   Options
	log    *slog.Logger
	client *client.Client
	eng    *callcore.Engine // client.Engine
	out    *output
	waits  *waits

	mu      sync.Mutex
	invites map[string]inviteSummary // ringing invitations by inviteID, for accept/reject

	auto  chan inviteSummary // invitations for the auto-accept/-reject worker
	views *views             // nil: signaling only
	self  callcore.SelfInfo  // sent after each login; only the command loop touches it
}

// inviteSummary is what accept and reject need of an INVITED event.
type inviteSummary struct {
	inviteID string
	roomID   uint32
	callType callcore.CallType
}

// Run logs opts.UserID in, then executes the commands read from stdin and
// writes every event to stdout as a JSON line, until quit, end of input or
// ctx is done. On the way out it logs out. A login refused at start is
// printed as an ERROR line and returned (wrapping ErrLogin); command errors
// are printed and do not stop Run.
func Run(ctx context.Context, opts Options, stdin io.Reader, stdout io.Writer) error {
	if err := opts.check(); err != nil {
		return err
	}
	opts.setDefaults()
	if opts.CPUProfile != "" {
		stop, err := procstat.StartCPUProfile(opts.CPUProfile)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
		defer func() {
			if err := stop(); err != nil {
				opts.Logger.Warn("cpu profile", "err", err)
			}
		}()
	}
	r := &runner{
		opts:    opts,
		log:     opts.Logger.With("part", "headless", "user", opts.UserID),
		self:    opts.Self,
		out:     &output{w: stdout},
		waits:   newWaits(),
		invites: make(map[string]inviteSummary),
		auto:    make(chan inviteSummary, 16),
	}
	co := client.Options{
		Server: opts.ServerURL, Servers: opts.ServerURLs, CAFile: opts.CAFile, SDKAppID: opts.SDKAppID, UserID: opts.UserID,
		UserSig: opts.UserSig, Secret: opts.Secret, UserSigExpire: opts.UserSigExpire,
		GroupTimeout: opts.GroupTimeout, Logger: opts.Logger,
	}
	if opts.Media.Enabled {
		spec, v, err := mediaSpec(opts.Media, opts.Logger, func(st media.Stats) { r.emit(EventStats, time.Now(), st) })
		if err != nil {
			r.printError(CodeBadArgs, err.Error(), "media")
			return fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
		defer func() {
			if err := v.close(); err != nil {
				r.log.Debug("close video out", "err", err)
			}
		}()
		co.Media, r.views = spec, v
	}
	c, err := client.New(co)
	if err != nil {
		code := CodeBadArgs
		var ce *callcore.CodedError
		if errors.As(err, &ce) {
			code = ce.Code // no microphone / no camera
		}
		r.printError(code, err.Error(), "media")
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	r.client, r.eng = c, c.Engine
	r.log = c.Logger().With("part", "headless", "user", opts.UserID)
	if q := opts.Media.VideoQuality; opts.Media.Enabled && q != "" {
		vq, err := callcore.ParseVideoQuality(q)
		if err == nil {
			err = r.eng.SetVideoQuality(vq)
		}
		if err != nil {
			r.printError(CodeBadArgs, "--video-quality: "+err.Error(), "media")
			_ = c.Close()
			return fmt.Errorf("%w: --video-quality: %w", ErrBadOptions, err)
		}
	}
	// Like the engine's own ERROR events (no cmd): the same code comes
	// from the media layer for a server handed out at call time.
	for _, p := range c.Problems {
		r.emit(string(callcore.EventError), time.Now(), p)
	}
	eng := c.Engine
	unsubscribe := eng.Subscribe(r.onEvent)

	// The worker answers invitations off the engine's event goroutine, so
	// that an answer never waits on the goroutine that must read its reply.
	var wg sync.WaitGroup
	workerDone := make(chan struct{})
	if opts.AutoAccept || opts.AutoReject {
		wg.Go(func() { r.autoAnswer(ctx, workerDone) })
	}

	err = r.loop(ctx, stdin)

	close(workerDone)
	wg.Wait()
	if cerr := c.Close(); cerr != nil {
		r.log.Debug("close engine", "err", cerr)
	}
	r.log.Debug("engine closed")
	unsubscribe()
	if err == nil {
		err = r.out.failed()
	}
	return err
}

// loop logs in, then runs commands until quit, EOF or ctx is done.
func (r *runner) loop(ctx context.Context, stdin io.Reader) error {
	if err := r.login(ctx); err != nil {
		r.printError(errorCode(err), err.Error(), "login")
		return fmt.Errorf("%w: %w", ErrLogin, err)
	}

	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	// The reader may stay blocked in Read after Run returns (stdin cannot be
	// interrupted); it exits at the next line or at EOF.
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()

	for {
		select {
		case <-ctx.Done():
			r.log.Info("stopping", "why", ctx.Err())
			r.quit(ctx)
			return nil
		case line, ok := <-lines:
			if !ok {
				if err := <-readErr; err != nil {
					r.log.Warn("read stdin", "err", err)
				}
				r.quit(ctx)
				return nil
			}
			if r.execLine(ctx, line) {
				r.quit(ctx)
				return nil
			}
			if err := r.out.failed(); err != nil {
				return err // nobody reads our output any more
			}
		}
	}
}

// execLine runs one command line and reports whether it was quit.
func (r *runner) execLine(ctx context.Context, line string) (quit bool) {
	c, ok, err := parseLine(line)
	if !ok {
		return false
	}
	if err != nil {
		code := CodeBadArgs
		if errors.Is(err, ErrUnknownCommand) {
			code = CodeUnknownCommand
		}
		r.printError(code, err.Error(), line)
		return false
	}
	r.log.Debug("command", "line", c.line)
	if c.op == opQuit {
		return true
	}
	if err := r.exec(ctx, c); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrWaitTimeout) {
			return false // shutting down: the loop notices
		}
		r.printError(errorCode(err), err.Error(), c.line)
	}
	return false
}

// exec runs one parsed command (not quit).
func (r *runner) exec(ctx context.Context, c command) error {
	switch c.op {
	case opWait:
		return r.waits.wait(ctx, c.event, c.duration)
	case opSleep:
		t := time.NewTimer(c.duration)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return nil
	case opStartRemoteView:
		if r.views != nil {
			// Before the binding: the first size sent is the right one.
			r.views.setSize(c.view, c.width, c.height)
		}
		return r.eng.StartRemoteView(c.user, c.view)
	case opSetVideoQuality:
		return r.eng.SetVideoQuality(c.quality)
	case opDevices:
		return r.devices()
	case opSwitchDevice:
		return r.switchDevice(c)
	case opStopRemoteView:
		return r.eng.StopRemoteView(c.user, c.view)
	case opStartLocalView:
		return r.eng.StartLocalView(c.view)
	case opStopLocalView:
		return r.eng.StopLocalView(c.view)
	case opSetLogLevel:
		r.client.SetLogLevel(c.level)
		return nil
	case opStats:
		if r.client.Factory == nil {
			return fmt.Errorf("%w: stats: media is off", ErrBadArgs)
		}
		now := time.Now()
		for _, st := range r.client.Factory.Snapshot() {
			r.emit(EventStats, now, st)
		}
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	switch c.op {
	case opLogin:
		return r.login(ctx)
	case opLogout:
		return r.eng.Logout(ctx)
	case opCall:
		info, err := r.eng.Call(ctx, c.user, c.callType, c.timeout)
		if err != nil {
			return err
		}
		r.callStarted(info)
	case opGroupCall:
		info, err := r.eng.GroupCall(ctx, c.users, c.callType, c.groupID)
		if err != nil {
			return err
		}
		r.callStarted(info)
	case opAccept:
		inv := r.invite(c.inviteID)
		return r.eng.Accept(ctx, c.inviteID, inv.roomID, inv.callType)
	case opReject:
		inv := r.invite(c.inviteID)
		return r.eng.Reject(ctx, c.inviteID, c.busy, inv.callType)
	case opHangup:
		return r.eng.Hangup(ctx)
	case opSwitchToAudio:
		if err := r.eng.SwitchToAudioCall(ctx); err != nil {
			return switchFailed(callcore.CodeSwitchToAudioFailed, err)
		}
	case opSwitchToVideo:
		if err := r.eng.SwitchToVideoCall(ctx); err != nil {
			return switchFailed(callcore.CodeSwitchToVideoFailed, err)
		}
	case opSetSelfInfo:
		info := callcore.SelfInfo{NickName: c.nickName, Avatar: c.avatar}
		if err := r.eng.SetSelfInfo(ctx, info); err != nil {
			return err
		}
		r.self = info
	case opOpenCamera:
		return r.eng.OpenCamera(ctx)
	case opCloseCamera:
		return r.eng.CloseCamera(ctx)
	case opSetMicMute:
		return r.eng.SetMicMute(ctx, c.mute)
	default:
		return fmt.Errorf("%w: command %q has no handler", ErrUnknownCommand, c.line)
	}
	return nil
}

// switchFailed gives a failed switch TRTCCalling's code (60001/60002);
// the message keeps the code of the cause (the server's 4090, say), which
// scripts written against the protocol's codes look for.
func switchFailed(code int, err error) error {
	cause := err
	var ce *callcore.CodedError
	if errors.As(err, &ce) {
		cause = ce.Err
	}
	if n := callcore.ErrorCode(cause); !strings.Contains(err.Error(), strconv.Itoa(n)) {
		err = fmt.Errorf("%w (code %d)", err, n)
	}
	return &callcore.CodedError{Code: code, Err: err}
}

// login logs in with the configured user (the caller prints a refusal);
// SDK_READY comes as an engine event. Then it sets the self info (--nickname, --avatar or the last
// setSelfInfo); a failure there is printed but leaves the login standing.
func (r *runner) login(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	if err := client.ExplainLogin(r.eng.Login(ctx, r.opts.UserID, r.client.UserSig())); err != nil {
		return err
	}
	if r.self != (callcore.SelfInfo{}) {
		if err := r.eng.SetSelfInfo(ctx, r.self); err != nil {
			r.printError(errorCode(err), err.Error(), "setSelfInfo")
		}
	}
	return nil
}

// quit logs out on the way out. A failure only matters to the log: the
// process ends either way, and the server drops the session after its grace.
func (r *runner) quit(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), quitTimeout)
	defer cancel()
	if err := r.eng.Logout(ctx); err != nil {
		r.log.Debug("logout on quit", "err", err)
		return
	}
	r.log.Debug("logged out")
}

// invite returns what is known of a ringing invitation ("" = the latest).
func (r *runner) invite(id string) inviteSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invites[id]
}

// onEvent is the handler of every engine event.
func (r *runner) onEvent(ev callcore.Event) {
	if inv, ok := invitedOf(ev); ok {
		s := inviteSummary{inviteID: inv.InviteID, roomID: inv.InviteData.RoomID, callType: inv.InviteData.CallType}
		r.mu.Lock()
		if len(r.invites) > maxInvites {
			clear(r.invites) // old invitations have long been answered
		}
		r.invites[inv.InviteID] = s
		r.invites[""] = s
		r.mu.Unlock()
	}
	r.emit(string(ev.Name), ev.Time, ev.Data)
	if ref, ok := ev.Data.(callcore.UserRef); ok && ev.Name == callcore.EventUserEnter && r.views != nil && r.views.autoView {
		// --video-out dir or echo: show every member's video without a
		// startRemoteView per member.
		if err := r.eng.StartRemoteView(ref.UserID, ref.UserID); err != nil {
			r.log.Warn("auto view", "user", ref.UserID, "err", err)
		}
	}
	if inv, ok := invitedOf(ev); ok && (r.opts.AutoAccept || r.opts.AutoReject) {
		select {
		case r.auto <- inviteSummary{inviteID: inv.InviteID, roomID: inv.InviteData.RoomID, callType: inv.InviteData.CallType}:
		default:
			r.printError(CodeInternal, "too many invitations waiting for an automatic answer", "auto-answer "+inv.InviteID)
		}
	}
}

func invitedOf(ev callcore.Event) (callcore.Invited, bool) {
	switch d := ev.Data.(type) {
	case callcore.Invited:
		return d, true
	case *callcore.Invited:
		if d != nil {
			return *d, true
		}
	}
	return callcore.Invited{}, false
}

// autoAnswer accepts or rejects each invitation queued by onEvent.
func (r *runner) autoAnswer(ctx context.Context, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case inv := <-r.auto:
			cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
			var err error
			what := "accept"
			if r.opts.AutoAccept {
				err = r.eng.Accept(cctx, inv.inviteID, inv.roomID, inv.callType)
			} else {
				what = "reject"
				err = r.eng.Reject(cctx, inv.inviteID, false, inv.callType)
			}
			cancel()
			if err != nil && ctx.Err() == nil {
				code := callcore.ErrorCode(err)
				if code == 0 {
					code = CodeInternal
				}
				r.printError(code, err.Error(), "auto-"+what+" "+inv.inviteID)
			}
		}
	}
}

// callStarted prints the headless-only CALL_STARTED line.
func (r *runner) callStarted(info callcore.CallInfo) {
	invitees := info.Invitees
	if invitees == nil {
		invitees = []string{}
	}
	r.emit(EventCallStarted, time.Now(), struct {
		InviteID string   `json:"inviteID"`
		RoomID   uint32   `json:"roomID"`
		Invitees []string `json:"invitees"`
	}{info.InviteID, info.RoomID, invitees})
}

// printError prints an ERROR line for a command (or automatic action) that failed.
func (r *runner) printError(code int, msg, cmd string) {
	r.emit(string(callcore.EventError), time.Now(), struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Cmd  string `json:"cmd"`
	}{code, msg, cmd})
}

// emit prints one line and counts it for wait.
func (r *runner) emit(name string, ts time.Time, payload any) {
	if ts.IsZero() {
		ts = time.Now()
	}
	if err := r.out.write(name, ts, payload); err != nil {
		r.log.Warn("print event", "event", name, "err", err)
		return
	}
	r.waits.printed(name)
}

package headless

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/server/proto"
)

// Defaults of the command language.
const (
	defaultCallTimeout = 30 // seconds of ringing for "call" without TIMEOUT_S
	defaultWaitTimeout = 10 * time.Second
	maxCallTimeout     = 3600 // the protocol's limit; checked here for a clear message
)

// EventCallStarted is printed by headless mode (not the engine) after a
// successful call or groupCall, so that a script learns the inviteID.
const EventCallStarted = "CALL_STARTED"

// op identifies a command of the language.
type op int

const (
	opUnknown op = iota
	opLogin
	opLogout
	opCall
	opGroupCall
	opAccept
	opReject
	opHangup
	opSwitchToAudio
	opSwitchToVideo
	opOpenCamera
	opCloseCamera
	opSetMicMute
	opStartRemoteView
	opStopRemoteView
	opStartLocalView
	opStopLocalView
	opWait
	opSleep
	opStats
	opSetSelfInfo
	opSetLogLevel
	opSetVideoQuality
	opDevices
	opSwitchDevice
	opQuit
)

// command is one parsed command line. Only the fields its op uses are set.
type command struct {
	op       op
	line     string // the line as typed, trimmed, for ERROR lines
	user     string
	users    []string
	groupID  string
	callType callcore.CallType
	timeout  int // ringing timeout in seconds (call)
	inviteID string
	busy     bool
	mute     bool
	view     string
	event    string
	duration time.Duration // wait timeout or sleep duration
	nickName string
	avatar   string
	level    slog.Level
	quality  callcore.VideoQuality
	width    int // startRemoteView's WxH: the largest size the view shows (0: any)
	height   int
	kind     callcore.DeviceKind // switchDevice
	deviceID string
}

// spec describes one command: its name, argument counts and how to read them.
type spec struct {
	name    string
	usage   string // arguments, for help and error messages
	minArgs int
	maxArgs int // -1: any number
	op      op
	parse   func(c *command, args []string) error
}

// specs is the command table, in help order. It is built per call (it is
// cheap) so that the package keeps no mutable state.
func specs() []spec {
	noArgs := func(*command, []string) error { return nil }
	return []spec{
		{"login", "", 0, 0, opLogin, noArgs},
		{"logout", "", 0, 0, opLogout, noArgs},
		{"call", "USER audio|video [TIMEOUT_S]", 2, 3, opCall, parseCall},
		{"groupCall", "audio|video GROUPID|- [USER...]", 2, -1, opGroupCall, parseGroupCall},
		{"accept", "[INVITEID]", 0, 1, opAccept, func(c *command, a []string) error {
			if len(a) == 1 {
				c.inviteID = a[0]
			}
			return nil
		}},
		{"reject", "[INVITEID] [busy]", 0, 2, opReject, parseReject},
		{"hangup", "", 0, 0, opHangup, noArgs},
		{"switchToAudio", "", 0, 0, opSwitchToAudio, noArgs},
		{"switchToVideo", "", 0, 0, opSwitchToVideo, noArgs},
		{"openCamera", "", 0, 0, opOpenCamera, noArgs},
		{"closeCamera", "", 0, 0, opCloseCamera, noArgs},
		{"setMicMute", "true|false", 1, 1, opSetMicMute, func(c *command, a []string) error {
			b, err := strconv.ParseBool(a[0])
			if err != nil {
				return fmt.Errorf("%q is not true or false", a[0])
			}
			c.mute = b
			return nil
		}},
		{"startRemoteView", "USER VIEW [WxH]", 2, 3, opStartRemoteView, parseUserView},
		{"stopRemoteView", "USER VIEW", 2, 2, opStopRemoteView, parseUserView},
		{"startLocalView", "VIEW", 1, 1, opStartLocalView, func(c *command, a []string) error { c.view = a[0]; return nil }},
		{"stopLocalView", "VIEW", 1, 1, opStopLocalView, func(c *command, a []string) error { c.view = a[0]; return nil }},
		{"wait", "EVENT [TIMEOUT]", 1, 2, opWait, parseWait},
		{"sleep", "DURATION", 1, 1, opSleep, func(c *command, a []string) error {
			d, err := parseDuration(a[0])
			c.duration = d
			return err
		}},
		{"stats", "", 0, 0, opStats, noArgs},
		{"setSelfInfo", "NICKNAME [AVATAR]", 1, 2, opSetSelfInfo, parseSelfInfo},
		{"setLogLevel", "debug|info|warn|error|off|0-4", 1, 1, opSetLogLevel, func(c *command, a []string) error {
			l, err := parseLogLevel(a[0])
			c.level = l
			return err
		}},
		{"setVideoQuality", "120p|180p|240p|360p|480p|720p", 1, 1, opSetVideoQuality, func(c *command, a []string) error {
			q, err := callcore.ParseVideoQuality(a[0])
			c.quality = q
			return err
		}},
		{"devices", "", 0, 0, opDevices, noArgs},
		{"switchDevice", "camera|microphone|speaker DEVICEID", 2, 2, opSwitchDevice, parseSwitchDevice},
		{"quit", "", 0, 0, opQuit, noArgs},
	}
}

// parseLine reads one line of the command language. ok is false for blank
// lines and comments, which are not commands. Errors wrap ErrUnknownCommand or
// ErrBadArgs.
func parseLine(line string) (c command, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return command{}, false, nil
	}
	fields := strings.Fields(line)
	name, args := fields[0], fields[1:]
	i := slices.IndexFunc(specs(), func(s spec) bool { return s.name == name })
	if i < 0 {
		return command{}, true, fmt.Errorf("%w %q", ErrUnknownCommand, name)
	}
	s := specs()[i]
	if len(args) < s.minArgs || (s.maxArgs >= 0 && len(args) > s.maxArgs) {
		return command{}, true, fmt.Errorf("%w: usage: %s", ErrBadArgs, strings.TrimSpace(s.name+" "+s.usage))
	}
	c = command{op: s.op, line: line}
	if err := s.parse(&c, args); err != nil {
		return command{}, true, fmt.Errorf("%w: %s: %v (usage: %s)", ErrBadArgs, s.name, err, strings.TrimSpace(s.name+" "+s.usage))
	}
	return c, true, nil
}

func parseCallType(s string) (callcore.CallType, error) {
	t, err := callcore.ParseCallType(s)
	if err != nil {
		// headless's own wording, which ERROR lines have always carried.
		return 0, fmt.Errorf("call type %q is not audio or video", s)
	}
	return t, nil
}

func parseCall(c *command, a []string) error {
	c.user = a[0]
	t, err := parseCallType(a[1])
	if err != nil {
		return err
	}
	c.callType = t
	c.timeout = defaultCallTimeout
	if len(a) == 3 {
		n, err := strconv.Atoi(a[2])
		if err != nil || n < 0 || n > maxCallTimeout {
			return fmt.Errorf("timeout %q is not a number of seconds in 0..%d", a[2], maxCallTimeout)
		}
		c.timeout = n
	}
	return nil
}

func parseGroupCall(c *command, a []string) error {
	t, err := parseCallType(a[0])
	if err != nil {
		return err
	}
	c.callType = t
	if a[1] != "-" {
		c.groupID = a[1]
	}
	c.users = slices.Clone(a[2:])
	// Without a group the invitee list is the call; with one, an empty list
	// means every member of the group.
	if c.groupID == "" && len(c.users) == 0 {
		return fmt.Errorf("no users to call")
	}
	return nil
}

func parseReject(c *command, a []string) error {
	// "busy" is the only keyword, so one argument is either it or an inviteID.
	switch {
	case len(a) == 1 && a[0] == "busy":
		c.busy = true
	case len(a) >= 1:
		c.inviteID = a[0]
		if len(a) == 2 {
			if a[1] != "busy" {
				return fmt.Errorf("%q is not \"busy\"", a[1])
			}
			c.busy = true
		}
	}
	return nil
}

func parseUserView(c *command, a []string) error {
	c.user, c.view = a[0], a[1]
	if len(a) == 3 {
		w, h, err := parseSize(a[2])
		if err != nil {
			return err
		}
		c.width, c.height = w, h
	}
	return nil
}

// maxViewSide bounds a view size (the largest frame termcall handles).
const maxViewSide = 4096

// parseSize reads WxH (e.g. 160x120).
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil || w < 1 || h < 1 || w > maxViewSide || h > maxViewSide {
		return 0, 0, fmt.Errorf("size %q is not WxH (e.g. 160x120)", s)
	}
	return w, h, nil
}

func parseWait(c *command, a []string) error {
	if !knownEvent(a[0]) {
		return fmt.Errorf("no event %q", a[0])
	}
	c.event = a[0]
	if c.event == string(callcore.EventCallingEnd) {
		// TRTCCalling's other name: CALL_END lines satisfy it, and a wait
		// for either name uses up the same events.
		c.event = string(callcore.EventCallEnd)
	}
	c.duration = defaultWaitTimeout
	if len(a) == 2 {
		d, err := parseDuration(a[1])
		if err != nil {
			return err
		}
		c.duration = d
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 500ms or 2s", s)
	}
	return d, nil
}

func parseSelfInfo(c *command, a []string) error {
	c.nickName = a[0]
	if len(a) == 2 {
		c.avatar = a[1]
	}
	if len(c.nickName) > proto.MaxNickName || len(c.avatar) > proto.MaxAvatar {
		return fmt.Errorf("nickname at most %d bytes, avatar at most %d", proto.MaxNickName, proto.MaxAvatar)
	}
	return nil
}

// levelOff is above every level a record is logged at: setLogLevel off.
const levelOff = slog.LevelError + 1000

// parseLogLevel reads setLogLevel's argument: a slog level name, or TIM's
// numbers (0 debug, 1 info, 2 warn, 3 error, 4 off).
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug", "0":
		return slog.LevelDebug, nil
	case "info", "1":
		return slog.LevelInfo, nil
	case "warn", "warning", "2":
		return slog.LevelWarn, nil
	case "error", "3":
		return slog.LevelError, nil
	case "off", "4":
		return levelOff, nil
	}
	return 0, fmt.Errorf("level %q is not debug, info, warn, error, off or 0-4", s)
}

// knownEvent reports whether name is a line headless mode can print (or,
// for CALLING_END, an alias of one).
func knownEvent(name string) bool {
	if name == EventCallStarted || name == EventStats || name == EventDevices || name == EventDeviceSwitched ||
		name == string(callcore.EventCallingEnd) {
		return true
	}
	return slices.Contains(callcore.AllEvents(), callcore.EventName(name))
}

// Usage is the command language's reference, for --help.
func Usage() string {
	var b strings.Builder
	for _, s := range specs() {
		fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(s.name+" "+s.usage))
	}
	return b.String()
}

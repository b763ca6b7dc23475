// Package config is termcall's client configuration: a TOML file in the XDG
// config directory, overridden by command-line flags.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/server/proto"
)

// Renderer names accepted in Config.Renderer. "auto" picks one from the
// terminal's capabilities.
var rendererNames = []string{"auto", "truecolor", "256", "ascii", "sixel"}

// ICE policies accepted in Config.ICEPolicy ("" is "all").
var icePolicies = []string{"all", "relay"}

// RelayOnly reports whether c's ICE policy keeps media on TURN relays.
func (c Config) RelayOnly() bool { return c.ICEPolicy == "relay" }

// RendererNames returns the renderer names Validate accepts.
func RendererNames() []string { return slices.Clone(rendererNames) }

// Config is the client configuration.
type Config struct {
	// Server is the signaling server's websocket URL, ws://HOST:PORT/ws
	// (default proto.DefaultServerURL, where `termcall serve` listens), or
	// several nodes of one service to fail over between (see ServerList).
	Server ServerList `toml:"server"`
	// CA is a PEM file of CA certificates trusted for a wss:// server
	// besides the system roots (for a self-signed certificate).
	CA string `toml:"ca"`
	// SDKAppID must match the server's.
	SDKAppID uint32 `toml:"sdkappid"`
	// User is the userID to log in as.
	User string `toml:"user"`
	// UserSig logs in directly; Secret makes one at start instead.
	UserSig string `toml:"usersig"`
	Secret  string `toml:"secret"`
	// Media sources and sinks, in the syntax of the headless flags:
	// audio_in "mic[:DEVICE]" (default "mic"), "tone:HZ", "wav:FILE" or
	// "silence"; audio_out "speaker[:DEVICE]" (default), "wav:FILE" or
	// "null"; video_in "camera[:DEVICE]" (default), "pattern", "y4m:FILE"
	// or "none". A missing microphone, speaker or camera falls back to a
	// test tone, silence or the test pattern, and the screen says so.
	AudioIn  string `toml:"audio_in"`
	AudioOut string `toml:"audio_out"`
	VideoIn  string `toml:"video_in"`
	// AEC, NS and AGC switch echo cancellation, noise suppression and
	// automatic gain on the microphone (docs/sound.md). Unset: on with a
	// real microphone and speaker, off for tones, files and null.
	AEC *bool `toml:"aec"`
	NS  *bool `toml:"ns"`
	AGC *bool `toml:"agc"`
	// ICELoopback keeps media on 127.0.0.1 (calls on one machine).
	ICELoopback bool `toml:"ice_loopback"`
	// ICEServers are STUN/TURN servers used besides those the signaling
	// server hands out at login: URL strings, or tables with urls,
	// username and credential for TURN (see ICEServer).
	ICEServers []ICEServer `toml:"ice_servers"`
	// ICEPolicy is "all" (default; "" too) or "relay": media only through
	// TURN relays, so that peers never learn your address (needs a TURN
	// server in ice_servers or from the signaling server).
	ICEPolicy string `toml:"ice_policy"`
	// VideoQuality is the most video sent: "120p", "180p", "240p"
	// (default), "360p", "480p" or "720p". The link and the size the
	// other side shows still cap it (docs/adaptive-media.md).
	VideoQuality string `toml:"video_quality"`
	// NickName and Avatar are how others see you (SetSelfInfo after
	// login): the nickname shows in their contacts and incoming-call
	// prompt. Empty: your userID only.
	NickName string `toml:"nickname"`
	Avatar   string `toml:"avatar"`
	// Contacts are the userIDs listed (with presence) on the contacts screen.
	Contacts []string `toml:"contacts"`
	// Groups are IM group IDs offered for group calls.
	Groups []string `toml:"groups"`
	// LogFile receives the logs; "" means DefaultLogPath().
	LogFile string `toml:"log_file"`
	// Renderer is the initial video renderer (see RendererNames).
	Renderer string `toml:"renderer"`
}

// DefaultPath returns $XDG_CONFIG_HOME/termcall/config.toml, or
// ~/.config/termcall/config.toml when the variable is unset.
func DefaultPath() (string, error) {
	return xdgPath("XDG_CONFIG_HOME", ".config", "config.toml")
}

// DefaultLogPath returns $XDG_STATE_HOME/termcall/termcall.log, or
// ~/.local/state/termcall/termcall.log.
func DefaultLogPath() (string, error) {
	return xdgPath("XDG_STATE_HOME", filepath.Join(".local", "state"), "termcall.log")
}

func xdgPath(env, fallback, file string) (string, error) {
	// XDG says relative values are invalid and must be ignored.
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "termcall", file), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("%w: set $%s or $HOME", ErrNoHome, env)
	}
	return filepath.Join(home, fallback, "termcall", file), nil
}

// Load reads a TOML file. Keys it does not know are an error, so that a
// typo does not silently fall back to a default.
func Load(path string) (Config, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return Config{}, fmt.Errorf("load %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("load %s: %w: %s", path, ErrUnknownKey, strings.Join(keys, ", "))
	}
	return c, nil
}

// LoadOptional is Load, except that a missing file gives an empty Config.
func LoadOptional(path string) (Config, error) {
	c, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	return c, err
}

// Validate checks that c is complete enough to log in, and returns every
// problem found joined in one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	errs = append(errs, c.Server.problems()...)
	if c.SDKAppID == 0 {
		bad("sdkappid is 0")
	}
	if !proto.ValidUserID(c.User) {
		bad("user %q: want 1-32 of [A-Za-z0-9_-]", c.User)
	}
	if c.UserSig == "" && c.Secret == "" {
		bad("set usersig or secret")
	}
	for _, u := range c.Contacts {
		if !proto.ValidUserID(u) {
			bad("contact %q: want 1-32 of [A-Za-z0-9_-]", u)
		}
	}
	for _, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			bad("empty group id")
		}
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 || slices.Contains(s.URLs, "") {
			bad("ice_servers[%d]: no URL (want \"stun:HOST:PORT\" or {urls = [\"turn:HOST:PORT\"], username = ..., credential = ...})", i)
		}
	}
	if c.ICEPolicy != "" && !slices.Contains(icePolicies, c.ICEPolicy) {
		bad("ice_policy %q: want all or relay", c.ICEPolicy)
	}
	if c.VideoQuality != "" {
		if _, err := callcore.ParseVideoQuality(c.VideoQuality); err != nil {
			bad("video_quality %q: want 120p, 180p, 240p, 360p, 480p or 720p", c.VideoQuality)
		}
	}
	if len(c.NickName) > proto.MaxNickName {
		bad("nickname: %d bytes, at most %d", len(c.NickName), proto.MaxNickName)
	}
	if len(c.Avatar) > proto.MaxAvatar {
		bad("avatar: %d bytes, at most %d", len(c.Avatar), proto.MaxAvatar)
	}
	if c.Renderer != "" && !slices.Contains(rendererNames, c.Renderer) {
		bad("renderer %q: want one of %s", c.Renderer, strings.Join(rendererNames, ", "))
	}
	return errors.Join(errs...)
}

// WithDefaults fills empty fields that have defaults (Server, LogFile,
// Renderer).
func (c Config) WithDefaults() (Config, error) {
	if len(c.Server) == 0 {
		c.Server = ServerList{proto.DefaultServerURL}
	}
	if c.Renderer == "" {
		c.Renderer = "auto"
	}
	if c.LogFile == "" {
		p, err := DefaultLogPath()
		if err != nil {
			return c, err
		}
		c.LogFile = p
	}
	return c, nil
}

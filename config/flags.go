package config

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/termcall/termcall/server/proto"
)

// SecretEnv is read when neither the file nor --secret gives a secret.
const SecretEnv = "TERMCALL_SECRET"

// Flags are the command-line overrides of a Config. Register them with
// AddFlags, then call Resolve after parsing.
type Flags struct {
	Path string // --config
	c    Config
	// --ice-server, --ice-username and --ice-credential, turned into
	// c.ICEServers by Apply.
	iceURLs                []string
	iceUsername, iceSecret string
}

// AddFlags registers --config and one flag per Config field on fs.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Path, "config", "", "config file (default $XDG_CONFIG_HOME/termcall/config.toml)")
	fs.Var(ServerFlag(&f.c.Server), "server", "signaling server URL, ws://HOST:PORT/ws or wss://; several, comma-separated, to fail over between (default "+proto.DefaultServerURL+")")
	fs.StringVar(&f.c.CA, "ca", "", "PEM file of CA certificates to trust for a wss:// server, besides the system roots")
	fs.Uint32Var(&f.c.SDKAppID, "sdkappid", 0, "SDKAppID the server was started with")
	fs.StringVar(&f.c.User, "user", "", "user ID to log in as")
	fs.StringVar(&f.c.UserSig, "usersig", "", "userSig to log in with")
	fs.StringVar(&f.c.Secret, "secret", "", "secret key to make a userSig with (default $"+SecretEnv+")")
	fs.StringVar(&f.c.AudioIn, "audio-in", "", "audio source: mic[:DEVICE] | tone:HZ | wav:FILE | silence (default mic)")
	fs.StringVar(&f.c.AudioOut, "audio-out", "", "audio sink: speaker[:DEVICE] | wav:FILE | null (default speaker)")
	fs.StringVar(&f.c.VideoIn, "video-in", "", "video source: camera[:DEVICE] | pattern | y4m:FILE | none (default camera)")
	AddProcessingFlags(fs, &f.c.AEC, &f.c.NS, &f.c.AGC)
	fs.BoolVar(&f.c.ICELoopback, "ice-loopback", false, "keep media on 127.0.0.1 (calls on one machine)")
	fs.StringVar(&f.c.ICEPolicy, "ice-policy", "", "all | relay (media only through TURN: your address stays hidden; needs a TURN server)")
	fs.StringVar(&f.c.VideoQuality, "video-quality", "", "most video sent: 120p | 180p | 240p | 360p | 480p | 720p (default 240p; the link still caps it)")
	fs.StringArrayVar(&f.iceURLs, "ice-server", nil, "STUN/TURN server URL, stun:HOST:PORT or turn:HOST:PORT?transport=udp (repeatable; replaces the file's ice_servers)")
	fs.StringVar(&f.iceUsername, "ice-username", "", "username for the turn:/turns: URLs of --ice-server")
	fs.StringVar(&f.iceSecret, "ice-credential", "", "credential (password) for the turn:/turns: URLs of --ice-server")
	fs.StringVar(&f.c.NickName, "nickname", "", "how others see you (nickname, at most 64 bytes)")
	fs.StringVar(&f.c.Avatar, "avatar", "", "your avatar URL, shown to others with your nickname")
	fs.StringVar(&f.c.Renderer, "renderer", "", "video renderer: auto, truecolor, 256, ascii, sixel")
	fs.StringVar(&f.c.LogFile, "log", "", "log file (default $XDG_STATE_HOME/termcall/termcall.log)")
	return f
}

// Resolve loads the config file (--config, or DefaultPath where a missing
// file is fine), applies the flags that were set on fs, the secret from the
// environment, and the defaults, then validates the result.
func (f *Flags) Resolve(fs *pflag.FlagSet) (Config, error) {
	var (
		c   Config
		err error
	)
	if f.Path != "" {
		c, err = Load(f.Path)
	} else {
		var p string
		if p, err = DefaultPath(); err == nil {
			c, err = LoadOptional(p)
		}
	}
	if err != nil {
		return Config{}, err
	}
	if c, err = f.Apply(fs, c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if c.Secret == "" && c.UserSig == "" {
		c.Secret = os.Getenv(SecretEnv)
	}
	if c, err = c.WithDefaults(); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Apply returns c with the fields of the flags that were set on fs.
// A --usersig clears a file's secret and the other way round, so the flag
// decides how to log in. --ice-server replaces the file's ice_servers; the
// error is for ICE credentials without a TURN URL to go with.
func (f *Flags) Apply(fs *pflag.FlagSet, c Config) (Config, error) {
	set := func(name string, dst *string, v string) {
		if fs.Changed(name) {
			*dst = v
		}
	}
	if fs.Changed("server") {
		c.Server = f.c.Server
	}
	set("ca", &c.CA, f.c.CA)
	if fs.Changed("sdkappid") {
		c.SDKAppID = f.c.SDKAppID
	}
	set("user", &c.User, f.c.User)
	if fs.Changed("usersig") {
		c.UserSig, c.Secret = f.c.UserSig, ""
	}
	if fs.Changed("secret") {
		c.Secret, c.UserSig = f.c.Secret, ""
	}
	set("audio-in", &c.AudioIn, f.c.AudioIn)
	set("audio-out", &c.AudioOut, f.c.AudioOut)
	set("video-in", &c.VideoIn, f.c.VideoIn)
	setBool := func(name string, dst **bool, v *bool) {
		if fs.Changed(name) {
			*dst = v
		}
	}
	setBool("aec", &c.AEC, f.c.AEC)
	setBool("ns", &c.NS, f.c.NS)
	setBool("agc", &c.AGC, f.c.AGC)
	if fs.Changed("ice-loopback") {
		c.ICELoopback = f.c.ICELoopback
	}
	set("ice-policy", &c.ICEPolicy, f.c.ICEPolicy)
	set("video-quality", &c.VideoQuality, f.c.VideoQuality)
	if fs.Changed("ice-server") || fs.Changed("ice-username") || fs.Changed("ice-credential") {
		servers, err := ICEServersFromFlags(f.iceURLs, f.iceUsername, f.iceSecret)
		if err != nil {
			return c, err
		}
		c.ICEServers = servers
	}
	set("nickname", &c.NickName, f.c.NickName)
	set("avatar", &c.Avatar, f.c.Avatar)
	set("renderer", &c.Renderer, f.c.Renderer)
	set("log", &c.LogFile, f.c.LogFile)
	return c, nil
}

// AddProcessingFlags registers --aec, --ns and --agc (true/false; alone
// they mean true). A flag not given leaves its pointer nil: the default,
// on with a real microphone and speaker.
func AddProcessingFlags(fs *pflag.FlagSet, aec, ns, agc **bool) {
	for _, f := range []struct {
		p          **bool
		name, what string
	}{{aec, "aec", "echo cancellation"}, {ns, "ns", "noise suppression"}, {agc, "agc", "automatic gain control"}} {
		fs.VarPF(optionalBool{f.p}, f.name, "", f.what+" of the microphone: true or false (default: on with a real microphone and speaker)").
			NoOptDefVal = "true"
	}
}

// optionalBool is a bool flag that stays nil until given.
type optionalBool struct{ p **bool }

func (o optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false: %w", err)
	}
	*o.p = &v
	return nil
}

func (o optionalBool) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return strconv.FormatBool(**o.p)
}

func (o optionalBool) Type() string { return "bool" }

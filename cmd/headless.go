package cmd

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/headless"
	"github.com/termcall/termcall/server/proto"
)

// headlessCommand returns the `termcall headless` command.
func headlessCommand() *cobra.Command {
	var (
		opts    headless.Options
		logFile string
		ice     iceFlags
	)
	opts.Media = headless.DefaultMediaOptions()
	cmd := &cobra.Command{
		Use:   "headless",
		Short: "Run the call engine from a script: commands on stdin, JSON events on stdout",
		Long: `headless logs in, then reads commands from stdin, one per line, and prints every
engine event to stdout as one JSON object per line:
  {"event":"INVITED","ts":<unix ms>, ...payload fields}
A failed command prints {"event":"ERROR","code":N,"msg":"...","cmd":"<line>"} and
the runner goes on. A successful call or groupCall prints CALL_STARTED with the
inviteID, roomID and invitees. Blank lines and lines starting with # are ignored;
EOF on stdin works like quit. A refused login at start exits with status 1, as
does a missing microphone or camera (ERROR 60003 / 60004). With media on, each
--ice-server that cannot be used is an ERROR 60102 line before SDK_READY, and
the others are used.

Commands:
` + headless.Usage() + `
wait blocks until EVENT has been printed (an event printed earlier that no other
wait used counts); TIMEOUT is a Go duration, default 10s. call's TIMEOUT_S is the
ringing timeout in seconds, default 30, 0 = ring until answered.`,
		Example: `  termcall headless --server ` + proto.DefaultServerURL + ` --sdkappid 1400000000 \
      --user alice --secret "$KEY" <<'EOF'
  call bob video 20
  wait USER_ENTER 30s
  sleep 5s
  hangup
  EOF`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			servers, err := config.ICEServersFromFlags(ice.urls, ice.username, ice.credential)
			if err != nil {
				return err
			}
			opts.Media.ICEServers = servers
			return runLogged(logFile, &opts, func() error {
				return headless.Run(cmd.Context(), opts, cmd.InOrStdin(), cmd.OutOrStdout())
			})
		},
	}
	addLoginFlags(cmd, &opts, &logFile, "")
	f := cmd.Flags()
	f.DurationVar(&opts.UserSigExpire, "usersig-expire", client.DefaultUserSigExpire, "validity of a userSig made from --secret")
	f.BoolVar(&opts.AutoAccept, "auto-accept", false, "accept every invitation")
	f.BoolVar(&opts.AutoReject, "auto-reject", false, "reject every invitation")
	f.IntVar(&opts.GroupTimeout, "group-timeout", 0, "ringing timeout of groupCall in seconds (default 30)")
	f.StringVar(&opts.Self.NickName, "nickname", "", "set this nickname after login (setSelfInfo; at most 64 bytes)")
	f.StringVar(&opts.Self.Avatar, "avatar", "", "set this avatar URL after login (setSelfInfo)")
	f.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a pprof CPU profile of the whole run to this file (go tool pprof)")
	addMediaFlags(cmd, &opts.Media)
	f.StringArrayVar(&ice.urls, "ice-server", nil, "STUN/TURN server URL, stun:HOST:PORT or turn:HOST:PORT?transport=udp (repeatable), besides those the signaling server hands out")
	f.StringVar(&ice.username, "ice-username", "", "username for the turn:/turns: URLs of --ice-server")
	f.StringVar(&ice.credential, "ice-credential", "", "credential (password) for the turn:/turns: URLs of --ice-server")
	cmd.MarkFlagsMutuallyExclusive("auto-accept", "auto-reject")
	for _, name := range []string{"sdkappid", "user"} {
		_ = cmd.MarkFlagRequired(name) // cannot fail: the flags exist
	}
	return cmd
}

// addMediaFlags registers the media flags shared by headless and echo.
func addMediaFlags(cmd *cobra.Command, m *headless.MediaOptions) {
	f := cmd.Flags()
	f.BoolVar(&m.Enabled, "media", m.Enabled, "carry audio/video (false: signaling only, USER_ENTER on join)")
	f.StringVar(&m.AudioIn, "audio-in", m.AudioIn, "audio source: tone:HZ | wav:FILE | mic[:DEVICE] | silence")
	f.StringVar(&m.AudioOut, "audio-out", m.AudioOut, "audio sink: wav:FILE | speaker[:DEVICE] | null")
	f.StringVar(&m.VideoIn, "video-in", m.VideoIn, "video source: pattern | y4m:FILE | camera[:DEVICE] | none")
	f.StringVar(&m.VideoOut, "video-out", m.VideoOut, "decoded video: dir:DIR (PNG per view in DIR/VIEW; each member's video is shown in a view named after them) | null")
	f.Float64Var(&m.VideoOutFPS, "video-out-fps", m.VideoOutFPS, "PNG frames per second and view at most")
	f.IntVar(&m.Width, "width", m.Width, "sent video width")
	f.IntVar(&m.Height, "height", m.Height, "sent video height")
	f.IntVar(&m.FPS, "fps", m.FPS, "sent video frame rate")
	f.DurationVar(&m.AudioFrame, "audio-frame", m.AudioFrame, "Opus frame duration: 20ms or 10ms")
	f.BoolVar(&m.LoopbackICE, "ice-loopback", m.LoopbackICE, "gather ICE candidates on 127.0.0.1 only (one-machine calls, tests)")
	f.Float64Var(&m.ImpairLoss, "impair-loss", m.ImpairLoss, "testing aid: drop this fraction (0..0.5) of inbound media datagrams")
	f.DurationVar(&m.ImpairJitter, "impair-jitter", m.ImpairJitter, "testing aid: delay each inbound media datagram by a random 0..DURATION (at most 500ms; reorders)")
	f.DurationVar(&m.StatsEvery, "stats", m.StatsEvery, "print a STATS event per remote user at this interval (0: only on the stats command)")
	f.StringVar(&m.ICEPolicy, "ice-policy", m.ICEPolicy, "all | relay (only TURN relay candidates: your address stays hidden; needs a TURN server)")
	f.StringVar(&m.VideoQuality, "video-quality", m.VideoQuality, "most video sent, as setVideoQuality: 120p | 180p | 240p | 360p | 480p | 720p (overrides --width/--height/--fps)")
	config.AddProcessingFlags(f, &m.AEC, &m.NS, &m.AGC)
	f.DurationVar(&m.EchoPath, "echo-path", m.EchoPath, "testing aid: feed what is played back into the microphone through a simulated room of this delay (reflections, -6 dB; at most 1s), added to --audio-in")
}

// iceFlags are --ice-server, --ice-username and --ice-credential, turned
// into MediaOptions.ICEServers once parsed.
type iceFlags struct {
	urls                 []string
	username, credential string
}

// addLoginFlags registers the flags headless and echo share: where to log
// in, as whom, and the log file.
func addLoginFlags(cmd *cobra.Command, o *headless.Options, logFile *string, defaultUser string) {
	f := cmd.Flags()
	o.ServerURLs = []string{proto.DefaultServerURL}
	f.Var(config.ServerFlag((*config.ServerList)(&o.ServerURLs)), "server", "signaling server URL, ws://HOST:PORT/ws or wss://HOST:PORT/ws; several, comma-separated, to fail over between")
	f.StringVar(&o.CAFile, "ca", "", "PEM file of CA certificates to trust for a wss:// server, besides the system roots")
	f.Uint32Var(&o.SDKAppID, "sdkappid", 0, "SDKAppID the server was started with")
	f.StringVar(&o.UserID, "user", defaultUser, "user ID to log in as")
	f.StringVar(&o.UserSig, "usersig", "", "userSig to log in with (or --secret to make one)")
	f.StringVar(&o.Secret, "secret", "", "secret key to make a userSig with (default $"+config.SecretEnv+")")
	f.StringVar(logFile, "log", "", "append logs (slog text) to this file; default: no logs")
	cmd.MarkFlagsMutuallyExclusive("usersig", "secret")
}

// runLogged points o.Logger at the log file, takes the secret from the
// environment when no flag gave one, and runs run.
func runLogged(logFile string, o *headless.Options, run func() error) error {
	log, f, err := client.OpenLog(logFile, slog.LevelDebug)
	if err != nil {
		return err
	}
	if f != nil {
		defer f.Close()
	}
	o.Logger = log
	if o.Secret == "" {
		o.Secret = os.Getenv(config.SecretEnv)
	}
	return run()
}

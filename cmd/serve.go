package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/relay"
	"github.com/termcall/termcall/server/store"
	"github.com/termcall/termcall/web"
)

// serveGCPercent is the server's GOGC unless the environment sets one:
// a heap twice the default's headroom halves the collections, and at 10k
// users and 4,000 invitations a second each collection's mark is what
// sets the invitation tail (docs/performance.md). It costs memory only
// under load: idle users stay at ~9 KiB each.
const serveGCPercent = 200

// serveCommand returns the `termcall serve` command, which runs the signaling
// server until its context is cancelled (SIGINT/SIGTERM in main).
func serveCommand() *cobra.Command {
	opts := server.DefaultOptions()
	var (
		groupsFile string
		logLevel   string
		iceURLs    []string
		turnAddr   string
		turnExtIP  string
		turnPorts  string
		turnSecret string
		turnTTL    time.Duration
		turnKbps   int
		turnTLS    int
		turnName   string
		turnAllocs int
		sc         store.Config
		natsURLs   string
		withWeb    bool
		pprofAddr  string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the signaling server",
		Long: "serve runs termcall's signaling server: userSig login, invitations, calls and\n" +
			"relay of WebRTC negotiation over websockets at ws://ADDR/ws, or wss://ADDR/ws\n" +
			"with --tls-cert and --tls-key. The same address serves the TRTCCalling web SDK\n" +
			"at /sdk/trtc-calling.js and a web softphone at / (--web=false turns both off).\n" +
			"The secret key comes from --secret or the TERMCALL_SECRET environment variable.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			root := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			opts.Logger = root.With("component", "server")
			// Caps sized by the limit follow the raised one unless set.
			limit, err := server.RaiseOpenFileLimit()
			if err != nil {
				opts.Logger.Warn("open files: cannot raise the limit", "err", err)
			}
			fl := cmd.Flags()
			if !fl.Changed("max-conns") {
				opts.MaxConns = server.DefaultMaxConns()
			}
			if !fl.Changed("max-pending") {
				opts.MaxPending = server.DefaultMaxPending()
			}
			gogc, ok := os.LookupEnv("GOGC") // the runtime has read it
			if !ok {
				debug.SetGCPercent(serveGCPercent)
				gogc = strconv.Itoa(serveGCPercent)
			}
			opts.Logger.Info("open files", "limit", limit, "max_conns", opts.MaxConns, "max_pending", opts.MaxPending, "gogc", gogc)
			if opts.Secret == "" {
				opts.Secret = os.Getenv(config.SecretEnv)
			}
			if groupsFile != "" {
				groups, err := server.LoadGroups(groupsFile)
				if err != nil {
					return err
				}
				opts.Groups = groups
			}
			for _, u := range iceURLs {
				u = strings.TrimSpace(u)
				if u == "" {
					continue
				}
				opts.ICEServers = append(opts.ICEServers, proto.ICEServer{URLs: []string{u}})
			}
			if turnAddr != "" {
				tc, err := turnConfig(turnAddr, turnExtIP, turnPorts, turnSecret, turnTTL)
				if err == nil {
					tc.UserBitrate, tc.MaxAllocsPerUser = turnKbps*1000, turnAllocs
					tc.WantTLS, tc.TLSPort, tc.TLSName = turnTLS > 0, turnTLS, turnName
					if turnKbps < 0 || turnAllocs < 0 {
						err = fmt.Errorf("--turn-user-kbps and --turn-user-allocs must not be negative (0: no bitrate cap)")
					} else if turnKbps == 0 {
						tc.UserBitrate = -1
					}
				}
				if err != nil {
					return err
				}
				opts.TURN = tc
			} else if turnExtIP != "" || turnPorts != "" || turnSecret != "" {
				return fmt.Errorf("--turn-external-ip, --turn-ports and --turn-secret need --turn")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			for _, u := range strings.Split(natsURLs, ",") {
				if u = strings.TrimSpace(u); u != "" {
					sc.URLs = append(sc.URLs, u)
				}
			}
			if sc.NodeName == "" {
				sc.NodeName = defaultNodeName()
			}
			sc.Logger = root.With("component", "state", "node", sc.NodeName)
			sc.Cluster = len(sc.URLs) > 0 // nodes on one NATS share its state
			st, err := store.Open(ctx, sc)
			if err != nil {
				return err
			}
			defer st.Close()
			opts.State = st
			if sc.Cluster {
				opts.Cluster = st
			}
			opts.Logger = opts.Logger.With("node", sc.NodeName)
			opts.Logger.Info("state", "mode", st.Mode())
			if pprofAddr != "" {
				pctx, stop := context.WithCancel(ctx)
				defer stop()
				if err := servePprof(pctx, pprofAddr, opts.Logger); err != nil {
					return err
				}
			}
			if withWeb {
				opts.Web = web.Handler()
			}
			srv, err := server.New(opts)
			if err != nil {
				return err
			}
			if err := srv.Start(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "listening %s\n", srv.URL())
			if withWeb {
				opts.Logger.Info("web softphone", "url", pageURL(srv.URL()), "sdk", pageURL(srv.URL())+"sdk/trtc-calling.js")
			}
			var lost error
			select {
			case <-ctx.Done():
			case <-srv.Lost():
				// Another node may serve the state now: this one must not.
				lost = errors.New("this node lost the state's lease to another node")
			}
			opts.Logger.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return errors.Join(lost, fmt.Errorf("shutdown: %w", err))
			}
			return lost
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", proto.DefaultAddr, "listen address (host:port; port 0 picks a free one)")
	fl.Uint32Var(&opts.SDKAppID, "sdkappid", 0, "SDKAppID that userSigs must name (required)")
	fl.StringVar(&opts.Secret, "secret", "", "userSig secret key (default $TERMCALL_SECRET)")
	fl.StringVar(&groupsFile, "groups", "", "TOML file of IM groups ([groups] team = [\"alice\", \"bob\"])")
	fl.DurationVar(&opts.Grace, "grace", server.DefaultGrace, "how long a dropped session may resume")
	fl.DurationVar(&opts.LoginTimeout, "login-timeout", server.DefaultLoginTimeout, "close connections that have not logged in by then")
	fl.IntVar(&opts.MaxPending, "max-pending", opts.MaxPending, "connections not logged in yet, in total (a quarter of the open-file limit unless set)")
	fl.IntVar(&opts.MaxPendingPerIP, "max-pending-per-ip", server.DefaultMaxPendingPerIP, "connections not logged in yet, per IP address (IPv6: per /64)")
	fl.IntVar(&opts.ReserveConns, "reserve-conns", server.DefaultReserveConns, "reconnects of logged-in sessions admitted beyond those caps")
	fl.IntVar(&opts.MaxConns, "max-conns", opts.MaxConns, "open client sockets, logged in or not (the open-file limit less max(64, limit/16) unless set)")
	fl.StringArrayVar(&iceURLs, "ice-server", nil, "STUN/TURN URL handed to clients (repeatable)")
	fl.StringVar(&turnAddr, "turn", "", "run a TURN server on this UDP and TCP HOST:PORT, relaying on HOST")
	fl.StringVar(&turnExtIP, "turn-external-ip", "", "IP address relays are announced on, if not --turn's HOST (1:1 NAT)")
	fl.StringVar(&turnPorts, "turn-ports", "", "relay port range MIN-MAX (default: any free port)")
	fl.StringVar(&turnSecret, "turn-secret", "", "key of the TURN credentials (default: random at each start)")
	fl.DurationVar(&turnTTL, "turn-ttl", relay.DefaultTTL, "how long a TURN credential handed out at login is valid")
	fl.IntVar(&turnKbps, "turn-user-kbps", relay.DefaultUserBitrate/1000, "relayed kbit/s per user, both ways, over all their allocations (0: no cap)")
	fl.IntVar(&turnTLS, "turn-tls-port", 0, "also serve TURN over TLS (turns:) on --turn's HOST at this TCP port, with --tls-cert")
	fl.StringVar(&turnName, "turn-tls-name", "", "host name in the turns: URL (default: the certificate's first DNS name)")
	fl.IntVar(&turnAllocs, "turn-user-allocs", relay.DefaultMaxAllocsPerUser, "concurrent TURN allocations per user")
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&opts.TLSCertFile, "tls-cert", "", "serve wss:// with this PEM certificate (chain); needs --tls-key")
	fl.StringVar(&opts.TLSKeyFile, "tls-key", "", "PEM private key of --tls-cert")
	cmd.MarkFlagsRequiredTogether("tls-cert", "tls-key")
	fl.StringVar(&sc.DataDir, "data", "", "keep sessions, calls and invitations in this directory (the embedded NATS JetStream store), so a restart keeps calls; default: memory only")
	fl.StringVar(&natsURLs, "nats", "", "share the state on this NATS cluster with JetStream (nats://HOST:PORT[,...]) with every serve node on it, instead of the embedded server")
	fl.IntVar(&sc.Replicas, "nats-replicas", 1, "with --nats: replicas of the state buckets (3 on a 3-node cluster)")
	fl.StringVar(&sc.NodeName, "node-name", "", "this node's name, in logs and the state lease (default: the host name)")
	cmd.MarkFlagsMutuallyExclusive("data", "nats")
	fl.BoolVar(&withWeb, "web", true, "serve the web SDK (/sdk/) and the web softphone (/)")
	fl.StringVar(&pprofAddr, "pprof", "", "serve Go's profiles (net/http/pprof) on this loopback HOST:PORT")
	return cmd
}

// pageURL is the http(s) URL of the page beside the websocket URL ws.
func pageURL(ws string) string {
	u := strings.TrimSuffix(ws, "ws")
	if rest, ok := strings.CutPrefix(u, "wss://"); ok {
		return "https://" + rest
	}
	return "http://" + strings.TrimPrefix(u, "ws://")
}

// defaultNodeName is the host name: a restarted node of the same name takes
// its state lease over at once.
func defaultNodeName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "termcall"
}

// turnConfig builds the embedded TURN server's configuration from the
// --turn flags.
func turnConfig(addr, extIP, ports, secret string, ttl time.Duration) (*relay.Config, error) {
	tc := &relay.Config{Addr: addr, TTL: ttl}
	if secret != "" {
		tc.Key = []byte(secret)
	}
	if extIP != "" {
		if tc.ExternalIP = net.ParseIP(extIP); tc.ExternalIP == nil {
			return nil, fmt.Errorf("--turn-external-ip %q: not an IP address", extIP)
		}
	}
	if ports != "" {
		lo, hi, ok := strings.Cut(ports, "-")
		minP, err1 := strconv.ParseUint(lo, 10, 16)
		maxP, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || minP == 0 || minP > maxP {
			return nil, fmt.Errorf("--turn-ports %q: want MIN-MAX, 1 <= MIN <= MAX <= 65535", ports)
		}
		tc.MinPort, tc.MaxPort = uint16(minP), uint16(maxP)
	}
	return tc, nil
}

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/termcall/termcall/server/proto"
)

// The example's placeholders, also in init's hint on starting a server.
const (
	ExampleSDKAppID = "1400000000"
	ExampleSecret   = "change-me"
)

// Example returns a commented example configuration. It parses and
// validates as it is; the values are placeholders to edit.
func Example() string {
	return `# termcall client configuration.
# Flags given on the command line override these values
# (--server, --ca, --sdkappid, --user, --usersig, --secret, --nickname, --avatar,
# --audio-in, --audio-out, --video-in, --aec, --ns, --agc, --ice-server,
# --renderer, --log).

# Signaling server started with "termcall serve" (it listens on
# ` + proto.DefaultAddr + ` unless given --addr). This is the default.
server = "` + proto.DefaultServerURL + `"
# Several nodes of one service: an array (on the command line,
# --server URL1,URL2). termcall logs in to the first that answers and, when
# its node goes away, reconnects to another.
# server = ["wss://a.example.com/ws", "wss://b.example.com/ws"]
# For a wss:// server whose certificate is self-signed (or from your own
# CA): a PEM file of the CA certificates to trust besides the system roots.
# ca = "/path/to/ca.pem"
# The SDKAppID the server was started with.
sdkappid = ` + ExampleSDKAppID + `
# Your userID: 1-32 characters of A-Z a-z 0-9 _ -.
user = "alice"
# Log in with a ready-made userSig ("termcall usersig ...") ...
# usersig = ""
# ... or with the application's secret key, from which a userSig is made at
# start (fine for your own server; keep this file private).
secret = "` + ExampleSecret + `"

# How others see you: your nickname shows in their contacts and when you
# call them (at most 64 bytes); the avatar is a URL sent along with it.
nickname = ""
avatar = ""

# Media. Microphone: "mic" (default device), "mic:NAME", "tone:440",
# "wav:FILE" or "silence". Speaker: "speaker", "speaker:NAME", "wav:FILE" or
# "null". Camera: "camera" (/dev/video0), "camera:/dev/videoN", "pattern",
# "y4m:FILE" or "none". Empty means the default device; where there is none,
# termcall sends a test tone or the test pattern and says so on screen.
audio_in = ""
audio_out = ""
video_in = ""
# Sound processing of your microphone (WebRTC's, as in browsers): echo
# cancellation (the other side does not hear itself from your speaker),
# noise suppression and automatic gain. Unset, each is on with a real
# microphone and speaker and off for tones and files; true or false
# forces it. See docs/sound.md and "termcall dsp" to try settings offline.
# aec = true
# ns = true
# agc = true
# Keep media on 127.0.0.1 (only for calls between programs on this machine).
ice_loopback = false
# STUN/TURN servers, besides those the signaling server hands out at login.
# A STUN server is its URL; a TURN server is a table with its URLs and the
# username and credential it expects. A server that cannot be used is
# reported (error 60102) when you log in, and the others are used.
# ice_servers = [
#   "stun:stun.example.com:3478",
#   { urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"], username = "alice", credential = "s3cret" },
# ]
ice_servers = []
# ICE policy: "all" (default) connects directly where it can; "relay" sends
# media only through a TURN server, so that the people you call never see
# your address (it needs a TURN server above or from the signaling server).
ice_policy = "all"

# The most video you send: 120p, 180p, 240p (default, 320x240), 360p, 480p
# or 720p. Less goes out when the link is slow or the other side shows you
# in a small view.
video_quality = "240p"

# People shown on the contacts screen, with their presence.
contacts = ["bob", "carol"]
# IM groups you can call as a whole.
groups = []

# Where logs go (never the screen). Default:
# $XDG_STATE_HOME/termcall/termcall.log or ~/.local/state/termcall/termcall.log
# log_file = ""
# Video renderer: auto, truecolor, 256, ascii or sixel (cycle with "v").
renderer = "auto"
`
}

// WriteExample writes Example() to path, creating its directory. It
// refuses to replace an existing file unless force is set.
func WriteExample(path string, force bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write example: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	// 0600: the file may hold a secret key.
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s (use --force to overwrite)", ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("write example: %w", err)
	}
	_, err = f.WriteString(Example())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write example: %w", err)
	}
	return nil
}

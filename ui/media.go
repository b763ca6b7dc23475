package ui

import (
	"time"

	"github.com/termcall/termcall/callcore/media"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/video"
)

// mediaSpec is the TUI's media: the configured devices, with a test tone,
// silence and the test pattern standing in for a missing microphone,
// speaker and camera, so that a machine without them can still make a real
// call (client.Notes says so on screen). Decoded video goes to the panes'
// sinks. No periodic stats: the quality indicator reads snapshots, and
// USER_VOICE_VOLUME comes every second regardless.
func mediaSpec(cfg config.Config, sinks func(viewID string) video.Sink) *client.MediaSpec {
	vcfg := video.DefaultConfig()
	return &client.MediaSpec{
		AudioIn: cfg.AudioIn, AudioOut: cfg.AudioOut, VideoIn: cfg.VideoIn, StandIns: true,
		Width: vcfg.Width, Height: vcfg.Height, FPS: vcfg.FPS,
		ICEServers: cfg.ICEServers, LoopbackICE: cfg.ICELoopback, RelayOnly: cfg.RelayOnly(), ViewSink: sinks,
		AEC: cfg.AEC, NS: cfg.NS, AGC: cfg.AGC,
	}
}

// factoryStats turns the media layer's stats into the quality indicator's.
type factoryStats struct{ f *media.Factory }

func (s factoryStats) CallStats() map[string]PeerStats {
	out := map[string]PeerStats{}
	for _, st := range s.f.Snapshot() {
		out[st.UserID] = peerStatsOf(st)
	}
	return out
}

// peerStatsOf is the quality indicator's view of one peer's media stats.
func peerStatsOf(st media.Stats) PeerStats {
	var loss float64
	if n := st.Audio.PacketsReceived + st.Audio.PacketsLost; n > 0 {
		loss = float64(st.Audio.PacketsLost) / float64(n)
	}
	ps := PeerStats{RTT: time.Duration(st.RTTMs * float64(time.Millisecond)), Loss: loss}
	switch {
	case st.Path == nil:
	case st.Path.Relayed():
		ps.Path = PathRelayed
	default:
		ps.Path = PathDirect
	}
	return ps
}

package media

import (
	"time"
)

// Stats describes the media with one peer over the last interval.
type Stats struct {
	UserID   string     `json:"userID"`
	Audio    AudioStats `json:"audio"`
	Video    VideoStats `json:"video"`
	RTTMs    float64    `json:"rttMs"`
	SendKbps float64    `json:"sendKbps"` // everything this client sends (the same stream goes to every peer)
	RecvKbps float64    `json:"recvKbps"` // what arrived from this peer
	// LocalVolume is the local microphone's level, 0-100 (0 when muted).
	LocalVolume int `json:"localVolume"`
}

// AudioStats is the received audio of one peer.
type AudioStats struct {
	PacketsReceived uint64  `json:"packetsReceived"`
	PacketsLost     uint64  `json:"packetsLost"`
	JitterMs        float64 `json:"jitterMs"`
	BufferDelayMs   float64 `json:"bufferDelayMs"`
	BufferTargetMs  float64 `json:"bufferTargetMs"`
	LevelDBFS       float64 `json:"levelDBFS"`
	FrequencyHz     float64 `json:"frequencyHz"`
	Volume          int     `json:"volume"`
	Concealed       uint64  `json:"concealed"`
	FECRecovered    uint64  `json:"fecRecovered"`
}

// VideoStats is the received video of one peer.
type VideoStats struct {
	FramesDecoded uint64  `json:"framesDecoded"`
	FramesDropped uint64  `json:"framesDropped"`
	DecodeErrors  uint64  `json:"decodeErrors"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	FPS           float64 `json:"fps"`
	Keyframes     uint64  `json:"keyframes"`
	NACKsSent     uint64  `json:"nacksSent"`
	PLIsSent      uint64  `json:"plisSent"`
	// FreezeMs is the longest time without a decoded frame in the
	// interval, a gap still open at the time of the report included (0
	// before the first frame).
	FreezeMs float64 `json:"freezeMs"`
}

// statsLoop reports every peer's stats each interval.
func (s *Session) statsLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.opts.StatsEvery)
	defer tick.Stop()
	last := time.Now()
	lastSent := s.send.audioBytes.Load() + s.send.videoBytes.Load()
	lastRecv := map[string]uint64{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			secs := now.Sub(last).Seconds()
			last = now
			sent := s.send.audioBytes.Load() + s.send.videoBytes.Load()
			sendKbps := float64(sent-lastSent) * 8 / 1000 / secs
			lastSent = sent
			remotes := s.remoteList()
			volume := map[string]int{s.call.SelfID: int(s.send.localVolume.Load())}
			for _, r := range remotes {
				st := s.peerStats(r, now, true)
				recv := r.audioBytes.Load() + r.videoBytes.Load()
				st.RecvKbps = float64(recv-lastRecv[r.id]) * 8 / 1000 / secs
				lastRecv[r.id] = recv
				st.SendKbps = sendKbps
				volume[r.id] = st.Audio.Volume
				if s.opts.OnStats != nil {
					s.opts.OnStats(st)
				}
			}
			if s.call.Volume != nil && len(remotes) > 0 {
				s.call.Volume(volume)
			}
		}
	}
}

// Snapshot returns the current stats of every peer (for a `stats` command).
func (s *Session) Snapshot() []Stats {
	now := time.Now()
	var out []Stats
	for _, r := range s.remoteList() {
		out = append(out, s.peerStats(r, now, false))
	}
	return out
}

// peerStats reads one peer's stats. Only the periodic stats loop rolls the
// fps and freeze window (roll); snapshots (the stats command, the TUI's
// quality poll) read it without cutting the loop's window short.
func (s *Session) peerStats(r *remote, now time.Time, roll bool) Stats {
	st := Stats{UserID: r.id, LocalVolume: int(s.send.localVolume.Load())}
	r.mu.Lock()
	if r.dec != nil {
		ds := r.dec.Stats()
		st.Audio.PacketsReceived = ds.Received
		st.Audio.PacketsLost = ds.Lost
		st.Audio.JitterMs = ds.JitterMs
		st.Audio.BufferDelayMs = ds.DelayMs
		st.Audio.BufferTargetMs = ds.TargetMs
		st.Audio.Concealed = ds.Concealed
		st.Audio.FECRecovered = ds.FECRecovered
	}
	if r.haveReading {
		st.Audio.LevelDBFS = r.reading.LevelDBFS
		st.Audio.FrequencyHz = r.reading.FrequencyHz
		st.Audio.Volume = r.reading.Volume
	} else {
		st.Audio.LevelDBFS = -120
	}
	st.Video = r.video
	ssrc := r.videoSSRC
	gap := r.longestGap
	if !r.lastFrame.IsZero() {
		gap = max(gap, now.Sub(r.lastFrame))
	}
	st.Video.FreezeMs = float64(gap.Microseconds()) / 1000
	if secs := now.Sub(r.windowStart).Seconds(); secs >= 0.5 {
		st.Video.FPS = float64(r.windowCount) / secs
		if roll {
			r.video.FPS = st.Video.FPS
			r.windowCount = 0
			r.windowStart = now
			r.longestGap = 0
		}
	}
	r.mu.Unlock()

	if rtt, ok := s.mesh.RTT(r.id); ok {
		st.RTTMs = float64(rtt.Microseconds()) / 1000
	}
	if ssrc != 0 {
		st.Video.NACKsSent = s.mesh.NACKsSent(ssrc)
	}
	return st
}

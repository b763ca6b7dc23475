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
	// Path is the selected ICE candidate pair; nil (left out of JSON)
	// before ICE has selected one.
	Path *Path `json:"path,omitempty"`
	// Send is what this client sends now and why (the same for every
	// peer: one encode serves all).
	Send SendInfo `json:"send"`
}

// SendInfo is the sender's adaptation: the bandwidth estimate (the
// weakest peer's) and the targets it led to.
type SendInfo struct {
	EstimateKbps float64 `json:"estimateKbps"` // 0 before any peer
	Width        int     `json:"width"`
	Height       int     `json:"height"`
	FPS          int     `json:"fps"`
	VideoKbps    int     `json:"videoKbps"` // the VP8 encoder's target
	AudioKbps    float64 `json:"audioKbps"` // the Opus encoder's target
	LossPerc     int     `json:"lossPerc"`  // Opus's expected loss (in-band FEC)
	// LinkLoss and FeedbackLoss (0-1) are the loss the peers report in
	// RTCP (what the link drops) and what the estimator reads from
	// transport-wide feedback (late packets count there too).
	LinkLoss     float64 `json:"linkLoss"`
	FeedbackLoss float64 `json:"feedbackLoss"`
	// Queuing: the delay grew lately, so loss is congestion.
	Queuing bool   `json:"queuing"`
	Quality string `json:"quality,omitempty"`
}

// sendInfo snapshots the adapter.
func (s *Session) sendInfo() SendInfo {
	t, est, q := s.adapt.snapshot()
	return SendInfo{
		EstimateKbps: float64(est.Bitrate) / 1000, Width: t.Width, Height: t.Height, FPS: t.FPS, VideoKbps: t.Kbps,
		AudioKbps: float64(s.adapt.audioBps.Load()) / 1000, LossPerc: int(s.adapt.lossPerc.Load()),
		LinkLoss: est.Loss, FeedbackLoss: est.FeedbackLoss, Queuing: est.Queuing, Quality: string(q),
	}
}

// Path is how media with a peer travels: the candidate types of the
// selected ICE pair ("host", "srflx", "prflx", "relay" - relay is a TURN
// server) and its transport ("udp", "tcp").
type Path struct {
	Local    string `json:"local"`
	Remote   string `json:"remote"`
	Protocol string `json:"protocol"`
}

// Relayed reports whether media goes through a TURN relay on either side.
func (p Path) Relayed() bool { return p.Local == "relay" || p.Remote == "relay" }

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

// volumeEvery is the USER_VOICE_VOLUME interval, whatever StatsEvery is.
const volumeEvery = time.Second

// meterLoop reports every speaker's volume once a second, and samples the
// byte counters for the bitrates of snapshots. It runs whether or not
// periodic stats do.
func (s *Session) meterLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(volumeEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			s.mu.Lock()
			s.sendRate.add(now, s.sentBytes())
			s.mu.Unlock()
			remotes := s.remoteList()
			volume := map[string]int{s.call.SelfID: int(s.send.localVolume.Load())}
			for _, r := range remotes {
				r.mu.Lock()
				r.recvRate.add(now, r.recvBytes())
				if r.haveReading {
					volume[r.id] = r.reading.Volume
				} else {
					volume[r.id] = 0
				}
				r.mu.Unlock()
			}
			if s.call.Volume != nil && len(remotes) > 0 {
				s.call.Volume(volume)
			}
		}
	}
}

func (s *Session) sentBytes() uint64 { return s.send.audioBytes.Load() + s.send.videoBytes.Load() }
func (r *remote) recvBytes() uint64  { return r.audioBytes.Load() + r.videoBytes.Load() }

// statsLoop reports every peer's stats each StatsEvery (it runs only when
// StatsEvery > 0). Its windows (bitrates, fps, freezes) are its own.
func (s *Session) statsLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.opts.StatsEvery)
	defer tick.Stop()
	last := time.Now()
	lastSent := s.sentBytes()
	lastRecv := map[string]uint64{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			secs := now.Sub(last).Seconds()
			last = now
			sent := s.sentBytes()
			sendKbps := float64(sent-lastSent) * 8 / 1000 / secs
			lastSent = sent
			for _, r := range s.remoteList() {
				st := s.peerStats(r, now, true)
				recv := r.recvBytes()
				st.RecvKbps = float64(recv-lastRecv[r.id]) * 8 / 1000 / secs
				lastRecv[r.id] = recv
				st.SendKbps = sendKbps
				st.Send = s.sendInfo()
				if s.opts.OnStats != nil {
					s.opts.OnStats(st)
				}
			}
		}
	}
}

// Snapshot returns the current stats of every peer (for a `stats` command
// or a quality indicator). Bitrates cover the last one to two seconds, from
// the samples meterLoop takes; nothing of the periodic stats' windows is
// touched.
func (s *Session) Snapshot() []Stats {
	now := time.Now()
	s.mu.Lock()
	sendKbps := s.sendRate.kbps(now, s.sentBytes())
	s.mu.Unlock()
	var out []Stats
	for _, r := range s.remoteList() {
		st := s.peerStats(r, now, false)
		st.SendKbps = sendKbps
		st.Send = s.sendInfo()
		r.mu.Lock()
		st.RecvKbps = r.recvRate.kbps(now, r.recvBytes())
		r.mu.Unlock()
		out = append(out, st)
	}
	return out
}

// rateWindow keeps a byte counter's last few samples, taken about once a
// second, so that a bitrate can be read at any moment over a recent
// window without rolling one.
type rateWindow struct {
	samples [3]rateSample
	n       int // samples held
	next    int // where the next one goes
}

type rateSample struct {
	t     time.Time
	bytes uint64
}

// minRateWindow is the shortest window a bitrate is computed over once
// the samples allow it; shorter ones (the first second) are noisy.
const minRateWindow = time.Second

func (w *rateWindow) add(t time.Time, bytes uint64) {
	w.samples[w.next] = rateSample{t, bytes}
	w.next = (w.next + 1) % len(w.samples)
	w.n = min(w.n+1, len(w.samples))
}

// kbps is the rate from the youngest sample at least minRateWindow old
// (the oldest one early in a call) to now, when the counter reads cur.
func (w *rateWindow) kbps(now time.Time, cur uint64) float64 {
	var from, oldest *rateSample
	for i := range w.n {
		c := &w.samples[i]
		if oldest == nil || c.t.Before(oldest.t) {
			oldest = c
		}
		if now.Sub(c.t) >= minRateWindow && (from == nil || c.t.After(from.t)) {
			from = c
		}
	}
	if from == nil {
		from = oldest
	}
	if from == nil || cur < from.bytes {
		return 0
	}
	secs := now.Sub(from.t).Seconds()
	if secs < 0.1 {
		return 0
	}
	return float64(cur-from.bytes) * 8 / 1000 / secs
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

	if p, ok := s.mesh.Path(r.id); ok {
		st.Path = &Path{Local: p.Local, Remote: p.Remote, Protocol: p.Protocol}
	}
	if rtt, ok := s.mesh.RTT(r.id); ok {
		st.RTTMs = float64(rtt.Microseconds()) / 1000
	}
	if ssrc != 0 {
		st.Video.NACKsSent = s.mesh.NACKsSent(ssrc)
	}
	return st
}

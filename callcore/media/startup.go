package media

import (
	"sync/atomic"
	"time"
)

// Startup is when each step of the start of media with one peer happened,
// so that the time from accept to the first frame can be taken apart
// (termcall bench prints it). A zero time is a step not reached yet.
type Startup struct {
	UserID string
	// PeerUp: media with the peer connected (ICE and DTLS done).
	PeerUp time.Time
	// AudioSent and KeyframeSent: our first audio packet and first video
	// frame written after PeerUp (both go out at once on PeerUp).
	AudioSent    time.Time
	KeyframeSent time.Time
	// AudioReceived and VideoReceived: the peer's first packets arrived.
	AudioReceived time.Time
	VideoReceived time.Time
	// AudioPlayed: the peer's first audio packet left the jitter buffer
	// decoded. VideoDecoded: its first video frame was decoded.
	AudioPlayed  time.Time
	VideoDecoded time.Time
}

// startups tracks the Startup of every peer of a session. The send loops
// check one atomic per frame; everything else happens once per peer.
type startups struct {
	// pendingAudio and pendingVideo are set while some peer that is up
	// still waits for our first packet of that kind.
	pendingAudio atomic.Bool
	pendingVideo atomic.Bool
}

// startupLocked returns the record of userID, made on first use. s.mu
// must be held.
func (s *Session) startupLocked(userID string) *Startup {
	st := s.starts[userID]
	if st == nil {
		st = &Startup{UserID: userID}
		s.starts[userID] = st
	}
	return st
}

// notePeerUp starts a peer's record over: a peer that reconnects starts
// again.
func (s *Session) notePeerUp(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts[userID] = &Startup{UserID: userID, PeerUp: time.Now()}
	s.startup.pendingAudio.Store(true)
	s.startup.pendingVideo.Store(true)
}

// noteSent records, for every peer that is up and waits for it, that our
// first packet of one kind went out.
func (s *Session) noteSent(video bool) {
	pending := &s.startup.pendingAudio
	if video {
		pending = &s.startup.pendingVideo
	}
	if !pending.Swap(false) {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.starts {
		at := &st.AudioSent
		if video {
			at = &st.KeyframeSent
		}
		if !st.PeerUp.IsZero() && at.IsZero() {
			*at = now
		}
	}
}

// noteStep records the first time of one receive step of a peer; step
// picks the field.
func (s *Session) noteStep(userID string, at time.Time, step func(*Startup) *time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := step(s.startupLocked(userID)); t.IsZero() {
		*t = at
	}
}

// Startups returns the start of media with every peer of the call.
func (s *Session) Startups() []Startup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Startup, 0, len(s.starts))
	for _, st := range s.starts {
		out = append(out, *st)
	}
	return out
}

func stepAudioReceived(st *Startup) *time.Time { return &st.AudioReceived }
func stepVideoReceived(st *Startup) *time.Time { return &st.VideoReceived }
func stepAudioPlayed(st *Startup) *time.Time   { return &st.AudioPlayed }
func stepVideoDecoded(st *Startup) *time.Time  { return &st.VideoDecoded }

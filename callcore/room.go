package callcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// member is another member of the call, as the engine knows them.
type member struct {
	audio, video bool
	entered      bool // USER_ENTER emitted
	leaveSent    bool // USER_LEAVE emitted for lost media: the server's leave is not reported again
	failed       bool // media never connected (PeerFailed)
}

// room mirrors a call we are in (or, as Engine.left, one we just left).
type room struct {
	id          uint32
	callType    CallType
	inviter     string
	isGroup     bool
	members     map[string]*member // other members
	pending     []string
	startedAt   time.Time // when a second member joined
	media       *mediaHandle
	mediaFailed bool      // ERROR CodeMediaFailed emitted for this call
	leftReason  EndReason // why we hung up ("" = the user did)
}

// duration is how long the call has lasted, in seconds: 0 until a second
// member joined.
func (r *room) duration(now time.Time) int {
	if r.startedAt.IsZero() {
		return 0
	}
	return int(now.Sub(r.startedAt) / time.Second)
}

// roomFromStateLocked builds the mirror of a call the server put us in;
// members are added by the caller through memberArrivedLocked.
func (e *Engine) roomFromStateLocked(st proto.RoomState) *room {
	r := &room{
		id:       st.RoomID,
		callType: CallType(st.CallType),
		inviter:  st.Inviter,
		isGroup:  st.IsGroup,
		members:  make(map[string]*member),
		pending:  slices.Clone(st.Pending),
	}
	if st.StartedAt > 0 {
		r.startedAt = time.UnixMilli(st.StartedAt)
	}
	return r
}

// openRoomLocked starts the local side of a call we just joined.
func (e *Engine) openRoomLocked(r *room) {
	e.camOn = r.callType == CallTypeVideo && !e.camClosed
	if e.factory == nil {
		return
	}
	r.media = &mediaHandle{}
	mc := MediaCall{
		RoomID:           r.id,
		SelfID:           e.userID,
		CallType:         r.callType,
		ICEServers:       slices.Clone(e.ice),
		Send:             func(to string, payload json.RawMessage) error { return e.relay(to, payload) },
		PeerUp:           func(userID string) { e.peerUp(r, userID) },
		PeerDown:         func(userID string) { e.peerDown(r, userID) },
		PeerFailed:       func(userID string, err error) { e.peerFailed(r, userID, err) },
		PeerReconnecting: func(string) { e.checkLink() },
		Error:            func(code int, msg string) { e.mediaError(r, code, msg) },
		Volume:           func(m map[string]int) { e.voiceVolume(r, m) },
		Logger:           e.log,
	}
	mute, cam := e.micMuted, e.camOn
	views := e.views.table(r)
	h := r.media
	e.mediaQ.push(func() {
		if h.closed {
			return
		}
		sess, err := e.factory.NewSession(mc)
		if err != nil {
			e.log.Error("media session failed", "err", err)
			e.mu.Lock()
			e.emit(EventError, Error{Code: codeInternal, Msg: "media: " + err.Error()})
			e.mu.Unlock()
			return
		}
		h.sess = sess
		sess.SetMicMute(mute)
		sess.SetCamera(cam)
		if vb, ok := sess.(ViewBinder); ok {
			vb.SetViews(views)
		}
	})
}

// closeRoomLocked stops the local side of a call we are no longer in.
func (e *Engine) closeRoomLocked(r *room) {
	e.camClosed = false
	e.views.dropRemote()
	if r.media == nil {
		return
	}
	h := r.media
	e.mediaQ.push(func() {
		h.closed = true
		if h.sess != nil {
			if err := h.sess.Close(); err != nil {
				e.log.Warn("media session close", "err", err)
			}
			h.sess = nil
		}
	})
}

// mediaOpLocked queues f for r's media session, if it has one.
func (e *Engine) mediaOpLocked(r *room, f func(MediaSession)) {
	if r.media == nil {
		return
	}
	h := r.media
	e.mediaQ.push(func() {
		if h.sess != nil && !h.closed {
			f(h.sess)
		}
	})
}

// memberArrivedLocked adds another member to r. Without media USER_ENTER
// fires now; with media it fires on PeerUp.
func (e *Engine) memberArrivedLocked(r *room, m proto.Member, offerer bool) {
	if _, ok := r.members[m.UserID]; ok || m.UserID == e.userID {
		return
	}
	mem := &member{audio: m.Audio, video: m.Video}
	r.members[m.UserID] = mem
	if r.startedAt.IsZero() {
		r.startedAt = time.Now()
	}
	r.pending = slices.DeleteFunc(r.pending, func(u string) bool { return u == m.UserID })
	if r.media == nil {
		mem.entered = true
		e.emit(EventUserEnter, UserRef{UserID: m.UserID})
		return
	}
	uid := m.UserID
	e.mediaOpLocked(r, func(s MediaSession) { s.AddPeer(uid, offerer) })
}

// memberGoneLocked removes a member and emits USER_LEAVE.
func (e *Engine) memberGoneLocked(r *room, userID string, reason EndReason) {
	m, ok := r.members[userID]
	if !ok {
		return
	}
	delete(r.members, userID)
	if e.views.dropUser(userID) {
		e.pushViewsLocked()
	}
	e.mediaOpLocked(r, func(s MediaSession) { s.RemovePeer(userID) })
	if m.leaveSent {
		return // USER_LEAVE media_lost already told the user
	}
	e.emit(EventUserLeave, UserLeave{UserID: userID, Reason: reason})
}

// endRoomLocked ends the current call locally, after the server said so
// (callEnded) or after we learned we are no longer in it.
func (e *Engine) endRoomLocked(r *room, data CallEnd) {
	if e.room != r {
		return
	}
	e.closeRoomLocked(r)
	e.room = nil
	e.emit(EventCallEnd, data)
}

// relay sends a media payload to another member without waiting.
func (e *Engine) relay(to string, payload json.RawMessage) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	return c.Notify(proto.TypeRelay, proto.Relay{To: to, Payload: payload})
}

func (e *Engine) peerUp(r *room, userID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room != r {
		return
	}
	m := r.members[userID]
	if m == nil || m.entered {
		return
	}
	m.entered = true
	m.leaveSent = false
	e.emit(EventUserEnter, UserRef{UserID: userID})
}

// voiceVolume emits USER_VOICE_VOLUME for the current call only.
func (e *Engine) voiceVolume(r *room, m map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room != r || e.closed {
		return
	}
	e.emit(EventUserVoiceVolume, VoiceVolume{VolumeMap: m})
}

func (e *Engine) peerDown(r *room, userID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room != r || e.closed {
		return
	}
	m := r.members[userID]
	if m == nil || !m.entered {
		return
	}
	m.entered = false
	m.leaveSent = true
	e.emit(EventUserLeave, UserLeave{UserID: userID, Reason: ReasonMediaLost})
	if r.isGroup {
		return
	}
	for _, o := range r.members {
		if o.entered {
			return
		}
	}
	// A 1:1 call without media is over for the user: hang up.
	e.hangupLaterLocked("")
}

// peerFailed handles media with a member that never connected: the user
// gets ERROR, and a call left with nobody to talk to ends with reason
// media_failed on both sides (the server tells the others).
func (e *Engine) peerFailed(r *room, userID string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room != r || e.closed {
		return
	}
	m := r.members[userID]
	if m == nil || m.entered || m.failed {
		return
	}
	m.failed = true
	e.log.Warn("media never connected", "peer", userID, "err", err)
	e.emit(EventError, Error{Code: CodeMediaFailed, Msg: fmt.Sprintf("media with %s never connected: %v", userID, err)})
	r.mediaFailed = true
	for _, o := range r.members {
		if !o.failed {
			return // someone else is, or may yet be, reachable
		}
	}
	e.hangupLaterLocked(ReasonMediaFailed)
}

// mediaError reports a media problem of the current call as ERROR.
func (e *Engine) mediaError(r *room, code int, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room != r || e.closed {
		return
	}
	e.emit(EventError, Error{Code: code, Msg: msg})
}

// hangupLaterLocked leaves the current call from a goroutine of its own:
// media callbacks must not wait for the server.
func (e *Engine) hangupLaterLocked(reason EndReason) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.hangup(ctx, reason); err != nil && !errors.Is(err, ErrWrongState) {
			e.log.Warn("automatic hangup", "reason", reason, "err", err)
		}
	}()
}

// sortedMembers lists r's other members in a stable order, for events
// that must not depend on map order.
func sortedMembers(r *room) []string {
	us := make([]string, 0, len(r.members))
	for u := range r.members {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

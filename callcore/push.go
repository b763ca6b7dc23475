package callcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/server/proto"
)

// handlePush turns one server push into state changes and events. It runs
// on the signaling reader goroutine and never blocks.
func (e *Engine) handlePush(l *link, f proto.Frame) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.link != l {
		return // a push for a login we already dropped
	}
	var err error
	switch f.Type {
	case proto.TypeInvited:
		err = e.onInvited(f)
	case proto.TypeInviteAccepted:
		err = e.onInviteAccepted(f)
	case proto.TypeInviteRejected:
		err = e.onInviteRejected(f)
	case proto.TypeInviteMissed:
		err = e.onInviteMissed(f)
	case proto.TypeInviteCancelled:
		err = e.onInviteCancelled(f)
	case proto.TypeInviteTimeout:
		err = e.onInviteTimeout(f)
	case proto.TypeInviteeList:
		err = e.onInviteeList(f)
	case proto.TypeMemberJoined:
		err = e.onMemberJoined(f)
	case proto.TypeMemberLeft:
		err = e.onMemberLeft(f)
	case proto.TypeCallEnded:
		err = e.onCallEnded(f)
	case proto.TypeCallTypeChanged:
		err = e.onCallTypeChanged(f)
	case proto.TypeMediaState:
		err = e.onMediaState(f)
	case proto.TypeRelay:
		err = e.onRelay(f)
	case proto.TypeKicked:
		err = e.onKicked(l, f)
	case proto.TypeError:
		var perr proto.Error
		if err = proto.DecodeBody(f, &perr); err == nil {
			// Only fire-and-forget frames (relays) are answered this way.
			e.log.Warn("server error for an unanswered frame", "code", perr.Code, "msg", perr.Message)
		}
	case proto.TypePresence:
		var pr proto.Presence
		if err = proto.DecodeBody(f, &pr); err == nil {
			e.emit(EventPresence, presenceOf(pr))
		}
	default:
		e.log.Debug("ignoring push", "type", f.Type)
	}
	if err != nil {
		e.log.Warn("bad push", "type", f.Type, "err", err)
	}
}

func (e *Engine) onInvited(f proto.Frame) error {
	var p proto.Invited
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	if p.InviteID == "" {
		return fmt.Errorf("%w: invitation without id", proto.ErrMalformed)
	}
	if inv, ok := e.invites[p.InviteID]; ok {
		inv.confirmed = true // re-delivered after a reconnect
		return nil
	}
	e.invites[p.InviteID] = &invitation{Invited: p, confirmed: true}
	e.emit(EventInvited, Invited{
		InviteID:    p.InviteID,
		Sponsor:     p.Sponsor,
		UserIDList:  slices.Clone(p.Invitees),
		IsFromGroup: p.IsFromGroup,
		GroupID:     p.GroupID,
		InviteData:  InviteData{Version: proto.Version, CallType: CallType(p.CallType), RoomID: p.RoomID},
		Timeout:     p.Timeout,

		SponsorNickName: p.SponsorNickName,
		SponsorAvatar:   p.SponsorAvatar,
	})
	return nil
}

func (e *Engine) onInviteAccepted(f proto.Frame) error {
	var p proto.InviteAnswer
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	// Only members of the call care, and never about themselves (the
	// reference emitted the local user's own ID here, a defect).
	if e.room == nil || p.UserID == e.userID {
		return nil
	}
	e.emit(EventUserAccept, UserRef{UserID: p.UserID})
	return nil
}

func (e *Engine) onInviteRejected(f proto.Frame) error {
	var p proto.InviteAnswer
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	if e.room == nil || p.UserID == e.userID {
		return nil
	}
	if p.Busy {
		e.emit(EventLineBusy, LineBusy{InviteID: p.InviteID, Sponsor: p.Sponsor, UserID: p.UserID})
	} else {
		e.emit(EventReject, UserRef{UserID: p.UserID})
	}
	return nil
}

func (e *Engine) onInviteMissed(f proto.Frame) error {
	var p proto.InviteEnd
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	e.emit(EventLineBusy, LineBusy{InviteID: p.InviteID, Sponsor: p.Sponsor, UserID: e.userID})
	return nil
}

func (e *Engine) onInviteCancelled(f proto.Frame) error {
	var p proto.InviteEnd
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	// Matched on inviteID: a stale cancel never touches a call (reference
	// defect §9.1 not reproduced).
	if _, ok := e.invites[p.InviteID]; !ok {
		return nil
	}
	delete(e.invites, p.InviteID)
	e.emit(EventCallingCancel, CallingCancel{InviteID: p.InviteID, Sponsor: p.Sponsor, Reason: EndReason(p.Reason)})
	return nil
}

func (e *Engine) onInviteTimeout(f proto.Frame) error {
	var p proto.InviteEnd
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	if p.Sponsor == e.userID {
		first := ""
		if len(p.UserIDs) > 0 {
			first = p.UserIDs[0]
		}
		e.emit(EventNoResp, NoResp{InviteID: p.InviteID, Sponsor: p.Sponsor, UserID: first, UserIDList: slices.Clone(p.UserIDs)})
		return nil
	}
	if _, ok := e.invites[p.InviteID]; !ok {
		return nil
	}
	delete(e.invites, p.InviteID)
	e.emit(EventCallingTimeout, CallingTimeout{InviteID: p.InviteID, Sponsor: p.Sponsor, UserIDList: slices.Clone(p.UserIDs)})
	return nil
}

func (e *Engine) onInviteeList(f proto.Frame) error {
	var p proto.InviteeList
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	r := e.room
	if r == nil || r.id != p.RoomID {
		return nil
	}
	r.pending = slices.Clone(p.Pending)
	if r.isGroup {
		list := slices.Clone(p.Pending)
		if list == nil {
			list = []string{}
		}
		e.emit(EventGroupCallInviteeListUpdate, InviteeList{UserIDList: list})
	}
	return nil
}

func (e *Engine) onMemberJoined(f proto.Frame) error {
	var p proto.MemberEvent
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	r := e.room
	if r == nil || r.id != p.RoomID {
		return nil
	}
	// Members already here answer the newcomer's offer.
	e.memberArrivedLocked(r, proto.Member{UserID: p.UserID, Audio: p.Audio, Video: p.Video}, false)
	return nil
}

func (e *Engine) onMemberLeft(f proto.Frame) error {
	var p proto.MemberEvent
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	r := e.room
	if r == nil || r.id != p.RoomID {
		return nil
	}
	e.memberGoneLocked(r, p.UserID, EndReason(p.Reason))
	return nil
}

func (e *Engine) onCallEnded(f proto.Frame) error {
	var p proto.CallEnded
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	var r *room
	switch {
	case e.room != nil && e.room.id == p.RoomID:
		r = e.room
	case e.left != nil && e.left.id == p.RoomID:
		r = e.left
		e.left = nil
	default:
		return nil
	}
	by := p.By
	if by == "" {
		by = r.inviter
	}
	data := CallEnd{UserID: by, CallEnd: p.Duration, Reason: EndReason(p.Reason), RoomID: p.RoomID}
	if data.Reason == ReasonMediaFailed && !r.mediaFailed {
		// The other side saw it first; this side's user hears it too.
		r.mediaFailed = true
		e.emit(EventError, Error{Code: CodeMediaFailed, Msg: fmt.Sprintf("media with %s never connected", by)})
	}
	if e.room == r {
		e.endRoomLocked(r, data)
	} else {
		e.emit(EventCallEnd, data)
	}
	return nil
}

func (e *Engine) onCallTypeChanged(f proto.Frame) error {
	var p proto.CallTypeChanged
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	r, t := e.room, CallType(p.CallType)
	if r == nil || r.id != p.RoomID || !t.Valid() || r.callType == t {
		return nil
	}
	old := e.changeCallTypeLocked(r, t)
	e.emit(EventCallTypeChanged, CallTypeChanged{OldCallType: old, NewCallType: t, UserID: p.UserID})
	return nil
}

// changeCallTypeLocked switches r's media to callType and returns the old
// type. The camera follows the call type, as it does when a call starts
// (on for video unless CloseCamera was called, off for audio), and the
// others are told, so that an audio call switched to video carries video.
func (e *Engine) changeCallTypeLocked(r *room, callType CallType) CallType {
	old := r.callType
	r.callType = callType
	camOn := callType == CallTypeVideo && !e.camClosed
	e.mediaOpLocked(r, func(s MediaSession) {
		s.SetCallType(callType)
		s.SetCamera(camOn)
	})
	if e.camOn != camOn && !e.closed {
		e.camOn = camOn
		// A push handler must not block on a request.
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.sendMediaState(ctx)
		}()
	}
	return old
}

func (e *Engine) onMediaState(f proto.Frame) error {
	var p proto.MediaState
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	r := e.room
	if r == nil || (p.RoomID != 0 && r.id != p.RoomID) {
		return nil
	}
	m := r.members[p.UserID]
	if m == nil {
		return nil
	}
	e.setMemberMediaLocked(p.UserID, m, p.Audio, p.Video)
	return nil
}

// setMemberMediaLocked records a member's mic/camera and emits an event for
// each value that changed.
func (e *Engine) setMemberMediaLocked(userID string, m *member, audio, video bool) {
	if m.audio != audio {
		m.audio = audio
		e.emit(EventUserAudioAvailable, AudioAvailable{UserID: userID, IsAudioAvailable: audio})
	}
	if m.video != video {
		m.video = video
		e.emit(EventUserVideoAvailable, VideoAvailable{UserID: userID, IsVideoAvailable: video})
	}
}

func (e *Engine) onRelay(f proto.Frame) error {
	var p proto.Relay
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	if e.room == nil || e.room.members[p.From] == nil {
		return nil
	}
	from, payload := p.From, p.Payload
	e.mediaOpLocked(e.room, func(s MediaSession) { s.HandleSignal(from, payload) })
	return nil
}

func (e *Engine) onKicked(l *link, f proto.Frame) error {
	var p proto.Kicked
	if err := proto.DecodeBody(f, &p); err != nil {
		return err
	}
	e.emit(EventKickedOut, KickedOut{Reason: EndReason(p.Reason)})
	// The server already removed us from the call; leave it locally and do
	// not reconnect (resuming would kick the new session in turn).
	e.dropLinkLocked(l)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = l.c.Close()
	}()
	return nil
}

// resume logs in again after the signaling client reconnected, with the
// same sessionID, and brings the mirror in line with the server's answer.
func (e *Engine) resume(ctx context.Context, l *link, conn *signal.Conn) error {
	e.mu.Lock()
	if e.link != l || !e.loggedIn {
		e.mu.Unlock()
		return ErrNotLoggedIn // a login we dropped: never log it in again
	}
	for _, inv := range e.invites {
		inv.confirmed = false
	}
	e.mu.Unlock()
	req := proto.LoginRequest{SDKAppID: e.cfg.SDKAppID, UserID: l.userID, UserSig: l.userSig, SessionID: e.sessionID}
	err := conn.Request(ctx, proto.TypeLogin, req, func(body json.RawMessage) error {
		var rep proto.LoginReply
		if err := decode(body, &rep); err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.link != l {
			return ErrNotLoggedIn
		}
		e.applyResumeLocked(rep)
		return nil
	})
	if err != nil {
		var perr *proto.Error
		if errors.As(err, &perr) && perr.Code >= proto.CodeInvalidUserSig && perr.Code <= proto.CodeInvalidUserID {
			// The server will never take these credentials again.
			e.loginLost(l, perr)
		}
		return fmt.Errorf("resume: %w", err)
	}
	// Invitations still ringing are re-delivered right after the login;
	// the answer to a later request fences them. The rest ended meanwhile.
	_ = conn.Request(ctx, proto.TypePing, nil, func(json.RawMessage) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.link != l {
			return nil
		}
		for id, inv := range e.invites {
			if !inv.confirmed {
				delete(e.invites, id)
				e.emit(EventCallingCancel, CallingCancel{InviteID: id, Sponsor: inv.Sponsor, Reason: ReasonDisconnected})
			}
		}
		return nil
	})
	// A new server session has forgotten our self info too.
	e.mu.Lock()
	self := e.self
	e.mu.Unlock()
	if self != (SelfInfo{}) {
		info := proto.SelfInfo{NickName: self.NickName, Avatar: self.Avatar}
		if err := conn.Request(ctx, proto.TypeSetSelfInfo, info, nil); err != nil {
			e.log.Warn("self info not restored", "err", err)
		}
	}
	// A new server session has forgotten what we watched; a resumed one
	// may have missed changes. Either way, ask again and report the state.
	e.mu.Lock()
	watch := slices.Clone(e.watching)
	e.mu.Unlock()
	if len(watch) > 0 {
		_ = conn.Request(ctx, proto.TypeWatch, proto.WatchRequest{Users: watch}, func(body json.RawMessage) error {
			ps, err := decodePresence(body)
			if err != nil {
				return err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, p := range ps {
				e.emit(EventPresence, p)
			}
			return nil
		})
	}
	e.log.Info("signaling resumed", "user", l.userID)
	return nil
}

// applyResumeLocked mirrors the call state a resumed (or new) session has.
func (e *Engine) applyResumeLocked(rep proto.LoginReply) {
	e.ice = rep.ICEServers
	if e.left != nil {
		// Our hangup went through; its callEnded may have been lost.
		e.emit(EventCallEnd, CallEnd{UserID: e.userID, CallEnd: e.left.duration(time.Now()), Reason: ReasonHangup, RoomID: e.left.id})
		e.left = nil
	}
	r := e.room
	var st *proto.RoomState
	if rep.Resumed {
		st = rep.Room
	}
	if r != nil && (st == nil || st.RoomID != r.id) {
		// The call went on (or ended) without us.
		for _, u := range sortedMembers(r) {
			e.memberGoneLocked(r, u, ReasonDisconnected)
		}
		e.endRoomLocked(r, CallEnd{UserID: r.inviter, CallEnd: r.duration(time.Now()), Reason: ReasonDisconnected, RoomID: r.id})
		r = nil
	}
	if st == nil {
		return
	}
	if r == nil {
		// A call we did not know we were in (our request's answer was lost).
		r = e.roomFromStateLocked(*st)
		e.room = r
		e.openRoomLocked(r)
	}
	if t := CallType(st.CallType); r.callType != t && t.Valid() {
		old := e.changeCallTypeLocked(r, t)
		e.emit(EventCallTypeChanged, CallTypeChanged{OldCallType: old, NewCallType: t})
	}
	present := make(map[string]proto.Member, len(st.Members))
	for _, m := range st.Members {
		if m.UserID != e.userID {
			present[m.UserID] = m
		}
	}
	for _, u := range sortedMembers(r) {
		if _, ok := present[u]; !ok {
			e.memberGoneLocked(r, u, ReasonDisconnected)
		}
	}
	for _, m := range st.Members {
		if m.UserID == e.userID {
			continue
		}
		if old := r.members[m.UserID]; old != nil {
			e.setMemberMediaLocked(m.UserID, old, m.Audio, m.Video)
			continue
		}
		e.memberArrivedLocked(r, m, true)
	}
	if !slices.Equal(r.pending, st.Pending) {
		r.pending = slices.Clone(st.Pending)
		if r.isGroup {
			e.emit(EventGroupCallInviteeListUpdate, InviteeList{UserIDList: append([]string{}, st.Pending...)})
		}
	}
}

// loginLost ends a login whose credentials the server refuses for good.
func (e *Engine) loginLost(l *link, perr *proto.Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.link != l {
		return
	}
	e.emit(EventError, Error{Code: perr.Code, Msg: perr.Message})
	if r := e.room; r != nil {
		for _, u := range sortedMembers(r) {
			e.memberGoneLocked(r, u, ReasonDisconnected)
		}
		e.endRoomLocked(r, CallEnd{UserID: r.inviter, CallEnd: r.duration(time.Now()), Reason: ReasonDisconnected, RoomID: r.id})
	}
	e.dropLinkLocked(l)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = l.c.Close()
	}()
}

func sortedMembers(r *room) []string {
	us := make([]string, 0, len(r.members))
	for u := range r.members {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

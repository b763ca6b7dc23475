package callcore

import (
	"context"
	"fmt"
	"slices"
	"time"

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
	e.abandonLinkLocked(l)
	return nil
}

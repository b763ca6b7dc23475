package server

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// room is a call: its members and the invitees still ringing for it.
//
// End rule (protocol.md, Calls): a call ends when it has no members, or
// fewer than two members and nobody still ringing.
type room struct {
	id        uint32
	callType  int
	groupID   string
	isGroup   bool
	inviter   string
	members   []*member
	pending   []string           // invitees still ringing, in invitation order
	invites   map[string]*invite // open invitations into this call
	startedAt time.Time          // when a second member joined; zero before
	ended     bool
}

type member struct {
	userID       string
	audio, video bool
}

func (r *room) memberIDs() []string {
	ids := make([]string, len(r.members))
	for i, m := range r.members {
		ids[i] = m.userID
	}
	return ids
}

func (r *room) member(u string) *member {
	for _, m := range r.members {
		if m.userID == u {
			return m
		}
	}
	return nil
}

func (r *room) others(u string) []string {
	ids := make([]string, 0, len(r.members))
	for _, m := range r.members {
		if m.userID != u {
			ids = append(ids, m.userID)
		}
	}
	return ids
}

func (r *room) state() proto.RoomState {
	st := proto.RoomState{
		RoomID:   r.id,
		CallType: r.callType,
		GroupID:  r.groupID,
		IsGroup:  r.isGroup,
		Inviter:  r.inviter,
		Members:  make([]proto.Member, len(r.members)),
		Pending:  append([]string{}, r.pending...),
	}
	for i, m := range r.members {
		st.Members[i] = proto.Member{UserID: m.userID, Audio: m.audio, Video: m.video}
	}
	if !r.startedAt.IsZero() {
		st.StartedAt = r.startedAt.UnixMilli()
	}
	return st
}

func (r *room) avCall() *proto.AVCall { return proto.NewAVCall(r.callType, r.id) }

// newRoom opens a call with the inviter as its first member.
func (s *Server) newRoom(t *tx, inviter string, callType int, groupID string, isGroup bool) *room {
	var id uint32
	for id == 0 || s.rooms[id] != nil {
		id = uint32(rand.IntN(100_000_000)) + 1
	}
	r := &room{
		id:       id,
		callType: callType,
		groupID:  groupID,
		isGroup:  isGroup,
		inviter:  inviter,
		invites:  make(map[string]*invite),
	}
	s.rooms[id] = r
	t.saveRoom(r)
	s.addMember(t, r, inviter)
	return r
}

func (s *Server) addMember(t *tx, r *room, u string) *member {
	m := &member{userID: u, audio: true, video: r.callType == proto.CallTypeVideo}
	r.members = append(r.members, m)
	s.inRoom[u] = r
	t.touch(u)
	t.saveRoom(r)
	if len(r.members) == 2 && r.startedAt.IsZero() {
		r.startedAt = s.now()
	}
	return m
}

// pushInviteeList tells the members of a group call who is still ringing.
func (s *Server) pushInviteeList(t *tx, r *room) {
	if !r.isGroup || r.ended {
		return
	}
	t.pushAll(r.memberIDs(), proto.TypeInviteeList, proto.InviteeList{RoomID: r.id, Pending: append([]string{}, r.pending...)})
}

// leave takes u out of r: the others get memberLeft, then the end rule runs.
// A caller who hangs up before anyone answered cancels the call.
func (s *Server) leave(t *tx, r *room, u, reason string) {
	r.members = slices.DeleteFunc(r.members, func(m *member) bool { return m.userID == u })
	delete(s.inRoom, u)
	t.touch(u)
	t.saveRoom(r)
	t.pushAll(r.memberIDs(), proto.TypeMemberLeft, proto.MemberEvent{RoomID: r.id, UserID: u, Reason: reason})
	endReason := reason
	if (reason == proto.ReasonHangup || reason == proto.ReasonMediaFailed) && r.startedAt.IsZero() {
		// Nobody answered yet, so no media can have failed: it is a cancel.
		endReason = proto.ReasonCancelled
	}
	s.settle(t, r, endReason, u, u)
}

// settle ends r if the end rule says so. leaver, if set, left just now and
// gets callEnded too.
func (s *Server) settle(t *tx, r *room, reason, by, leaver string) {
	if r.ended {
		return
	}
	if len(r.members) == 0 || (len(r.members) < 2 && len(r.pending) == 0) {
		s.endCall(t, r, reason, by, leaver)
	}
}

func (s *Server) endCall(t *tx, r *room, reason, by, leaver string) {
	r.ended = true
	t.saveRoom(r)
	cancelReason := proto.ReasonCallEnded
	if reason == proto.ReasonCancelled {
		cancelReason = proto.ReasonCancelled
	}
	for _, inv := range sortedInvites(r) {
		for _, u := range inv.pendingList() {
			t.push(u, proto.TypeInviteCancelled, proto.InviteEnd{InviteID: inv.id, Sponsor: inv.sponsor, Reason: cancelReason})
			s.stopRinging(t, inv, u)
		}
		s.closeInvite(t, inv)
	}
	duration := 0
	if !r.startedAt.IsZero() {
		duration = int(s.now().Sub(r.startedAt) / time.Second)
	}
	data := r.avCall()
	data.Cmd = "hangup"
	data.CallEnd = &duration
	body := proto.CallEnded{RoomID: r.id, Duration: duration, Reason: reason, By: by, Data: data}
	to := r.memberIDs()
	if leaver != "" && r.member(leaver) == nil {
		to = append(to, leaver)
	}
	t.pushAll(to, proto.TypeCallEnded, body)
	for _, m := range r.members {
		delete(s.inRoom, m.userID)
		t.touch(m.userID)
	}
	r.members = nil
	delete(s.rooms, r.id)
	s.log.Info("call ended", "room", r.id, "reason", reason, "by", by, "duration", duration)
}

func (s *Server) handleHangup(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.HangupRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	reason := proto.ReasonHangup
	switch req.Reason {
	case "":
	case proto.ReasonMediaFailed:
		reason = proto.ReasonMediaFailed
	default:
		return nil, errf(proto.CodeBadRequest, "hangup reason must be empty or %q", proto.ReasonMediaFailed)
	}
	u := c.sess.userID
	r := s.inRoom[u]
	if r == nil {
		return nil, errNotInCall()
	}
	s.leave(t, r, u, reason)
	return struct{}{}, nil
}

func (s *Server) handleSwitchCallType(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.SwitchCallTypeRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if !proto.ValidCallType(req.CallType) {
		return nil, errf(proto.CodeBadRequest, "callType must be 1 (audio) or 2 (video)")
	}
	u := c.sess.userID
	r := s.inRoom[u]
	switch {
	case r == nil:
		return nil, errNotInCall()
	case r.isGroup:
		return nil, errf(proto.CodeWrongState, "only 1:1 calls can switch type")
	case r.callType == req.CallType:
		return nil, errf(proto.CodeWrongState, "the call is already of type %d", req.CallType)
	}
	r.callType = req.CallType
	t.saveRoom(r)
	t.pushAll(r.memberIDs(), proto.TypeCallTypeChanged, proto.CallTypeChanged{RoomID: r.id, CallType: r.callType, UserID: u})
	return struct{}{}, nil
}

func (s *Server) handleMediaState(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.MediaState
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	u := c.sess.userID
	r := s.inRoom[u]
	if r == nil {
		return nil, errNotInCall()
	}
	m := r.member(u)
	m.audio, m.video = req.Audio, req.Video
	t.saveRoom(r)
	t.pushAll(r.others(u), proto.TypeMediaState, proto.MediaState{RoomID: r.id, UserID: u, Audio: m.audio, Video: m.video})
	return struct{}{}, nil
}

func (s *Server) handleRelay(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.Relay
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if !proto.ValidUserID(req.To) {
		return nil, errf(proto.CodeBadRequest, "relay needs a valid target userID")
	}
	if len(req.Payload) == 0 || string(req.Payload) == "null" {
		return nil, errf(proto.CodeBadRequest, "relay needs a payload")
	}
	u := c.sess.userID
	r := s.inRoom[u]
	if r == nil || req.To == u || r.member(req.To) == nil {
		return nil, errf(proto.CodeNotInSameRoom, "%s is not in your call", req.To)
	}
	t.push(req.To, proto.TypeRelay, proto.Relay{From: u, Payload: req.Payload})
	return struct{}{}, nil
}

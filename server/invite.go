package server

import (
	"cmp"
	"slices"
	"time"

	"github.com/termcall/termcall/server/proto"
)

// invite is one invitation: a sponsor asking one or more users to join a
// call. It stays open while at least one invitee is still ringing.
type invite struct {
	id          string
	sponsor     string
	room        *room
	invitees    []string        // as sent, after group filtering
	pending     map[string]bool // invitees still ringing
	groupID     string
	isFromGroup bool
	callType    int
	timeout     int // seconds, 0 = no timeout
	sentAt      time.Time
	seq         uint64 // creation order: orders invitations sent at the same instant
	timer       Timer
	overdue     bool // restored after its deadline: fires when its users are back (durable.go)
	// The sponsor's setSelfInfo when they sent it.
	sponsorNickName, sponsorAvatar string
}

func (inv *invite) stopTimer() {
	if inv.timer != nil {
		inv.timer.Stop()
		inv.timer = nil
	}
}

// pendingList lists the invitees still ringing, in invitation order.
func (inv *invite) pendingList() []string {
	out := make([]string, 0, len(inv.pending))
	for _, u := range inv.invitees {
		if inv.pending[u] {
			out = append(out, u)
		}
	}
	return out
}

func (inv *invite) invitedBody() proto.Invited {
	return proto.Invited{
		InviteID:    inv.id,
		Sponsor:     inv.sponsor,
		Invitees:    inv.invitees,
		GroupID:     inv.groupID,
		IsFromGroup: inv.isFromGroup,
		CallType:    inv.room.callType,
		RoomID:      inv.room.id,
		Timeout:     inv.timeout,
		SentAt:      inv.sentAt.UnixMilli(),
		Data:        inv.room.avCall(),

		SponsorNickName: inv.sponsorNickName,
		SponsorAvatar:   inv.sponsorAvatar,
	}
}

func sortedInvites(r *room) []*invite {
	invs := make([]*invite, 0, len(r.invites))
	for _, inv := range r.invites {
		invs = append(invs, inv)
	}
	slices.SortFunc(invs, func(a, b *invite) int {
		if c := a.sentAt.Compare(b.sentAt); c != 0 {
			return c
		}
		// A coarse or fake clock gives equal times: keep the order they were sent in.
		return cmp.Compare(a.seq, b.seq)
	})
	return invs
}

// nextInviteSeq numbers invitations in the order they are created.
func (s *Server) nextInviteSeq() uint64 {
	s.inviteSeq++
	return s.inviteSeq
}

// busy reports whether u is ringing or in a call.
func (s *Server) busy(u string) bool { return s.ringing[u] != nil || s.inRoom[u] != nil }

// stopRinging takes u off inv's ringing list (answered, cancelled, timed out).
func (s *Server) stopRinging(t *tx, inv *invite, u string) {
	delete(inv.pending, u)
	if s.ringing[u] == inv {
		delete(s.ringing, u)
	}
	inv.room.pending = slices.DeleteFunc(inv.room.pending, func(p string) bool { return p == u })
	t.touch(u)
	t.saveInvite(inv)
	t.saveRoom(inv.room)
	if len(inv.pending) == 0 {
		s.closeInvite(t, inv)
	}
}

func (s *Server) closeInvite(t *tx, inv *invite) {
	t.saveInvite(inv)
	inv.stopTimer()
	delete(s.invites, inv.id)
	delete(inv.room.invites, inv.id)
}

// openInvite finds an invitation still ringing for u.
func (s *Server) openInvite(id, u string) (*invite, *proto.Error) {
	inv := s.invites[id]
	if inv == nil || !inv.pending[u] {
		return nil, errf(proto.CodeUnknownInvite, "no open invitation %q for you", id)
	}
	return inv, nil
}

// inviteeList validates and resolves the invitee list of an invite request.
func (s *Server) inviteeList(u string, req proto.InviteRequest) (users []string, fromGroup bool, perr *proto.Error) {
	seen := make(map[string]bool, len(req.Invitees))
	for _, v := range req.Invitees {
		switch {
		case !proto.ValidUserID(v):
			return nil, false, errf(proto.CodeBadRequest, "invalid invitee userID %q", v)
		case v == u:
			return nil, false, errf(proto.CodeBadRequest, "you cannot invite yourself")
		case seen[v]:
			return nil, false, errf(proto.CodeBadRequest, "%s is listed twice", v)
		}
		seen[v] = true
	}
	if len(req.Invitees) > proto.MaxInvitees {
		return nil, false, errf(proto.CodeBadRequest, "at most %d invitees", proto.MaxInvitees)
	}
	if req.GroupID == "" {
		if len(req.Invitees) == 0 {
			return nil, false, errf(proto.CodeBadRequest, "the invitee list is empty")
		}
		return slices.Clone(req.Invitees), false, nil
	}
	members, ok := s.opts.Groups[req.GroupID]
	if !ok {
		return nil, false, errf(proto.CodeUnknownGroup, "no group %q", req.GroupID)
	}
	if !slices.Contains(members, u) {
		return nil, false, errf(proto.CodeNotGroupMember, "you are not a member of group %q", req.GroupID)
	}
	if len(req.Invitees) == 0 {
		for _, m := range members {
			if m != u && !seen[m] {
				seen[m] = true
				users = append(users, m)
			}
		}
	} else {
		for _, v := range req.Invitees {
			if slices.Contains(members, v) {
				users = append(users, v)
			}
		}
	}
	switch {
	case len(users) == 0:
		return nil, false, errf(proto.CodeBadRequest, "nobody to invite in group %q", req.GroupID)
	case len(users) > proto.MaxInvitees:
		return nil, false, errf(proto.CodeBadRequest, "at most %d invitees", proto.MaxInvitees)
	}
	return users, true, nil
}

func (s *Server) handleInvite(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.InviteRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	if !proto.ValidCallType(req.CallType) {
		return nil, errf(proto.CodeBadRequest, "callType must be 1 (audio) or 2 (video)")
	}
	if req.Timeout < 0 || req.Timeout > proto.MaxTimeout {
		return nil, errf(proto.CodeBadRequest, "timeout must be 0-%d seconds", proto.MaxTimeout)
	}
	u := c.sess.userID
	if s.ringing[u] != nil {
		return nil, errf(proto.CodeWrongState, "you are ringing: answer that invitation first")
	}
	r := s.inRoom[u]
	if req.RoomID != 0 && (r == nil || r.id != req.RoomID) {
		return nil, errf(proto.CodeWrongState, "you are not in call %d", req.RoomID)
	}
	users, fromGroup, perr := s.inviteeList(u, req)
	if perr != nil {
		return nil, perr
	}
	if r != nil {
		for _, v := range users {
			if r.member(v) != nil || slices.Contains(r.pending, v) {
				return nil, errf(proto.CodeBadRequest, "%s is already in this call", v)
			}
		}
		if len(r.members)+len(r.pending)+len(users) > proto.MaxRoomMembers {
			return nil, errf(proto.CodeRoomFull, "a call holds at most %d members", proto.MaxRoomMembers)
		}
	}

	// Valid: from here on the request takes effect.
	existing := r != nil
	if r == nil {
		r = s.newRoom(t, u, req.CallType, req.GroupID, req.GroupID != "" || len(users) >= 2)
	} else if req.GroupID != "" || len(r.members)+len(r.pending)+len(users) > 2 {
		r.isGroup = true
	}
	inv := &invite{
		id:          randomID(),
		sponsor:     u,
		room:        r,
		invitees:    users,
		pending:     make(map[string]bool, len(users)),
		groupID:     req.GroupID,
		isFromGroup: fromGroup,
		callType:    r.callType,
		timeout:     req.Timeout,
		sentAt:      s.now(),
		seq:         s.nextInviteSeq(),

		sponsorNickName: c.sess.nickName,
		sponsorAvatar:   c.sess.avatar,
	}
	for s.invites[inv.id] != nil {
		inv.id = randomID()
	}
	s.invites[inv.id] = inv
	r.invites[inv.id] = inv

	var busy []string
	for _, v := range users {
		if s.busy(v) {
			busy = append(busy, v)
			continue
		}
		inv.pending[v] = true
		s.ringing[v] = inv
		r.pending = append(r.pending, v)
		t.touch(v)
	}
	for _, v := range users {
		if inv.pending[v] {
			t.push(v, proto.TypeInvited, inv.invitedBody()) // offline invitees get it at login
			continue
		}
		data := r.avCall()
		data.LineBusy = "line_busy"
		t.pushAll(r.memberIDs(), proto.TypeInviteRejected,
			proto.InviteAnswer{InviteID: inv.id, Sponsor: u, UserID: v, Busy: true, Data: data})
		t.push(v, proto.TypeInviteMissed, proto.InviteEnd{InviteID: inv.id, Sponsor: u, Reason: proto.ReasonBusy})
	}
	t.saveInvite(inv)
	t.saveRoom(r)
	if len(inv.pending) == 0 {
		s.closeInvite(t, inv)
	} else if req.Timeout > 0 {
		inv.timer = s.afterFunc(time.Duration(req.Timeout)*time.Second, func() { s.inviteTimedOut(inv) })
	}
	if existing {
		s.pushInviteeList(t, r)
	}
	// The server answered busy for them: like a busy reject, the call ends
	// "by" the (last) busy invitee (protocol.md, Calls: who is "by").
	by := ""
	if len(busy) > 0 {
		by = busy[len(busy)-1]
	}
	s.settle(t, r, proto.ReasonBusy, by, "")
	s.log.Info("invite", "id", inv.id, "from", u, "to", users, "busy", busy, "room", r.id)
	return proto.InviteReply{InviteID: inv.id, RoomID: r.id, Invitees: users}, nil
}

func (s *Server) inviteTimedOut(inv *invite) {
	s.apply(func(t *tx) {
		if s.invites[inv.id] != inv {
			return // answered or cancelled meanwhile
		}
		r := inv.room
		users := inv.pendingList()
		for _, v := range users {
			t.push(v, proto.TypeInviteTimeout, proto.InviteEnd{InviteID: inv.id, Sponsor: inv.sponsor, UserIDs: []string{v}})
			s.stopRinging(t, inv, v)
		}
		t.push(inv.sponsor, proto.TypeInviteTimeout, proto.InviteEnd{InviteID: inv.id, Sponsor: inv.sponsor, UserIDs: users})
		s.pushInviteeList(t, r)
		s.settle(t, r, proto.ReasonNoAnswer, "", "")
		s.log.Info("invite timed out", "id", inv.id, "users", users)
	})
}

func (s *Server) handleCancel(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.InviteRef
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	u := c.sess.userID
	inv := s.invites[req.InviteID]
	if inv == nil {
		return nil, errf(proto.CodeUnknownInvite, "no open invitation %q", req.InviteID)
	}
	if inv.sponsor != u {
		return nil, errf(proto.CodeNotPermitted, "only %s can cancel this invitation", inv.sponsor)
	}
	r := inv.room
	for _, v := range inv.pendingList() {
		t.push(v, proto.TypeInviteCancelled, proto.InviteEnd{InviteID: inv.id, Sponsor: u, Reason: proto.ReasonCancelled})
		s.stopRinging(t, inv, v)
	}
	s.pushInviteeList(t, r)
	s.settle(t, r, proto.ReasonCancelled, u, "")
	return struct{}{}, nil
}

func (s *Server) handleAccept(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.InviteRef
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	u := c.sess.userID
	inv, perr := s.openInvite(req.InviteID, u)
	if perr != nil {
		return nil, perr
	}
	r := inv.room
	if s.inRoom[u] != nil {
		return nil, errf(proto.CodeWrongState, "you are in another call")
	}
	if len(r.members) >= proto.MaxRoomMembers {
		return nil, errf(proto.CodeRoomFull, "the call already has %d members", proto.MaxRoomMembers)
	}
	s.stopRinging(t, inv, u)
	others := r.memberIDs()
	t.pushAll(others, proto.TypeInviteAccepted, proto.InviteAnswer{InviteID: inv.id, Sponsor: inv.sponsor, UserID: u, Data: r.avCall()})
	m := s.addMember(t, r, u)
	t.pushAll(others, proto.TypeMemberJoined, proto.MemberEvent{RoomID: r.id, UserID: u, Audio: m.audio, Video: m.video})
	s.pushInviteeList(t, r)
	return proto.AcceptReply{Room: r.state()}, nil
}

func (s *Server) handleReject(t *tx, c *conn, f proto.Frame) (any, *proto.Error) {
	var req proto.RejectRequest
	if perr := decodeBody(f, &req); perr != nil {
		return nil, perr
	}
	u := c.sess.userID
	inv, perr := s.openInvite(req.InviteID, u)
	if perr != nil {
		return nil, perr
	}
	r := inv.room
	s.stopRinging(t, inv, u)
	data := r.avCall()
	reason := proto.ReasonRejected
	if req.Busy {
		data.LineBusy = "line_busy"
		reason = proto.ReasonBusy
	}
	t.pushAll(r.memberIDs(), proto.TypeInviteRejected, proto.InviteAnswer{InviteID: inv.id, Sponsor: inv.sponsor, UserID: u, Busy: req.Busy, Data: data})
	s.pushInviteeList(t, r)
	s.settle(t, r, reason, u, "")
	return struct{}{}, nil
}

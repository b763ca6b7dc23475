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
	err := e.requestLogin(ctx, conn, l, func(rep proto.LoginReply) error {
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
		e.lostRoomLocked(r)
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
		e.lostRoomLocked(r)
	}
	e.abandonLinkLocked(l)
}

// lostRoomLocked ends the current call r locally as disconnected: every
// other member leaves, then CALL_END.
func (e *Engine) lostRoomLocked(r *room) {
	for _, u := range sortedMembers(r) {
		e.memberGoneLocked(r, u, ReasonDisconnected)
	}
	e.endRoomLocked(r, CallEnd{UserID: r.inviter, CallEnd: r.duration(time.Now()), Reason: ReasonDisconnected, RoomID: r.id})
}

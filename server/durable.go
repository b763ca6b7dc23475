package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/store"
)

// StateStore keeps the server's state across restarts; server/store keeps
// it in NATS JetStream. Every transaction that changes a session, a call or
// an invitation writes the records it changed before any of its frames
// leave, so what a client has seen is on record.
type StateStore interface {
	Load(ctx context.Context) (map[string][]byte, error)
	// Publish sends writes in order without waiting; wait says whether
	// they were stored (tx.go pipelines transactions on it).
	Publish(ws []store.Write) (wait func(context.Context) error)
	Ready() bool
}

const (
	keySession = "session."
	keyRoom    = "room."
	keyInvite  = "invite."

	storeTimeout = 5 * time.Second
	// restoreGrace is how long sessions restored at start wait for their
	// clients: the server was down, and their redial backoff may be at its
	// longest (3 s) on top of the usual grace.
	restoreGraceMin = 10 * time.Second
)

// The records, one per key. Times are Unix milliseconds on the server's
// clock.
type (
	sessionRecord struct {
		UserID    string `json:"userID"`
		SessionID string `json:"sessionID"`
		NickName  string `json:"nickName,omitempty"`
		Avatar    string `json:"avatar,omitempty"`
	}
	roomRecord struct {
		ID        uint32         `json:"id"`
		CallType  int            `json:"callType"`
		GroupID   string         `json:"groupID,omitempty"`
		IsGroup   bool           `json:"isGroup,omitempty"`
		Inviter   string         `json:"inviter"`
		Members   []memberRecord `json:"members"`
		Pending   []string       `json:"pending,omitempty"`
		StartedAt int64          `json:"startedAt,omitempty"`
		// Its open invitations: one record for a call and its ringing
		// halves the store's writes per invitation (issue 14).
		Invites []inviteRecord `json:"invites,omitempty"`
	}
	memberRecord struct {
		UserID string `json:"userID"`
		Audio  bool   `json:"audio"`
		Video  bool   `json:"video"`
	}
	inviteRecord struct {
		ID              string   `json:"id"`
		Sponsor         string   `json:"sponsor"`
		RoomID          uint32   `json:"roomID"`
		Invitees        []string `json:"invitees"`
		Pending         []string `json:"pending"`
		GroupID         string   `json:"groupID,omitempty"`
		IsFromGroup     bool     `json:"isFromGroup,omitempty"`
		CallType        int      `json:"callType"`
		Timeout         int      `json:"timeout,omitempty"`
		SentAt          int64    `json:"sentAt"`
		Seq             uint64   `json:"seq"`
		SponsorNickName string   `json:"sponsorNickName,omitempty"`
		SponsorAvatar   string   `json:"sponsorAvatar,omitempty"`
	}
)

func roomKey(id uint32) string { return keyRoom + strconv.FormatUint(uint64(id), 10) }

// saveSession, saveRoom and saveInvite mark records the transaction
// changed; apply writes them (or their deletion) when it ends.
func (t *tx) saveSession(u string)   { t.save(keySession + u) }
func (t *tx) saveRoom(r *room)       { t.save(roomKey(r.id)) }
func (t *tx) saveInvite(inv *invite) { t.saveRoom(inv.room) } // kept in its call's record
func (t *tx) save(key string) {
	if t.s.opts.State == nil {
		return
	}
	if !slices.Contains(t.saves, key) {
		t.saves = append(t.saves, key)
	}
}

// writesLocked turns the marked records into writes of their state now.
func (s *Server) writesLocked(t *tx) []store.Write {
	if len(t.saves) == 0 {
		return nil
	}
	keys := t.saves
	slices.Sort(keys)
	ws := make([]store.Write, 0, len(keys))
	for _, k := range keys {
		rec := s.recordLocked(k)
		if rec == nil {
			ws = append(ws, store.Write{Key: k, Delete: true})
			continue
		}
		b, err := json.Marshal(rec)
		if err != nil {
			s.log.Error("state record", "key", k, "err", err) // our own types: a bug
			continue
		}
		ws = append(ws, store.Write{Key: k, Value: b})
	}
	return ws
}

// recordLocked is the record of key, or nil when its entity is gone.
func (s *Server) recordLocked(key string) any {
	switch {
	case strings.HasPrefix(key, keySession):
		if ss := s.sessions[strings.TrimPrefix(key, keySession)]; ss != nil {
			return sessionRecord{UserID: ss.userID, SessionID: ss.sessionID, NickName: ss.nickName, Avatar: ss.avatar}
		}
	case strings.HasPrefix(key, keyRoom):
		id, err := strconv.ParseUint(strings.TrimPrefix(key, keyRoom), 10, 32)
		if r := s.rooms[uint32(id)]; err == nil && r != nil && !r.ended {
			rec := roomRecord{ID: r.id, CallType: r.callType, GroupID: r.groupID, IsGroup: r.isGroup, Inviter: r.inviter,
				Members: make([]memberRecord, len(r.members)), Pending: slices.Clone(r.pending)}
			for i, m := range r.members {
				rec.Members[i] = memberRecord{UserID: m.userID, Audio: m.audio, Video: m.video}
			}
			if !r.startedAt.IsZero() {
				rec.StartedAt = r.startedAt.UnixMilli()
			}
			for _, inv := range sortedInvites(r) {
				rec.Invites = append(rec.Invites, recordOfInvite(inv))
			}
			return rec
		}
	}
	return nil // an invite.ID record is an older termcall's: deleted once read
}

func recordOfInvite(inv *invite) inviteRecord {
	return inviteRecord{ID: inv.id, Sponsor: inv.sponsor, RoomID: inv.room.id, Invitees: inv.invitees,
		Pending: inv.pendingList(), GroupID: inv.groupID, IsFromGroup: inv.isFromGroup, CallType: inv.callType,
		Timeout: inv.timeout, SentAt: inv.sentAt.UnixMilli(), Seq: inv.seq,
		SponsorNickName: inv.sponsorNickName, SponsorAvatar: inv.sponsorAvatar}
}

// awaitStored waits for a transaction's records. A failed write is
// logged: the call goes on from memory, only a restart would forget it.
// A fenced one (another node has taken the state over) is not: it reports
// false, and nobody hears of the transaction (cluster.go, fenced).
func (s *Server) awaitStored(n int, wait func(context.Context) error) bool {
	err := wait(s.storeDeadline.get(time.Now()))
	if errors.Is(err, store.ErrFenced) {
		s.fenced(err)
		return false
	}
	if err != nil {
		s.log.Error("state not stored", "records", n, "err", err)
	}
	return true
}

// restore loads the state a previous run stored. Sessions come back
// disconnected, each with a grace period for its client to resume;
// invitations keep their deadlines, and those that fell due while the
// server was down fire once the users they concern are back (or their
// grace ends), so that the timeouts reach them.
func (s *Server) restore(ctx context.Context) error {
	recs, err := s.opts.State.Load(ctx)
	if err != nil {
		return fmt.Errorf("restore state: %w", err)
	}
	var (
		sessions []sessionRecord
		rooms    []roomRecord
		invites  []inviteRecord
		bad      []string
		legacy   []string
	)
	for k, v := range recs {
		var err error
		switch {
		case strings.HasPrefix(k, keySession):
			var r sessionRecord
			if err = json.Unmarshal(v, &r); err == nil {
				sessions = append(sessions, r)
			}
		case strings.HasPrefix(k, keyRoom):
			var r roomRecord
			if err = json.Unmarshal(v, &r); err == nil {
				rooms = append(rooms, r)
				for _, ir := range r.Invites {
					ir.RoomID = r.ID
					invites = append(invites, ir)
				}
			}
		case strings.HasPrefix(k, keyInvite):
			// An older termcall's own record per invitation: restored,
			// then kept in its call's record.
			var r inviteRecord
			if err = json.Unmarshal(v, &r); err == nil {
				invites = append(invites, r)
				legacy = append(legacy, k)
			}
		default:
			err = fmt.Errorf("unknown record")
		}
		if err != nil {
			s.log.Warn("state record dropped", "key", k, "err", err)
			bad = append(bad, k)
		}
	}
	grace := max(s.opts.Grace, restoreGraceMin)
	s.apply(func(t *tx) {
		for _, k := range append(bad, legacy...) {
			t.save(k) // no entity behind it: deleted
		}
		now := s.now()
		for _, r := range sessions {
			ss := &session{userID: r.UserID, sessionID: r.SessionID, nickName: r.NickName, avatar: r.Avatar}
			s.sessions[r.UserID] = ss
			ss.grace = s.afterFunc(grace, func() { s.graceExpired(ss) })
		}
		for _, rr := range rooms {
			r := &room{id: rr.ID, callType: rr.CallType, groupID: rr.GroupID, isGroup: rr.IsGroup, inviter: rr.Inviter,
				pending: rr.Pending, invites: make(map[string]*invite)}
			if rr.StartedAt != 0 {
				r.startedAt = time.UnixMilli(rr.StartedAt)
			}
			for _, m := range rr.Members {
				if s.sessions[m.UserID] == nil || s.inRoom[m.UserID] != nil {
					t.saveRoom(r) // its session ended with the last run: gone
					continue
				}
				r.members = append(r.members, &member{userID: m.UserID, audio: m.Audio, video: m.Video})
				s.inRoom[m.UserID] = r
			}
			s.rooms[r.id] = r
		}
		slices.SortFunc(invites, func(a, b inviteRecord) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, ir := range invites {
			r := s.rooms[ir.RoomID]
			if r == nil {
				t.save(keyInvite + ir.ID)
				continue
			}
			inv := &invite{id: ir.ID, sponsor: ir.Sponsor, room: r, invitees: ir.Invitees, pending: make(map[string]bool),
				groupID: ir.GroupID, isFromGroup: ir.IsFromGroup, callType: ir.CallType, timeout: ir.Timeout,
				sentAt: time.UnixMilli(ir.SentAt), seq: ir.Seq,
				sponsorNickName: ir.SponsorNickName, sponsorAvatar: ir.SponsorAvatar}
			for _, u := range ir.Pending {
				if s.ringing[u] == nil {
					inv.pending[u] = true
					s.ringing[u] = inv
				}
			}
			s.inviteSeq = max(s.inviteSeq, ir.Seq)
			s.invites[inv.id] = inv
			r.invites[inv.id] = inv
			if len(inv.pending) == 0 {
				s.closeInvite(t, inv)
				continue
			}
			if inv.timeout > 0 {
				left := inv.sentAt.Add(time.Duration(inv.timeout) * time.Second).Sub(now)
				if left <= 0 {
					inv.overdue = true
					left = grace // unless everyone it concerns is back first (dueOnResumeLocked)
				}
				inv.timer = s.afterFunc(left, func() { s.inviteTimedOut(inv) })
			}
		}
		// Pending lists and calls must agree with the invitations restored.
		for _, r := range s.rooms {
			r.pending = slices.DeleteFunc(r.pending, func(u string) bool { return s.ringing[u] == nil || s.ringing[u].room != r })
			t.saveRoom(r)
			s.settle(t, r, proto.ReasonDisconnected, "", "")
		}
		for u := range s.sessions {
			s.published[u] = s.presence(u) // what watchers saw before the restart
		}
		s.log.Info("state restored", "sessions", len(s.sessions), "calls", len(s.rooms), "invitations", len(s.invites))
	})
	return nil
}

// dueOnResumeLocked fires the overdue invitations that concern u once everyone
// they concern is connected again.
func (s *Server) dueOnResumeLocked(t *tx, u string) {
	for _, inv := range s.invites {
		if !inv.overdue || (inv.sponsor != u && !inv.pending[u]) {
			continue
		}
		back := s.connected(inv.sponsor)
		for v := range inv.pending {
			back = back && (s.sessions[v] == nil || s.connected(v))
		}
		if back {
			inv.overdue = false
			inv.stopTimer()
			// After this login's reply, which tells the client the call it is in.
			t.afterwards(func() { s.inviteTimedOut(inv) })
		}
	}
}

func (s *Server) connected(u string) bool {
	ss := s.sessions[u]
	return ss != nil && ss.conn != nil
}

// sharedDeadline hands out contexts that expire between storeTimeout and
// storeTimeout+deadlineStep from now: the transactions of a second share
// one context and one timer instead of having one each (at 8,000
// transactions a second, 6 % of the server's allocations).
type sharedDeadline struct {
	mu     sync.Mutex
	ctx    context.Context
	until  time.Time
	cancel context.CancelFunc // ctx cancels itself at until; kept for vet
}

const deadlineStep = time.Second

func (d *sharedDeadline) get(now time.Time) context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.until.Sub(now) < storeTimeout {
		// The previous context is left to expire: transactions still wait on it.
		d.until = now.Add(storeTimeout + deadlineStep)
		d.ctx, d.cancel = context.WithDeadline(context.Background(), d.until)
	}
	return d.ctx
}

// Package callcore is termcall's call engine: the TRTCCalling API on top of
// termcall's signaling server.
//
// The server is the authority on invitations, timers, busy lines and call
// membership. The engine mirrors its state from replies and pushes (always
// in the order the server sent them, on the signaling reader goroutine) and
// turns them into TRTCCalling events. Local state changes only when the
// server confirms, so a failed request never leaves the engine stuck.
//
// Goroutines: the signaling client has one reader and one writer per
// connection; the engine adds an event dispatcher (handlers run there, in
// order, never under a lock) and a media goroutine (every MediaSession call
// runs there, in order). Engine state is guarded by one mutex that is never
// held while calling out.
package callcore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/internal/logging"
	"github.com/termcall/termcall/server/proto"
)

// CallInfo describes an invitation the engine sent.
type CallInfo struct {
	InviteID string
	RoomID   uint32
	Invitees []string
}

// Engine is one user's call engine. Its methods are safe for concurrent use.
type Engine struct {
	cfg       Config
	servers   []string // cfg.ServerURL or cfg.ServerURLs; never changes
	log       *slog.Logger
	factory   MediaFactory
	sessionID string
	life      context.Context //nolint:containedctx // ended by Close: aborts a login's dial
	endLife   context.CancelFunc

	events *queue // dispatcher: runs event handlers
	mediaQ *queue // runs MediaSession calls
	wg     sync.WaitGroup

	hmu      sync.Mutex
	handlers map[EventName][]listener // by On
	all      []listener               // by Subscribe
	nextLID  ListenerID

	mu        sync.Mutex
	closed    bool
	link      *link // nil when logged out
	loggedIn  bool
	userID    string
	ice       []proto.ICEServer
	invites   map[string]*invitation // ringing for us, by inviteID
	watching  []string               // users whose presence we follow, re-sent after a reconnect
	room      *room                  // the call we are in
	left      *room                  // a call we hung up, until its end is known
	micMuted  bool
	camClosed bool // CloseCamera called since the last call ended
	camOn     bool
	self      SelfInfo // from SetSelfInfo, re-sent to a new server session
	views     viewBindings
	logLevel  *slog.LevelVar
	devices   deviceWatch // devices.go
}

type invitation struct {
	proto.Invited
	confirmed bool // seen again since the last reconnect
}

// New creates an engine. It does not connect: Login does.
func New(cfg Config, opts ...Option) (*Engine, error) {
	servers, err := serverList(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.GroupTimeout < 0 || cfg.GroupTimeout > proto.MaxTimeout {
		return nil, fmt.Errorf("%w: group timeout %d", ErrInvalidArgument, cfg.GroupTimeout)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.GroupTimeout == 0 {
		cfg.GroupTimeout = DefaultGroupTimeout
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	// Below the handler's own level: SetLogLevel can only narrow what the
	// caller's handler lets through.
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelDebug)
	logger := slog.New(logging.WithLevel(o.logger.Handler(), lv))
	var sid [16]byte
	if _, err := rand.Read(sid[:]); err != nil {
		return nil, fmt.Errorf("session id: %w", err)
	}
	life, endLife := context.WithCancel(context.Background())
	e := &Engine{
		life:      life,
		endLife:   endLife,
		cfg:       cfg,
		servers:   servers,
		log:       logger.With("component", "callcore"),
		logLevel:  lv,
		factory:   o.media,
		sessionID: hex.EncodeToString(sid[:]),
		events:    newQueue(),
		mediaQ:    newQueue(),
		handlers:  make(map[EventName][]listener),
		invites:   make(map[string]*invitation),
		views:     newViewBindings(),
	}
	e.initDevices(o.devices)
	return e, nil
}

// State returns the call state.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateLocked()
}

func (e *Engine) stateLocked() State {
	switch {
	case e.room != nil && len(e.room.members) > 0:
		return StateConnected
	case e.room != nil:
		return StateDialing
	case len(e.invites) > 0:
		return StateRinging
	default:
		return StateIdle
	}
}

// UserID returns the logged-in user ("" when logged out).
func (e *Engine) UserID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loggedIn {
		return ""
	}
	return e.userID
}

// Close logs out if needed and stops the engine's goroutines. Events
// queued before Close are still delivered. Do not call it from a handler.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	loggedIn := e.link != nil && e.loggedIn
	e.mu.Unlock()
	e.endLife()
	var err error
	if loggedIn {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		if lerr := e.Logout(ctx); lerr != nil && !errors.Is(lerr, ErrNotLoggedIn) {
			err = lerr
		}
		cancel()
	}
	// A login still under way sees closed and logs itself out.
	e.wg.Wait()
	e.mediaQ.stop()
	e.events.stop()
	return err
}

// client returns the signaling client of a logged-in engine.
func (e *Engine) client() (*signal.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.link == nil || !e.loggedIn {
		return nil, ErrNotLoggedIn
	}
	return e.link.c, nil
}

// Call invites one user to a 1:1 call. timeout is in seconds, 0 = ring
// until answered or cancelled. It returns once the server has opened the
// call (state Dialing).
func (e *Engine) Call(ctx context.Context, userID string, callType CallType, timeout int) (CallInfo, error) {
	if !proto.ValidUserID(userID) || !callType.Valid() || timeout < 0 || timeout > proto.MaxTimeout {
		return CallInfo{}, fmt.Errorf("%w: call %q type %d timeout %d", ErrInvalidArgument, userID, callType, timeout)
	}
	c, err := e.client()
	if err != nil {
		return CallInfo{}, err
	}
	e.mu.Lock()
	self, st := e.userID, e.stateLocked()
	e.mu.Unlock()
	if userID == self {
		return CallInfo{}, fmt.Errorf("%w: cannot call yourself", ErrInvalidArgument)
	}
	if st != StateIdle {
		return CallInfo{}, fmt.Errorf("%w: call while %s", ErrWrongState, st)
	}
	return e.invite(ctx, c, proto.InviteRequest{Invitees: []string{userID}, CallType: int(callType), Timeout: timeout})
}

// GroupCall invites several users (or, with a groupID and no users, every
// member of that IM group) to a group call. In a call it adds them to it.
func (e *Engine) GroupCall(ctx context.Context, userIDs []string, callType CallType, groupID string) (CallInfo, error) {
	if !callType.Valid() || (len(userIDs) == 0 && groupID == "") || len(userIDs) > proto.MaxInvitees {
		return CallInfo{}, fmt.Errorf("%w: group call of %d users, type %d", ErrInvalidArgument, len(userIDs), callType)
	}
	c, err := e.client()
	if err != nil {
		return CallInfo{}, err
	}
	e.mu.Lock()
	self, st := e.userID, e.stateLocked()
	var roomID uint32
	if e.room != nil {
		roomID = e.room.id
	}
	e.mu.Unlock()
	seen := make(map[string]bool, len(userIDs))
	for _, u := range userIDs {
		if !proto.ValidUserID(u) || u == self || seen[u] {
			return CallInfo{}, fmt.Errorf("%w: invitee %q", ErrInvalidArgument, u)
		}
		seen[u] = true
	}
	if st == StateRinging {
		return CallInfo{}, fmt.Errorf("%w: group call while ringing", ErrWrongState)
	}
	return e.invite(ctx, c, proto.InviteRequest{
		Invitees: slices.Clone(userIDs), CallType: int(callType), Timeout: e.cfg.GroupTimeout,
		GroupID: groupID, RoomID: roomID,
	})
}

func (e *Engine) invite(ctx context.Context, c *signal.Client, req proto.InviteRequest) (CallInfo, error) {
	if req.Invitees == nil {
		req.Invitees = []string{}
	}
	var info CallInfo
	joined := false
	err := c.Request(ctx, proto.TypeInvite, req, func(body json.RawMessage) error {
		var rep proto.InviteReply
		if err := decode(body, &rep); err != nil {
			return err
		}
		info = CallInfo{InviteID: rep.InviteID, RoomID: rep.RoomID, Invitees: rep.Invitees}
		e.mu.Lock()
		defer e.mu.Unlock()
		e.left = nil
		if e.room != nil && e.room.id == rep.RoomID {
			e.room.isGroup = true
			for _, u := range rep.Invitees {
				if !slices.Contains(e.room.pending, u) {
					e.room.pending = append(e.room.pending, u)
				}
			}
			return nil
		}
		if e.room != nil {
			e.closeRoomLocked(e.room)
		}
		e.room = &room{
			id:       rep.RoomID,
			callType: CallType(req.CallType),
			inviter:  e.userID,
			isGroup:  req.GroupID != "" || len(req.Invitees) > 1,
			members:  make(map[string]*member),
			pending:  slices.Clone(rep.Invitees),
		}
		e.openRoomLocked(e.room)
		joined = true
		return nil
	})
	if err != nil {
		return CallInfo{}, fmt.Errorf("invite: %w", err)
	}
	if joined {
		e.sendMediaState(ctx)
	}
	return info, nil
}

// pickInviteLocked finds a ringing invitation: "" means the only one (the most
// recent if, unexpectedly, several ring).
func (e *Engine) pickInviteLocked(inviteID string) *invitation {
	if inviteID != "" {
		return e.invites[inviteID]
	}
	var best *invitation
	for _, inv := range e.invites {
		if best == nil || inv.SentAt > best.SentAt {
			best = inv
		}
	}
	return best
}

// Accept answers an invitation and joins its call. inviteID "" means the
// ringing invitation; roomID and callType 0 mean the invitation's.
func (e *Engine) Accept(ctx context.Context, inviteID string, roomID uint32, callType CallType) error {
	c, inv, err := e.answering(inviteID, callType)
	if err != nil {
		return err
	}
	if roomID != 0 && roomID != inv.RoomID {
		return fmt.Errorf("%w: room %d is not the invitation's (%d)", ErrInvalidArgument, roomID, inv.RoomID)
	}
	id := inv.InviteID
	err = c.Request(ctx, proto.TypeAccept, proto.InviteRef{InviteID: id}, func(body json.RawMessage) error {
		var rep proto.AcceptReply
		if err := decode(body, &rep); err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.invites, id)
		e.left = nil
		if e.room != nil {
			e.closeRoomLocked(e.room)
		}
		e.room = e.roomFromStateLocked(rep.Room)
		e.openRoomLocked(e.room)
		// The accepter joined last: it offers media to everyone there.
		for _, m := range rep.Room.Members {
			if m.UserID != e.userID {
				e.memberArrivedLocked(e.room, m, true)
			}
		}
		return nil
	})
	if err != nil {
		e.forgetUnknownInvite(err, id)
		return fmt.Errorf("accept: %w", err)
	}
	e.sendMediaState(ctx)
	return nil
}

// answering checks what Accept and Reject share: a valid call type, a
// connection, and the invitation ("" = the ringing one).
func (e *Engine) answering(inviteID string, callType CallType) (*signal.Client, *invitation, error) {
	if callType != 0 && !callType.Valid() {
		return nil, nil, fmt.Errorf("%w: call type %d", ErrInvalidArgument, callType)
	}
	c, err := e.client()
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	inv := e.pickInviteLocked(inviteID)
	e.mu.Unlock()
	if inv == nil {
		return nil, nil, ErrNoInvitation
	}
	return c, inv, nil
}

// forgetUnknownInvite drops an invitation the server says does not exist.
func (e *Engine) forgetUnknownInvite(err error, id string) {
	var perr *proto.Error
	if errors.As(err, &perr) && perr.Code == proto.CodeUnknownInvite {
		e.mu.Lock()
		delete(e.invites, id)
		e.mu.Unlock()
	}
}

// Reject declines an invitation ("" = the ringing one). The rejecting side
// gets no event, as in TRTCCalling.
func (e *Engine) Reject(ctx context.Context, inviteID string, isBusy bool, callType CallType) error {
	c, inv, err := e.answering(inviteID, callType)
	if err != nil {
		return err
	}
	id := inv.InviteID
	err = c.Request(ctx, proto.TypeReject, proto.RejectRequest{InviteID: id, Busy: isBusy}, func(json.RawMessage) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.invites, id)
		return nil
	})
	if err != nil {
		e.forgetUnknownInvite(err, id)
		return fmt.Errorf("reject: %w", err)
	}
	return nil
}

// Hangup leaves the current call; while dialing it cancels the call. It
// returns after CALL_END has been queued: the server's callEnded when our
// leaving ended the call, else a local CALL_END (reason "hangup", userID
// self) since the call goes on without us.
func (e *Engine) Hangup(ctx context.Context) error { return e.hangup(ctx, "") }

// hangup leaves the call telling the server why: "" or ReasonMediaFailed.
func (e *Engine) hangup(ctx context.Context, reason EndReason) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	e.mu.Lock()
	r := e.room
	e.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%w: hangup while not in a call", ErrWrongState)
	}
	var body any
	if reason != "" {
		body = proto.HangupRequest{Reason: string(reason)}
	}
	err = c.Request(ctx, proto.TypeHangup, body, func(json.RawMessage) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.room == r {
			e.closeRoomLocked(r)
			e.room = nil
			e.left = r
			r.leftReason = reason
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hangup: %w", err)
	}
	// Pushes caused by our hangup (callEnded) reach us before the answer to
	// a later request: a ping fences them. Whatever happens, finish locally.
	fence, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = c.Request(fence, proto.TypePing, nil, func(json.RawMessage) error {
		e.finishLeft(r)
		return nil
	})
	e.finishLeft(r)
	return nil
}

// finishLeft emits the local CALL_END for a call we left that did not end.
func (e *Engine) finishLeft(r *room) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.left != r {
		return
	}
	e.left = nil
	reason := r.leftReason
	if reason == "" {
		reason = ReasonHangup
	}
	e.emit(EventCallEnd, CallEnd{UserID: e.userID, CallEnd: r.duration(time.Now()), Reason: reason, RoomID: r.id})
}

// SetSelfInfo sets how the local user is shown to others: the nickname and
// avatar travel with our invitations (INVITED) and presence. It is kept
// for the login and sent again when a new server session starts.
func (e *Engine) SetSelfInfo(ctx context.Context, info SelfInfo) error {
	if len(info.NickName) > proto.MaxNickName || len(info.Avatar) > proto.MaxAvatar {
		return fmt.Errorf("%w: nickName at most %d bytes, avatar at most %d", ErrInvalidArgument, proto.MaxNickName, proto.MaxAvatar)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	req := proto.SelfInfo{NickName: info.NickName, Avatar: info.Avatar}
	if err := c.Request(ctx, proto.TypeSetSelfInfo, req, nil); err != nil {
		return fmt.Errorf("set self info: %w", err)
	}
	e.mu.Lock()
	e.self = info
	e.mu.Unlock()
	return nil
}

// SetLogLevel changes the engine's log level (its media's included) at
// run time; records below it are dropped.
func (e *Engine) SetLogLevel(l slog.Level) { e.logLevel.Set(l) }

// SwitchToAudioCall switches the 1:1 call to audio.
func (e *Engine) SwitchToAudioCall(ctx context.Context) error {
	return e.switchType(ctx, CallTypeAudio)
}

// SwitchToVideoCall switches the 1:1 call to video.
func (e *Engine) SwitchToVideoCall(ctx context.Context) error {
	return e.switchType(ctx, CallTypeVideo)
}

// switchType asks the server to change the call type. Its errors carry
// TRTCCalling's codes (60001 to audio, 60002 to video; see ErrorCode).
func (e *Engine) switchType(ctx context.Context, t CallType) error {
	code := CodeSwitchToVideoFailed
	if t == CallTypeAudio {
		code = CodeSwitchToAudioFailed
	}
	c, err := e.client()
	if err != nil {
		return &CodedError{Code: code, Err: err}
	}
	e.mu.Lock()
	r := e.room
	ok := r != nil && !r.isGroup && r.callType != t
	e.mu.Unlock()
	if !ok {
		return &CodedError{Code: code, Err: fmt.Errorf("%w: switch needs a 1:1 call of the other type", ErrWrongState)}
	}
	// CALL_TYPE_CHANGED comes with the server's callTypeChanged push.
	if err := c.Request(ctx, proto.TypeSwitchCallType, proto.SwitchCallTypeRequest{CallType: int(t)}, nil); err != nil {
		return &CodedError{Code: code, Err: fmt.Errorf("switch call type: %w", err)}
	}
	return nil
}

// SetMicMute mutes or unmutes the microphone; in a call the other members
// are told (USER_AUDIO_AVAILABLE on their side).
func (e *Engine) SetMicMute(ctx context.Context, mute bool) error {
	e.mu.Lock()
	e.micMuted = mute
	r := e.room
	if r != nil {
		e.mediaOpLocked(r, func(s MediaSession) { s.SetMicMute(mute) })
	}
	e.updateMicSilentLocked() // a muted mic is silent on purpose
	e.mu.Unlock()
	if r == nil {
		return nil
	}
	return e.pushMediaState(ctx)
}

// OpenCamera turns the camera on; in a call the other members are told.
func (e *Engine) OpenCamera(ctx context.Context) error { return e.setCamera(ctx, true) }

// CloseCamera turns the camera off; in a call the other members are told.
func (e *Engine) CloseCamera(ctx context.Context) error { return e.setCamera(ctx, false) }

func (e *Engine) setCamera(ctx context.Context, on bool) error {
	e.mu.Lock()
	e.camOn = on
	e.camClosed = !on
	r := e.room
	if r != nil {
		e.mediaOpLocked(r, func(s MediaSession) { s.SetCamera(on) })
	}
	e.mu.Unlock()
	if r == nil {
		return nil
	}
	return e.pushMediaState(ctx)
}

// pushMediaState sends our mic/camera state to the server.
func (e *Engine) pushMediaState(ctx context.Context) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	e.mu.Lock()
	st := proto.MediaState{Audio: !e.micMuted, Video: e.camOn}
	e.mu.Unlock()
	if err := c.Request(ctx, proto.TypeMediaState, st, nil); err != nil {
		return fmt.Errorf("media state: %w", err)
	}
	return nil
}

// sendMediaState tells the server our state right after joining a call;
// a failure only costs the others a correct initial mute indicator.
func (e *Engine) sendMediaState(ctx context.Context) {
	if err := e.pushMediaState(ctx); err != nil {
		e.log.Warn("initial media state not sent", "err", err)
	}
}

func decode(body []byte, v any) error {
	return proto.DecodeBody(proto.Frame{Type: "reply", Body: body}, v)
}

// Package ui is termcall's terminal user interface: a Bubble Tea program
// driven by the call engine's events.
package ui

import (
	"context"
	"time"

	"github.com/termcall/termcall/callcore"
)

// Engine is the part of the call engine the TUI uses (*callcore.Engine
// implements it). Every method but Subscribe is called inside a tea.Cmd.
type Engine interface {
	Subscribe(h func(callcore.Event)) (cancel func())
	Login(ctx context.Context, userID, userSig string) error
	Call(ctx context.Context, userID string, callType callcore.CallType, timeout int) (callcore.CallInfo, error)
	GroupCall(ctx context.Context, userIDs []string, callType callcore.CallType, groupID string) (callcore.CallInfo, error)
	Accept(ctx context.Context, inviteID string, roomID uint32, callType callcore.CallType) error
	Reject(ctx context.Context, inviteID string, isBusy bool, callType callcore.CallType) error
	Hangup(ctx context.Context) error
	SwitchToAudioCall(ctx context.Context) error
	SwitchToVideoCall(ctx context.Context) error
	SetMicMute(ctx context.Context, mute bool) error
	OpenCamera(ctx context.Context) error
	CloseCamera(ctx context.Context) error
	StartRemoteView(userID, viewID string) error
	StopRemoteView(userID, viewID string) error
	StartLocalView(viewID string) error
	StopLocalView(viewID string) error
	WatchPresence(ctx context.Context, users []string) ([]callcore.Presence, error)
	SetSelfInfo(ctx context.Context, info callcore.SelfInfo) error
}

// Presence is one contact's status.
type Presence = callcore.Presence

// EventPresence is the engine event carrying a presence change.
const EventPresence = callcore.EventPresence

// PeerStats is the transport quality towards one call member.
type PeerStats struct {
	RTT  time.Duration
	Loss float64 // fraction of packets lost, 0..1
	Path Path
}

// Path says how media with a member travels.
type Path int

const (
	PathUnknown Path = iota // ICE has not selected a candidate pair yet
	PathDirect              // peer to peer (host, srflx or prflx candidates)
	PathRelayed             // through a TURN server on either side
)

// StatsSource reports per-member transport stats. It is optional: without
// it the call screen shows no quality indicator.
type StatsSource interface {
	CallStats() map[string]PeerStats
}

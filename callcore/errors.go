package callcore

import (
	"errors"

	"github.com/termcall/termcall/server/proto"
)

// Sentinel errors returned by the engine. Errors the server answered with
// come back as a wrapped *proto.Error instead (use errors.As).
var (
	// ErrNotLoggedIn is returned by calls that need a logged-in engine.
	ErrNotLoggedIn = errors.New("callcore: not logged in")
	// ErrWrongState is returned when a call does not fit the engine's
	// state as known locally (call while in a call, hangup while idle, ...).
	ErrWrongState = errors.New("callcore: wrong state")
	// ErrInvalidArgument is returned for a bad userID, call type, timeout,
	// view name or an empty invitee list.
	ErrInvalidArgument = errors.New("callcore: invalid argument")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("callcore: engine closed")
	// ErrNoInvitation is returned by Accept/Reject when no matching
	// invitation is ringing.
	ErrNoInvitation = errors.New("callcore: no such invitation")
)

// Codes for ERROR events of errors that did not come from the server.
const (
	codeInvalidArgument = proto.CodeBadRequest
	codeNotLoggedIn     = proto.CodeNotLoggedIn
	codeNoInvitation    = proto.CodeUnknownInvite
	codeWrongState      = proto.CodeWrongState
	codeInternal        = proto.CodeInternal
)

// Codes of ERROR events raised by the client itself. 600xx are
// TRTCCalling's own; 601xx are termcall's. Never renumber.
const (
	CodeSwitchToAudioFailed = 60001 // SwitchToAudioCall refused or failed
	CodeSwitchToVideoFailed = 60002 // SwitchToVideoCall refused or failed
	CodeNoMicrophone        = 60003 // no microphone could be opened
	CodeNoCamera            = 60004 // no camera could be opened
	CodeMediaFailed         = 60101 // media with a member never connected
	CodeICEServer           = 60102 // an ICE (STUN/TURN) server cannot be used
	CodeUnsupportedCodec    = 60103 // a member sent a codec termcall cannot decode
)

// CodedError is an engine error that carries a TRTCCalling code (e.g.
// 60002 for a failed switch to video) over whatever caused it; the cause
// stays reachable with errors.Is/As.
type CodedError struct {
	Code int
	Err  error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// ErrorCode gives the code an ERROR event carries for err: a CodedError's
// code, the server's code for a *proto.Error, the matching protocol code
// for the sentinels above, 5000 for anything else and 0 for nil.
func ErrorCode(err error) int {
	var perr *proto.Error
	var cerr *CodedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cerr):
		return cerr.Code
	case errors.As(err, &perr):
		return perr.Code
	case errors.Is(err, ErrNotLoggedIn):
		return codeNotLoggedIn
	case errors.Is(err, ErrWrongState):
		return codeWrongState
	case errors.Is(err, ErrInvalidArgument):
		return codeInvalidArgument
	case errors.Is(err, ErrNoInvitation):
		return codeNoInvitation
	default:
		return codeInternal
	}
}

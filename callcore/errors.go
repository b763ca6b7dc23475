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

// ErrorCode gives the code an ERROR event carries for err: the server's
// code for a *proto.Error, the matching protocol code for the sentinels
// above, 5000 for anything else and 0 for nil.
func ErrorCode(err error) int {
	var perr *proto.Error
	switch {
	case err == nil:
		return 0
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

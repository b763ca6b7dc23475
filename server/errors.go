package server

import (
	"errors"

	"github.com/termcall/termcall/server/proto"
)

// Sentinel errors returned by the server's Go API.
var (
	// ErrInvalidOptions wraps every problem New finds in Options.
	ErrInvalidOptions = errors.New("invalid server options")
	// ErrServerClosed is returned by Start after Shutdown.
	ErrServerClosed = errors.New("server closed")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("server already started")
	// ErrGroupsFile wraps problems in a groups file.
	ErrGroupsFile = errors.New("invalid groups file")
)

// Protocol errors shared by several handlers. Each answer gets its own copy
// through errf so that messages can carry details.
func errf(code int, format string, args ...any) *proto.Error {
	return proto.Errorf(code, format, args...)
}

func errNotLoggedIn() *proto.Error { return errf(proto.CodeNotLoggedIn, "log in first") }

func errNotInCall() *proto.Error { return errf(proto.CodeWrongState, "you are not in a call") }

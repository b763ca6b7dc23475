package headless

import (
	"errors"

	"github.com/termcall/termcall/callcore"
)

// Sentinel errors. Command errors are printed as ERROR lines and do not stop
// the runner; the others end Run.
var (
	// ErrUnknownCommand is a command line whose first word is not a command.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrBadArgs is a known command with missing, extra or invalid arguments.
	ErrBadArgs = errors.New("bad arguments")
	// ErrWaitTimeout is a wait whose event did not come in time.
	ErrWaitTimeout = errors.New("wait timed out")
	// ErrBadOptions is an Options value Run cannot start with.
	ErrBadOptions = errors.New("bad options")
	// ErrLogin is a login refused at start; Run returns it wrapped.
	ErrLogin = errors.New("login failed")
)

// Codes of the ERROR lines the runner prints itself. Failed engine calls carry
// the engine's code (callcore.ErrorCode); these reuse the protocol's meanings
// so that a script sees one code space.
const (
	// CodeBadArgs: a command's arguments are missing or invalid (protocol bad_request).
	CodeBadArgs = 4000
	// CodeUnknownCommand: no such command (protocol unknown_type).
	CodeUnknownCommand = 4004
	// CodeWaitTimeout: a wait ran out before its event came.
	CodeWaitTimeout = 4080
	// CodeInternal: an engine call failed without a code of its own.
	CodeInternal = 5000
)

// errorCode is the code of the ERROR line for a failed command.
func errorCode(err error) int {
	switch {
	case errors.Is(err, ErrWaitTimeout):
		return CodeWaitTimeout
	case errors.Is(err, ErrBadArgs):
		return CodeBadArgs
	}
	if n := callcore.ErrorCode(err); n != 0 {
		return n
	}
	return CodeInternal
}

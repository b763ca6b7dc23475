package load

import "errors"

var (
	// ErrBadTarget: --server is not a websocket URL with a host.
	ErrBadTarget = errors.New("not a ws:// or wss:// URL with a host")
	// ErrRemoteRefused: --server names a host that is not loopback and
	// was not named by --allow-remote.
	ErrRemoteRefused = errors.New("remote server refused")
	// ErrInvalidOptions: the options cannot describe a run.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrTooManyUsers: the users do not fit under the open-file limit.
	ErrTooManyUsers = errors.New("too many users for the open-file limit")
)

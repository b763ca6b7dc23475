package signal

import "errors"

// Errors returned by the client.
var (
	// ErrBadConfig is returned by Dial for a Config without a server URL
	// (or with both URL and URLs).
	ErrBadConfig = errors.New("signal: bad config")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("signal: client closed")
	// ErrNotConnected is returned by requests made while the connection is
	// down or a reconnect has not finished its resume hook yet.
	ErrNotConnected = errors.New("signal: not connected")
	// ErrDisconnected is returned by requests whose connection dropped
	// before the answer came; the server may or may not have applied them.
	ErrDisconnected = errors.New("signal: connection lost before reply")
	// ErrStaleConn is returned by a Conn handle whose connection is gone.
	ErrStaleConn = errors.New("signal: connection handle is stale")
	// ErrUntrustedCert is a wss:// server whose certificate does not verify
	// against the configured roots (or does not name the host dialled).
	ErrUntrustedCert = errors.New("server certificate is not trusted")
)

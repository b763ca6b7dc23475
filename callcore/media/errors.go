package media

import "errors"

// Errors.
var (
	ErrBadOptions = errors.New("media: bad options")
	ErrClosed     = errors.New("media: session closed")
)

package netsim

import "errors"

// ErrBadConfig reports a Config out of range.
var ErrBadConfig = errors.New("netsim: bad config")

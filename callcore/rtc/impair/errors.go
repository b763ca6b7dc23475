package impair

import "errors"

// ErrBadConfig reports a Config out of range.
var ErrBadConfig = errors.New("impair: bad config")

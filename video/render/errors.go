package render

import "errors"

// ErrUnknownKind is returned by ParseKind for an unknown renderer name.
var ErrUnknownKind = errors.New("render: unknown renderer")

package vp8

// #cgo pkg-config: vpx
// #include "tc_vpx.h"
import "C"

import "fmt"

func vpxErr(op string, code C.int) error {
	return fmt.Errorf("%w: %s: %s (%d)", ErrCodec, op, C.GoString(C.tc_err_string(code)), int(code))
}

package server

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gorilla/websocket"
)

// frameReader parses the frames a client sends on a websocket (RFC 6455,
// no extensions) from bytes fed to it as they arrive, so that a connection
// read on readiness (poller) needs no goroutine while it waits for the rest
// of a frame. It keeps bytes only while a frame or a fragmented message is
// incomplete; between messages it holds nothing.
type frameReader struct {
	limit   int    // the largest message, in bytes
	partial []byte // the start of a frame not complete yet
	msg     []byte // a fragmented message's payload so far
	msgOp   int    // its opcode (text or binary); 0: none in progress
}

// wsMessage is what a frame reader hands on: a whole data message, or a
// control frame (ping, pong, close).
type wsMessage struct {
	op   int // websocket.TextMessage, BinaryMessage, PingMessage, PongMessage, CloseMessage
	data []byte
}

// wsError is a protocol violation: the connection is closed with code.
type wsError struct {
	code int
	text string
}

func (e *wsError) Error() string { return fmt.Sprintf("websocket: %s (close %d)", e.text, e.code) }

var errNeedMore = errors.New("need more")

// feed parses the frames in b, after any partial frame kept from before,
// and calls fn for each message in order. The data fn gets is valid only
// during the call. It returns a *wsError on a protocol violation or a
// message over the limit, or fn's error; after an error the reader must not
// be fed again.
func (r *frameReader) feed(b []byte, fn func(wsMessage) error) error {
	if len(r.partial) > 0 {
		r.partial = append(r.partial, b...)
		b = r.partial
	}
	for len(b) > 0 {
		n, err := r.frame(b, fn)
		if errors.Is(err, errNeedMore) {
			break
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	if len(b) == 0 {
		r.partial = nil
		return nil
	}
	// Keep the rest; copy it, for b may be the caller's buffer (or the
	// tail of partial itself, which append would overlap).
	r.partial = append([]byte(nil), b...)
	return nil
}

// frame parses one frame at the start of b and returns its length, or
// errNeedMore when b holds only part of it.
func (r *frameReader) frame(b []byte, fn func(wsMessage) error) (int, error) {
	if len(b) < 2 {
		return 0, errNeedMore
	}
	fin := b[0]&0x80 != 0
	if b[0]&0x70 != 0 {
		return 0, &wsError{websocket.CloseProtocolError, "reserved bits set"}
	}
	op := int(b[0] & 0x0f)
	if b[1]&0x80 == 0 {
		return 0, &wsError{websocket.CloseProtocolError, "client frame not masked"}
	}
	size, hdr := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, errNeedMore
		}
		size, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, errNeedMore
		}
		size, hdr = binary.BigEndian.Uint64(b[2:]), 10
	}
	control := op >= websocket.CloseMessage
	switch {
	case control && (!fin || size > 125):
		return 0, &wsError{websocket.CloseProtocolError, "bad control frame"}
	case control && op != websocket.CloseMessage && op != websocket.PingMessage && op != websocket.PongMessage,
		!control && op > websocket.BinaryMessage:
		return 0, &wsError{websocket.CloseProtocolError, fmt.Sprintf("unknown opcode %d", op)}
	case op == 0 && r.msgOp == 0:
		return 0, &wsError{websocket.CloseProtocolError, "continuation frame without a message"}
	case op != 0 && !control && r.msgOp != 0:
		return 0, &wsError{websocket.CloseProtocolError, "new message inside a fragmented one"}
	case !control && size > uint64(r.limit-len(r.msg)):
		// Before the payload is buffered: a header announcing 2^63 bytes
		// costs nothing.
		return 0, &wsError{websocket.CloseMessageTooBig, "message too big"}
	}
	if len(b) < hdr+4 || uint64(len(b)-hdr-4) < size {
		return 0, errNeedMore
	}
	key := b[hdr : hdr+4]
	payload := b[hdr+4 : hdr+4+int(size)]
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	n := hdr + 4 + int(size)
	switch {
	case control:
		return n, fn(wsMessage{op: op, data: payload})
	case fin && r.msgOp == 0:
		return n, fn(wsMessage{op: op, data: payload})
	case r.msgOp == 0:
		r.msgOp, r.msg = op, append([]byte(nil), payload...)
		return n, nil
	default:
		r.msg = append(r.msg, payload...)
		if !fin {
			return n, nil
		}
		m := wsMessage{op: r.msgOp, data: r.msg}
		r.msgOp, r.msg = 0, nil
		return n, fn(m)
	}
}

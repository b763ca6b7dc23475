package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gorilla/websocket"
)

// clientFrame builds a masked frame as a client sends it.
func clientFrame(fin bool, op int, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126, 0, 0)
		binary.BigEndian.PutUint16(out[2:], uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

type got struct {
	op   int
	data string
}

func collect(t *testing.T, r *frameReader, chunks ...[]byte) ([]got, error) {
	t.Helper()
	var out []got
	for _, c := range chunks {
		err := r.feed(bytes.Clone(c), func(m wsMessage) error {
			out = append(out, got{m.op, string(m.data)})
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestFrameReaderWholeAndSplit(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300) // a 16-bit length
	stream := append(clientFrame(true, websocket.TextMessage, []byte(`{"type":"ping"}`)), clientFrame(true, websocket.TextMessage, long)...)
	stream = append(stream, clientFrame(true, websocket.PingMessage, []byte("p"))...)
	want := []got{{websocket.TextMessage, `{"type":"ping"}`}, {websocket.TextMessage, string(long)}, {websocket.PingMessage, "p"}}

	r := &frameReader{limit: 1024}
	ms, err := collect(t, r, stream)
	if err != nil || len(ms) != 3 || ms[0] != want[0] || ms[1] != want[1] || ms[2] != want[2] {
		t.Fatalf("in one read: %v %v", ms, err)
	}
	// One byte at a time: the same messages, and nothing kept afterwards.
	r = &frameReader{limit: 1024}
	var chunks [][]byte
	for i := range stream {
		chunks = append(chunks, stream[i:i+1])
	}
	ms, err = collect(t, r, chunks...)
	if err != nil || len(ms) != 3 || ms[0] != want[0] || ms[1] != want[1] || ms[2] != want[2] {
		t.Fatalf("byte by byte: %v %v", ms, err)
	}
	if r.partial != nil || r.msg != nil {
		t.Fatalf("kept %d+%d bytes between messages", len(r.partial), len(r.msg))
	}
}

func TestFrameReaderFragmented(t *testing.T) {
	stream := clientFrame(false, websocket.TextMessage, []byte("hel"))
	stream = append(stream, clientFrame(true, websocket.PingMessage, nil)...) // control frames may interleave
	stream = append(stream, clientFrame(false, 0, []byte("lo "))...)
	stream = append(stream, clientFrame(true, 0, []byte("world"))...)
	ms, err := collect(t, &frameReader{limit: 64}, stream)
	if err != nil || len(ms) != 2 || ms[0].op != websocket.PingMessage || ms[1] != (got{websocket.TextMessage, "hello world"}) {
		t.Fatalf("%v %v", ms, err)
	}
}

func TestFrameReaderRefuses(t *testing.T) {
	unmasked := clientFrame(true, websocket.TextMessage, []byte("hi"))
	unmasked[1] &^= 0x80
	reserved := clientFrame(true, websocket.TextMessage, []byte("hi"))
	reserved[0] |= 0x40
	huge := []byte{0x81, 0x80 | 127}
	huge = binary.BigEndian.AppendUint64(huge, 1<<62) // announced, never sent
	for name, tc := range map[string]struct {
		in   []byte
		code int
	}{
		"unmasked":           {unmasked, websocket.CloseProtocolError},
		"reserved bits":      {reserved, websocket.CloseProtocolError},
		"unknown opcode":     {clientFrame(true, 3, nil), websocket.CloseProtocolError},
		"long control":       {clientFrame(true, websocket.PingMessage, bytes.Repeat([]byte("p"), 126)), websocket.CloseProtocolError},
		"fragmented control": {clientFrame(false, websocket.PingMessage, nil), websocket.CloseProtocolError},
		"lone continuation":  {clientFrame(true, 0, []byte("x")), websocket.CloseProtocolError},
		"nested message":     {append(clientFrame(false, websocket.TextMessage, []byte("a")), clientFrame(true, websocket.TextMessage, []byte("b"))...), websocket.CloseProtocolError},
		"over the limit":     {clientFrame(true, websocket.TextMessage, bytes.Repeat([]byte("x"), 65)), websocket.CloseMessageTooBig},
		"fragments over it":  {append(clientFrame(false, websocket.TextMessage, bytes.Repeat([]byte("x"), 40)), clientFrame(true, 0, bytes.Repeat([]byte("x"), 40))...), websocket.CloseMessageTooBig},
		"announced 2^62":     {huge, websocket.CloseMessageTooBig},
	} {
		_, err := collect(t, &frameReader{limit: 64}, tc.in)
		var we *wsError
		if !errors.As(err, &we) || we.code != tc.code {
			t.Errorf("%s: %v, want close %d", name, err, tc.code)
		}
	}
}

// Any bytes, cut anywhere: the reader never panics, and where the cut
// falls changes nothing (the messages, the error).
func FuzzFrameReader(f *testing.F) {
	f.Add(append(clientFrame(false, websocket.TextMessage, []byte("ab")), clientFrame(true, 0, []byte("cd"))...), uint8(3))
	f.Add(clientFrame(true, websocket.CloseMessage, []byte{3, 232}), uint8(1))
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(5))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		whole, werr := collect(t, &frameReader{limit: 64}, stream)
		at := min(int(cut), len(stream))
		split, serr := collect(t, &frameReader{limit: 64}, stream[:at], stream[at:])
		if (werr == nil) != (serr == nil) || len(whole) != len(split) {
			t.Fatalf("whole: %v %v; cut at %d: %v %v", whole, werr, at, split, serr)
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("message %d: %v, cut at %d: %v", i, whole[i], at, split[i])
			}
		}
	})
}

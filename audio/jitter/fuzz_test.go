package jitter

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzJitterBuffer drives the buffer with arbitrary packets and clock
// steps: it must never panic, never hold more than MaxPackets, and only
// hand out payloads that were pushed.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 20, 1, 0, 1, 0, 0, 3, 192, 20})
	f.Add([]byte{255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The first byte picks the start delay (0: the default, MinDelay).
		var start time.Duration
		if len(data) > 0 {
			start = time.Duration(data[0]%40) * time.Millisecond
			data = data[1:]
		}
		b, err := New(Config{MaxPackets: 8, StartDelay: start})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		// Each 7-byte record: seq(2) ts(4) op(1). op bit 0: pop; bits 1-7: clock step in ms.
		for len(data) >= 7 {
			seq := binary.BigEndian.Uint16(data)
			ts := binary.BigEndian.Uint32(data[2:])
			op := data[6]
			data = data[7:]
			now = now.Add(time.Duration(op>>1) * time.Millisecond)
			b.Push(seq, ts, []byte{byte(seq), byte(seq >> 8)}, now)
			if op&1 == 1 {
				fr := b.Pop(now)
				if fr.Kind == KindPacket && (len(fr.Payload) != 2 || fr.Payload[0] != byte(fr.Seq)) {
					t.Fatalf("popped payload %v for seq %d", fr.Payload, fr.Seq)
				}
			}
			if b.Len() > 8 {
				t.Fatalf("buffer holds %d packets, max 8", b.Len())
			}
		}
		_ = b.Stats()
	})
}

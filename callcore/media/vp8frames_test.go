package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// vp8Pkts builds the packets of one frame: a descriptor with S on the
// first, the marker on the last, and the frame's bytes split evenly.
func vp8Pkts(seq uint16, ts uint32, data []byte, n int) []*rtp.Packet {
	var out []*rtp.Packet
	step := (len(data) + n - 1) / n
	for i := 0; i < n; i++ {
		lo, hi := i*step, min((i+1)*step, len(data))
		desc := byte(0x00)
		if i == 0 {
			desc = 0x10
		}
		out = append(out, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == n-1},
			Payload: append([]byte{desc}, data[lo:hi]...),
		})
	}
	return out
}

type asmRun struct {
	t   *testing.T
	a   *vp8Assembler
	now time.Time
	got []vp8Frame
}

func (r *asmRun) push(ps ...*rtp.Packet) {
	for _, p := range ps {
		r.got = append(r.got, r.a.push(p, r.now)...)
	}
}

func (r *asmRun) want(frames ...[]byte) {
	r.t.Helper()
	if len(r.got) != len(frames) {
		r.t.Fatalf("released %d frames, want %d", len(r.got), len(frames))
	}
	for i, f := range frames {
		if !bytes.Equal(r.got[i].data, f) {
			r.t.Fatalf("frame %d = %x, want %x", i, r.got[i].data, f)
		}
	}
}

func frameBytes(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestAssemblerReleasesOnMarker(t *testing.T) {
	r := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	f1 := frameBytes(1, 30)
	p := vp8Pkts(10, 1000, f1, 3)
	r.push(p[0], p[1])
	r.want() // not yet: the last packet is missing
	r.push(p[2])
	r.want(f1) // at once, without waiting for the next frame
	if r.got[0].lossBefore {
		t.Fatal("first frame reported loss")
	}
}

func TestAssemblerReordersWithinAndAcrossFrames(t *testing.T) {
	r := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	f1, f2 := frameBytes(1, 40), frameBytes(2, 40)
	a, b := vp8Pkts(65534, 4294967000, f1, 4), vp8Pkts(2, 5704, f2, 2) // seq and timestamp both wrap
	r.push(a[2], a[0], b[0], a[3], b[1])
	r.want() // f1 misses a[1]; f2 is complete but must wait for f1
	r.push(a[1])
	r.want(f1, f2)
	for i, f := range r.got {
		if f.lossBefore {
			t.Fatalf("frame %d reported loss", i)
		}
	}
	r.push(a[1], b[0]) // late duplicates are ignored
	r.want(f1, f2)
}

func TestAssemblerGivesUpAndReportsLoss(t *testing.T) {
	r := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	f1, f2, f3 := frameBytes(1, 20), frameBytes(2, 20), frameBytes(3, 20)
	a, b, c := vp8Pkts(100, 0, f1, 2), vp8Pkts(102, 3000, f2, 2), vp8Pkts(104, 6000, f3, 2)
	r.push(a...)
	r.push(b[1]) // b[0] is lost for good
	r.now = r.now.Add(frameWait + time.Millisecond)
	r.push(c...)
	r.want(f1, f3)
	if !r.got[1].lossBefore {
		t.Fatal("the frame after a lost one must report loss")
	}
	// A whole frame missing (sequence gap between frames) is loss too.
	r2 := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	r2.push(vp8Pkts(1, 0, f1, 1)...)
	r2.push(vp8Pkts(3, 6000, f3, 1)...) // seq 2 (another frame) is missing
	r2.want(f1)                         // f3 waits for the frame in the gap
	r2.now = r2.now.Add(frameWait + time.Millisecond)
	f4 := frameBytes(4, 20)
	r2.push(vp8Pkts(4, 9000, f4, 1)...) // it never came
	r2.want(f1, f3, f4)
	if !r2.got[1].lossBefore || r2.got[2].lossBefore {
		t.Fatal("a sequence gap between frames must report loss, once")
	}
	// A frame lost whole and retransmitted in time fills the gap: no loss.
	r3 := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	r3.push(vp8Pkts(1, 0, f1, 1)...)
	r3.push(vp8Pkts(3, 6000, f3, 1)...)
	r3.push(vp8Pkts(2, 3000, f2, 1)...) // the NACKed frame arrives
	r3.want(f1, f2, f3)
	for i, f := range r3.got {
		if f.lossBefore {
			t.Fatalf("frame %d reported loss after the gap was filled", i)
		}
	}
}

func TestAssemblerBoundsAndGarbage(t *testing.T) {
	r := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	// Many frames that never complete: memory stays bounded.
	for i := range 1000 {
		r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i * 3), Timestamp: uint32(i * 3000)}, Payload: []byte{0x10, 1}})
	}
	if n := len(r.a.pending); n > maxPendingFrames {
		t.Fatalf("%d frames pending", n)
	}
	r.push(&rtp.Packet{Payload: nil}, &rtp.Packet{Payload: []byte{0x80}}) // empty and truncated descriptors
	// A sender that restarts its clock far in the past is followed.
	r2 := &asmRun{t: t, a: newVP8Assembler(), now: time.Unix(100, 0)}
	r2.push(vp8Pkts(1, 3_000_000_000, frameBytes(1, 5), 1)...)
	for i := range maxFramePackets + 2 {
		r2.push(vp8Pkts(uint16(500+i), uint32(10+i*3000), frameBytes(9, 5), 1)...)
	}
	if len(r2.got) < 2 {
		t.Fatalf("assembler did not follow a restarted clock: %d frames", len(r2.got))
	}
}

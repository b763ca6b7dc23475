package device

import "encoding/binary"

// ring is a fixed-size FIFO of int16 samples shared by the audio callback
// thread and Go callers; the owner serialises access with its mutex.
type ring struct {
	buf  []int16
	head int // index of the oldest sample
	n    int // samples held
}

func newRing(capacity int) *ring { return &ring{buf: make([]int16, capacity)} }

func (r *ring) free() int { return len(r.buf) - r.n }

// writeBytesLE appends little-endian int16 samples, dropping the oldest ones
// when full; it returns how many samples were dropped.
func (r *ring) writeBytesLE(b []byte) (dropped int) {
	for i := 0; i+1 < len(b); i += 2 {
		if r.n == len(r.buf) {
			r.head = (r.head + 1) % len(r.buf)
			r.n--
			dropped++
		}
		r.buf[(r.head+r.n)%len(r.buf)] = int16(binary.LittleEndian.Uint16(b[i:]))
		r.n++
	}
	return dropped
}

// write appends samples; the caller ensures there is room.
func (r *ring) write(s []int16) {
	for _, v := range s {
		r.buf[(r.head+r.n)%len(r.buf)] = v
		r.n++
	}
}

// read moves len(dst) samples out; the caller ensures they are there.
func (r *ring) read(dst []int16) {
	for i := range dst {
		dst[i] = r.buf[r.head]
		r.head = (r.head + 1) % len(r.buf)
	}
	r.n -= len(dst)
}

// readBytesLE fills b with little-endian samples and zeros once the ring is
// empty; it returns how many samples were missing.
func (r *ring) readBytesLE(b []byte) (missing int) {
	for i := 0; i+1 < len(b); i += 2 {
		var v int16
		if r.n > 0 {
			v = r.buf[r.head]
			r.head = (r.head + 1) % len(r.buf)
			r.n--
		} else {
			missing++
		}
		binary.LittleEndian.PutUint16(b[i:], uint16(v))
	}
	return missing
}

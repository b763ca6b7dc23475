package audio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
)

// maxWAVBytes bounds the PCM data loaded into memory (~46 min of 48 kHz stereo).
const maxWAVBytes = 512 << 20

// WAVReader is a Source that plays a 16-bit PCM WAV file. The file is loaded
// into memory, stereo is downmixed to mono, and any sample rate is linearly
// resampled to the target format's rate. With loop set it starts over at the
// end; otherwise the last frame is padded with zeros and the next ReadFrame
// returns io.EOF.
type WAVReader struct {
	mu       sync.Mutex
	samples  []int16 // mono at the target rate
	pos      int
	loop     bool
	channels int
	ended    bool
}

// OpenWAV loads path for format f (whose Channels is the output channel
// count: mono data is copied to each channel).
func OpenWAV(path string, f Format, loop bool) (*WAVReader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open wav: %w", err)
	}
	defer fh.Close()
	mono, rate, err := decodeWAV(bufio.NewReader(fh))
	if err != nil {
		return nil, fmt.Errorf("wav %s: %w", path, err)
	}
	if len(mono) == 0 {
		return nil, fmt.Errorf("wav %s: %w: no samples", path, ErrBadWAV)
	}
	return &WAVReader{samples: resampleLinear(mono, rate, f.SampleRate), loop: loop, channels: max(f.Channels, 1)}, nil
}

// ReadWAV loads a 16-bit PCM WAV file at its own sample rate: mono
// samples (stereo is downmixed) and the rate. For tools that process a
// file as it is (termcall dsp); sources use OpenWAV.
func ReadWAV(path string) ([]int16, int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open wav: %w", err)
	}
	defer fh.Close()
	mono, rate, err := decodeWAV(bufio.NewReader(fh))
	if err != nil {
		return nil, 0, fmt.Errorf("wav %s: %w", path, err)
	}
	return mono, rate, nil
}

// decodeWAV parses a RIFF/WAVE stream of 16-bit PCM and returns mono samples
// and the sample rate.
func decodeWAV(r io.Reader) ([]int16, int, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("%w: short header", ErrBadWAV)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not a RIFF/WAVE file", ErrBadWAV)
	}
	var (
		haveFmt  bool
		channels int
		rate     int
		bits     int
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, 0, fmt.Errorf("%w: no data chunk", ErrBadWAV)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("%w: short fmt chunk", ErrBadWAV)
			}
			tag := binary.LittleEndian.Uint16(b[0:2])
			channels = int(binary.LittleEndian.Uint16(b[2:4]))
			rate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits = int(binary.LittleEndian.Uint16(b[14:16]))
			if tag == 0xFFFE && size >= 40 {
				tag = binary.LittleEndian.Uint16(b[24:26]) // sub-format GUID starts with the tag
			}
			if tag != 1 {
				return nil, 0, fmt.Errorf("%w: encoding tag %#x, want PCM (1)", ErrBadWAV, tag)
			}
			if bits != 16 {
				return nil, 0, fmt.Errorf("%w: %d-bit samples, want 16-bit", ErrBadWAV, bits)
			}
			if channels != 1 && channels != 2 {
				return nil, 0, fmt.Errorf("%w: %d channels, want mono or stereo", ErrBadWAV, channels)
			}
			if rate < 1000 || rate > 384000 {
				return nil, 0, fmt.Errorf("%w: sample rate %d", ErrBadWAV, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: data before fmt chunk", ErrBadWAV)
			}
			// Streams written without seeking carry a size of 0 or 0xFFFFFFFF:
			// read to the end then, within the memory bound.
			lim := size
			if size == 0 || size == 0xFFFFFFFF || size > maxWAVBytes {
				lim = maxWAVBytes + 1
			}
			data, err := io.ReadAll(io.LimitReader(r, lim))
			if err != nil {
				return nil, 0, fmt.Errorf("read wav data: %w", err)
			}
			if len(data) > maxWAVBytes {
				return nil, 0, fmt.Errorf("%w: data larger than %d MiB", ErrBadWAV, maxWAVBytes>>20)
			}
			frames := len(data) / (2 * channels)
			mono := make([]int16, frames)
			for i := range frames {
				if channels == 1 {
					mono[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
					continue
				}
				l := int32(int16(binary.LittleEndian.Uint16(data[4*i:])))
				rr := int32(int16(binary.LittleEndian.Uint16(data[4*i+2:])))
				mono[i] = int16((l + rr) / 2)
			}
			return mono, rate, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return nil, 0, fmt.Errorf("%w: truncated %q chunk", ErrBadWAV, id)
			}
		}
	}
}

// resampleLinear converts in from rate `from` to rate `to` by linear
// interpolation; good enough for test tones and speech prompts.
func resampleLinear(in []int16, from, to int) []int16 {
	if from == to || len(in) == 0 {
		return in
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]int16, max(n, 1))
	ratio := float64(from) / float64(to)
	for i := range out {
		x := float64(i) * ratio
		j := int(x)
		if j >= len(in)-1 {
			out[i] = in[len(in)-1]
			continue
		}
		frac := x - float64(j)
		out[i] = int16(float64(in[j])*(1-frac) + float64(in[j+1])*frac)
	}
	return out
}

// ReadFrame fills pcm with the next samples (see WAVReader for end handling).
func (w *WAVReader) ReadFrame(pcm []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.samples == nil {
		return ErrClosed
	}
	if len(pcm)%w.channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrFrameSize, len(pcm), w.channels)
	}
	if w.ended {
		return io.EOF
	}
	for i := 0; i < len(pcm); i += w.channels {
		var v int16
		if w.pos >= len(w.samples) && w.loop {
			w.pos = 0
		}
		if w.pos < len(w.samples) {
			v = w.samples[w.pos]
			w.pos++
		}
		for c := 0; c < w.channels; c++ {
			pcm[i+c] = v
		}
	}
	if !w.loop && w.pos >= len(w.samples) {
		w.ended = true
	}
	return nil
}

// Close releases the samples.
func (w *WAVReader) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = nil
	return nil
}

// WAVWriter is a Sink that writes a 16-bit PCM WAV file. The header's sizes
// are filled in on Close; a file not closed has zero sizes, which OpenWAV
// still reads.
type WAVWriter struct {
	mu       sync.Mutex
	f        *os.File
	bw       *bufio.Writer
	channels int
	rate     int
	bytes    int64
	buf      []byte
}

// CreateWAV creates (or truncates) path for frames of format f.
func CreateWAV(path string, f Format) (*WAVWriter, error) {
	if f.Channels < 1 || f.SampleRate <= 0 {
		return nil, fmt.Errorf("create wav: %w: %+v", ErrFrameSize, f)
	}
	fh, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create wav: %w", err)
	}
	w := &WAVWriter{f: fh, bw: bufio.NewWriterSize(fh, 64<<10), channels: f.Channels, rate: f.SampleRate}
	if _, err := w.bw.Write(w.header(0)); err != nil {
		fh.Close()
		return nil, fmt.Errorf("write wav header: %w", err)
	}
	return w, nil
}

func (w *WAVWriter) header(dataBytes int64) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(min(36+dataBytes, 0xFFFFFFFF)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(w.channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(w.rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(w.rate*w.channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(w.channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(min(dataBytes, 0xFFFFFFFF)))
	return h
}

// WriteFrame appends pcm to the file.
func (w *WAVWriter) WriteFrame(pcm []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return ErrClosed
	}
	if len(pcm)%w.channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrFrameSize, len(pcm), w.channels)
	}
	w.buf = w.buf[:0]
	for _, s := range pcm {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(s))
	}
	if _, err := w.bw.Write(w.buf); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	w.bytes += int64(len(w.buf))
	return nil
}

// Close flushes the data, writes the final header and closes the file.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	err := w.bw.Flush()
	if err == nil {
		_, err = f.WriteAt(w.header(w.bytes), 0)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close wav: %w", err)
	}
	return nil
}

package video

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

const y4mMagic = "YUV4MPEG2"

// Y4M reads 4:2:0 frames from a YUV4MPEG2 stream and loops back to the
// first frame at end of file. It is safe for concurrent use.
type Y4M struct {
	mu        sync.Mutex
	rs        io.ReadSeeker
	closer    io.Closer
	br        *bufio.Reader
	w, h      int
	fpsN      int
	fpsD      int
	dataStart int64
	frames    int
	closed    bool
}

// OpenY4M opens a Y4M file.
func OpenY4M(path string) (*Y4M, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: open y4m: %w", err)
	}
	y, err := NewY4M(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	y.closer = f
	return y, nil
}

// NewY4M reads the stream header from rs.
func NewY4M(rs io.ReadSeeker) (*Y4M, error) {
	br := bufio.NewReaderSize(rs, 64<<10)
	line, err := readLine(br, 1024)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrY4MHeader, err)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != y4mMagic {
		return nil, fmt.Errorf("%w: missing %s signature", ErrY4MHeader, y4mMagic)
	}
	y := &Y4M{rs: rs, br: br, fpsN: 0, fpsD: 1, dataStart: int64(len(line) + 1)}
	for _, fld := range fields[1:] {
		val := fld[1:]
		switch fld[0] {
		case 'W':
			y.w, err = strconv.Atoi(val)
		case 'H':
			y.h, err = strconv.Atoi(val)
		case 'F':
			n, d, ok := strings.Cut(val, ":")
			if !ok {
				return nil, fmt.Errorf("%w: frame rate %q", ErrY4MHeader, val)
			}
			if y.fpsN, err = strconv.Atoi(n); err == nil {
				y.fpsD, err = strconv.Atoi(d)
			}
		case 'C':
			// 4:2:0 variants differ only in chroma siting, which we ignore.
			if !strings.HasPrefix(val, "420") {
				return nil, fmt.Errorf("%w: C%s", ErrY4MChroma, val)
			}
		case 'I':
			if val != "p" && val != "?" {
				return nil, fmt.Errorf("%w: interlaced (I%s) not supported", ErrY4MHeader, val)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrY4MHeader, fld, err)
		}
	}
	if y.w <= 0 || y.h <= 0 || y.w > MaxWidth || y.h > MaxHeight {
		return nil, fmt.Errorf("%w: %dx%d (max %dx%d)", ErrBadSize, y.w, y.h, MaxWidth, MaxHeight)
	}
	return y, nil
}

// Size returns the frame size from the header.
func (y *Y4M) Size() (w, h int) { return y.w, y.h }

// FPS returns the header frame rate (0 if absent).
func (y *Y4M) FPS() float64 {
	if y.fpsD == 0 {
		return 0
	}
	return float64(y.fpsN) / float64(y.fpsD)
}

// ReadFrame returns the next frame, restarting at the first frame at EOF.
func (y *Y4M) ReadFrame(ctx context.Context) (*Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.closed {
		return nil, ErrClosed
	}
	f, err := y.readFrame()
	if errors.Is(err, io.EOF) {
		if y.frames == 0 {
			return nil, fmt.Errorf("%w: file has no frames", ErrY4MFrame)
		}
		if _, err := y.rs.Seek(y.dataStart, io.SeekStart); err != nil {
			return nil, fmt.Errorf("video: y4m rewind: %w", err)
		}
		y.br.Reset(y.rs)
		y.frames = 0
		f, err = y.readFrame()
	}
	if err != nil {
		return nil, err
	}
	y.frames++
	return f, nil
}

func (y *Y4M) readFrame() (*Frame, error) {
	line, err := readLine(y.br, 1024)
	if err != nil {
		if errors.Is(err, io.EOF) && line == "" {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: %w", ErrY4MFrame, err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return nil, fmt.Errorf("%w: expected FRAME, got %.20q", ErrY4MFrame, line)
	}
	f := NewFrame(y.w, y.h)
	for _, p := range [][]byte{f.Y, f.U, f.V} {
		if _, err := io.ReadFull(y.br, p); err != nil {
			return nil, fmt.Errorf("%w: truncated frame: %w", ErrY4MFrame, err)
		}
	}
	return f, nil
}

// Close closes the underlying file.
func (y *Y4M) Close() error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.closed {
		return nil
	}
	y.closed = true
	if y.closer != nil {
		return y.closer.Close()
	}
	return nil
}

// readLine reads up to '\n' (not included), refusing lines over max bytes.
func readLine(br *bufio.Reader, max int) (string, error) {
	var buf bytes.Buffer
	for {
		b, err := br.ReadByte()
		if err != nil {
			return buf.String(), err
		}
		if b == '\n' {
			return buf.String(), nil
		}
		if buf.Len() >= max {
			return "", fmt.Errorf("line longer than %d bytes", max)
		}
		buf.WriteByte(b)
	}
}

// WriteY4M writes frames as a 4:2:0 Y4M stream at fps (used by tests and tools).
func WriteY4M(w io.Writer, fps int, frames ...*Frame) error {
	if len(frames) == 0 {
		return fmt.Errorf("%w: no frames", ErrY4MFrame)
	}
	fw, fh := frames[0].Width, frames[0].Height
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s W%d H%d F%d:1 Ip A1:1 C420jpeg\n", y4mMagic, fw, fh, fps)
	for _, f := range frames {
		if f.Width != fw || f.Height != fh {
			return fmt.Errorf("%w: frame %dx%d in a %dx%d stream", ErrBadSize, f.Width, f.Height, fw, fh)
		}
		bw.WriteString("FRAME\n")
		cw, ch := f.ChromaSize()
		writePlane(bw, f.Y, f.YStride, fw, fh)
		writePlane(bw, f.U, f.UStride, cw, ch)
		writePlane(bw, f.V, f.VStride, cw, ch)
	}
	return bw.Flush()
}

func writePlane(w *bufio.Writer, p []byte, stride, pw, ph int) {
	for y := 0; y < ph; y++ {
		w.Write(p[y*stride : y*stride+pw])
	}
}

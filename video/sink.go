package video

import (
	"bufio"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Sink consumes decoded frames. WriteFrame must not keep f after it returns.
type Sink interface {
	WriteFrame(f *Frame) error
	Close() error
}

// NullSink discards frames.
type NullSink struct{}

// WriteFrame implements Sink.
func (NullSink) WriteFrame(*Frame) error { return nil }

// Close implements Sink.
func (NullSink) Close() error { return nil }

// DirSink writes frames as PNG files named frame-000001.png, frame-000002.png...
// into a directory, at most MaxPerSec per second; frames arriving sooner are
// dropped (counted by Dropped). It is safe for concurrent use.
type DirSink struct {
	dir      string
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	last    time.Time
	seq     int
	dropped int
	closed  bool
}

// DirSinkOption configures a DirSink.
type DirSinkOption func(*DirSink)

// WithClock replaces time.Now (tests drive the rate limit with it).
func WithClock(now func() time.Time) DirSinkOption { return func(d *DirSink) { d.now = now } }

// WithLogger sets the logger (nil keeps a discarding logger).
func WithLogger(l *slog.Logger) DirSinkOption {
	return func(d *DirSink) {
		if l != nil {
			d.log = l
		}
	}
}

// NewDirSink creates dir if needed. maxPerSec <= 0 means no limit.
func NewDirSink(dir string, maxPerSec float64, opts ...DirSinkOption) (*DirSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("video: dir sink: %w", err)
	}
	d := &DirSink{dir: dir, now: time.Now, log: slog.New(slog.DiscardHandler)}
	if maxPerSec > 0 {
		d.interval = time.Duration(float64(time.Second) / maxPerSec)
	}
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// FileName returns the path of the seq'th written frame (1-based).
func (d *DirSink) FileName(seq int) string {
	return filepath.Join(d.dir, fmt.Sprintf("frame-%06d.png", seq))
}

// WriteFrame writes f as the next PNG unless the rate limit drops it.
func (d *DirSink) WriteFrame(f *Frame) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if err := f.Validate(); err != nil {
		return err
	}
	now := d.now()
	if d.seq > 0 && d.interval > 0 && now.Sub(d.last) < d.interval {
		d.dropped++
		return nil
	}
	name := d.FileName(d.seq + 1)
	// Write to a temp name and rename, so a reader never sees half a PNG.
	tmp := name + ".tmp"
	file, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("video: dir sink: %w", err)
	}
	bw := bufio.NewWriter(file)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	err = enc.Encode(bw, f.ToRGBA())
	if err == nil {
		err = bw.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("video: dir sink: %w", err)
	}
	d.seq++
	d.last = now
	d.log.Debug("video frame saved", "file", name, "w", f.Width, "h", f.Height)
	return nil
}

// Written returns how many frames were saved.
func (d *DirSink) Written() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seq
}

// Dropped returns how many frames the rate limit dropped.
func (d *DirSink) Dropped() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Close stops further writes.
func (d *DirSink) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// ReadPNG loads a PNG written by DirSink back into a Frame (for tests and tools).
func ReadPNG(path string) (*Frame, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: read png: %w", err)
	}
	defer file.Close()
	img, err := png.Decode(bufio.NewReader(file))
	if err != nil {
		return nil, fmt.Errorf("video: read png %s: %w", path, err)
	}
	return FromImage(img), nil
}

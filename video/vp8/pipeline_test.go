package vp8

import (
	"context"
	"testing"
	"time"

	"github.com/termcall/termcall/video"
)

// TestPipelineToPNG runs what a call does with --video-in pattern and
// --video-out dir:DIR, minus the network: pattern at 160x120 -> encoder ->
// decoder -> DirSink, then checks a saved PNG shows the bars.
func TestPipelineToPNG(t *testing.T) {
	in, err := video.ParseInput("pattern")
	if err != nil {
		t.Fatal(err)
	}
	cfg := video.Config{Width: 160, Height: 120, FPS: 30}
	src, err := video.OpenInput(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := video.ParseOutput("dir:" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sink, err := video.OpenOutput(out, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	enc, err := NewEncoder(EncoderConfig{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	err = video.Pump(ctx, src, cfg.FPS, func(f *video.Frame, pts int64) error {
		data, _, err := enc.Encode(f, pts)
		if err != nil || data == nil {
			return err
		}
		g, err := dec.Decode(data)
		if err != nil {
			return err
		}
		if err := sink.WriteFrame(g); err != nil {
			return err
		}
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := sink.(*video.DirSink)
	if ds.Written() == 0 {
		t.Fatal("no PNG written")
	}
	f, err := video.ReadPNG(ds.FileName(ds.Written()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 160 || f.Height != 120 {
		t.Fatalf("saved frame %dx%d", f.Width, f.Height)
	}
	if err := video.CheckPattern(f, 16); err != nil {
		t.Fatal(err)
	}
}

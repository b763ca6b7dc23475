package camera

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/termcall/termcall/video"
)

func TestOpenErrors(t *testing.T) {
	cfg := video.DefaultConfig()
	missing := filepath.Join(t.TempDir(), "video7")
	_, err := Open(missing, cfg)
	if !errors.Is(err, video.ErrNoCamera) || !strings.Contains(err.Error(), "--video-in pattern") {
		t.Fatalf("missing device: %v", err)
	}
	// Not a V4L2 device: the capability query fails with ENOTTY.
	if _, err := os.Stat("/dev/null"); err == nil {
		_, err := Open("/dev/null", cfg)
		if !errors.Is(err, ErrCapture) || !errors.Is(err, syscall.ENOTTY) {
			t.Fatalf("/dev/null: %v", err)
		}
	}
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := Open(file, cfg); !errors.Is(err, ErrCapture) {
		t.Fatalf("regular file: %v", err)
	}
	// Through video.OpenInput with the opener wired in.
	spec, _ := video.ParseInput("camera:" + file)
	if _, err := video.OpenInput(spec, cfg, video.WithCamera(Opener)); !errors.Is(err, ErrCapture) {
		t.Fatalf("OpenInput camera: %v", err)
	}
	spec, _ = video.ParseInput("camera:" + missing)
	if _, err := video.OpenInput(spec, cfg, video.WithCamera(Opener)); !errors.Is(err, video.ErrNoCamera) {
		t.Fatalf("OpenInput missing camera: %v", err)
	}
}

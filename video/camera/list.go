package camera

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Info describes a capture device for listings.
type Info struct {
	Path  string // /dev/videoN
	Label string // the driver's name for it (sysfs), else the path
}

// List returns the video devices there are now, in path order. It reads
// the file system only (/dev/video*, their names in sysfs) and opens no
// device: a camera in use by another program is listed too. Not every
// node captures (some are metadata nodes); opening one that does not
// fails with a clear error.
func List() ([]Info, error) { return listIn("/dev", "/sys/class/video4linux") }

func listIn(devDir, sysDir string) ([]Info, error) {
	paths, err := filepath.Glob(filepath.Join(devDir, "video*"))
	if err != nil {
		return nil, fmt.Errorf("list cameras: %w", err)
	}
	sort.Slice(paths, func(i, j int) bool { return naturalLess(paths[i], paths[j]) })
	out := make([]Info, 0, len(paths))
	for _, p := range paths {
		label := p
		if b, err := os.ReadFile(filepath.Join(sysDir, filepath.Base(p), "name")); err == nil {
			if n := strings.TrimSpace(string(b)); n != "" {
				label = n
			}
		}
		out = append(out, Info{Path: p, Label: label})
	}
	return out, nil
}

// naturalLess orders video2 before video10.
func naturalLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

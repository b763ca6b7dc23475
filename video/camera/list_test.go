package camera

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestListNamesDevicesInOrder(t *testing.T) {
	dev, sys := t.TempDir(), t.TempDir()
	for _, n := range []string{"video10", "video2", "video0", "audio0"} {
		if err := os.WriteFile(filepath.Join(dev, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(sys, "video2"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, "video2", "name"), []byte("USB Webcam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := listIn(dev, sys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{
		{Path: filepath.Join(dev, "video0"), Label: filepath.Join(dev, "video0")},
		{Path: filepath.Join(dev, "video2"), Label: "USB Webcam"},
		{Path: filepath.Join(dev, "video10"), Label: filepath.Join(dev, "video10")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listIn = %+v\nwant %+v", got, want)
	}
}

package headless

import (
	"fmt"
	"time"

	"github.com/termcall/termcall/callcore"
)

// Lines headless mode prints for the device commands.
const (
	// EventDevices answers devices: the three listings, as
	// callcore.DeviceLists marshals them.
	EventDevices = "DEVICES"
	// EventDeviceSwitched confirms a switchDevice: the device is in use.
	EventDeviceSwitched = "DEVICE_SWITCHED"
)

func parseSwitchDevice(c *command, a []string) error {
	k, err := callcore.ParseDeviceKind(a[0])
	if err != nil {
		return fmt.Errorf("%q is not camera, microphone or speaker", a[0])
	}
	c.kind, c.deviceID = k, a[1]
	return nil
}

// devices prints one DEVICES line.
func (r *runner) devices() error {
	l, err := r.eng.GetDevices()
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	r.emit(EventDevices, time.Now(), l)
	return nil
}

// switchDevice switches and confirms with DEVICE_SWITCHED; a failure is
// the caller's ERROR line, and the call goes on with the old device.
func (r *runner) switchDevice(c command) error {
	if err := r.eng.SwitchDevice(c.kind, c.deviceID); err != nil {
		return fmt.Errorf("switchDevice: %w", err)
	}
	r.emit(EventDeviceSwitched, time.Now(), struct {
		Kind     callcore.DeviceKind `json:"kind"`
		DeviceID string              `json:"deviceId"`
	}{c.kind, c.deviceID})
	return nil
}

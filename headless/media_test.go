package headless

import (
	"testing"
	"time"

	"github.com/termcall/termcall/netsim"
)

func TestImpairedNet(t *testing.T) {
	// No impairment: no Net at all, so media opens sockets as pion does by
	// default (and a nil *netsim.Net never hides in the interface).
	n, err := DefaultMediaOptions().impairedNet()
	if err != nil || n != nil {
		t.Fatalf("impairedNet without flags = %v, %v; want nil, nil", n, err)
	}
	o := DefaultMediaOptions()
	o.ImpairLoss, o.ImpairJitter = 0.05, 30*time.Millisecond
	n, err = o.impairedNet()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n.(*netsim.Net); !ok {
		t.Fatalf("impairedNet with flags is %T, want *netsim.Net", n)
	}
	o.ImpairLoss = 0.6
	if n, err := o.impairedNet(); err == nil || n != nil {
		t.Fatalf("impairedNet with loss 0.6 = %v, %v; want an error", n, err)
	}
}

package rtc

import (
	"testing"
	"time"
)

// A call on one host's loopback is direct: host candidates both sides,
// over UDP, and the path is known on both sides once the peers are up.
func TestMeshPathLoopbackIsHostHostUDP(t *testing.T) {
	t.Parallel()
	sides, _ := newPair(t, "alice", "bob")
	if _, ok := sides["alice"].mesh.Path("bob"); ok {
		t.Fatal("a path before bob was added")
	}
	connectPair(t, sides, "alice", "bob")
	want := Path{Local: "host", Remote: "host", Protocol: "udp"}
	for _, c := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		var got Path
		waitFor(t, c[0]+"'s path to "+c[1], 5*time.Second, func() bool {
			var ok bool
			got, ok = sides[c[0]].mesh.Path(c[1])
			return ok
		})
		if got != want {
			t.Errorf("%s's path to %s = %+v, want %+v", c[0], c[1], got, want)
		}
		if got.Relayed() {
			t.Errorf("%+v reported relayed", got)
		}
	}
}

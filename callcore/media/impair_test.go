package media

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v5/stdnet"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/netsim"
	"github.com/termcall/termcall/server/proto"
)

// TestImpairedCallRecovers: bob's inbound path loses 5 % and jitters
// 30 ms. He keeps hearing alice's tone (loss concealed) and keeps seeing
// her video (NACK or PLI repair it) without a freeze of a second.
func TestImpairedCallRecovers(t *testing.T) {
	// Not parallel: it judges freezes in half-second windows, which a loaded
	// machine lengthens.
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	// bob's network: the media package only sees a transport.Net; the
	// test keeps the impairment to read what it did.
	bobNet, err := netsim.NewNet(std, netsim.Config{Loss: 0.05, Jitter: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []Stats // bob's stats of alice
	c := newCallWith(t, map[string]float64{"alice": 440, "bob": 880}, proto.CallTypeVideo, func(id string, o *Options) {
		if id != "bob" {
			return
		}
		o.Net = bobNet
		keep := o.OnStats
		o.OnStats = func(s Stats) {
			keep(s)
			if s.UserID == "alice" {
				mu.Lock()
				lines = append(lines, s)
				mu.Unlock()
			}
		}
	})
	b := c.peers["bob"]
	b.sess.SetViews(callcore.ViewTable{Remote: map[string][]string{"alice": {"main"}}})
	c.connect("alice", "bob")
	waitFor(t, "bob hears and sees alice", 15*time.Second, func() bool {
		s, ok := b.latest("alice")
		return ok && within(s.Audio.FrequencyHz, 440, 0.02) && s.Audio.LevelDBFS > -30 && within(s.Video.FPS, 15, 0.3)
	})
	mu.Lock()
	from := len(lines)
	mu.Unlock()
	const judged = 8 // lines of 500 ms
	waitFor(t, "4 s of stats", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lines) >= from+judged
	})
	mu.Lock()
	got := append([]Stats(nil), lines[from:from+judged]...)
	mu.Unlock()
	for i, s := range got {
		t.Logf("%d: %.1f Hz %.1f dBFS lost %d concealed %d fec %d | %.1f fps freeze %.0f ms dropped %d nacks %d plis %d",
			i, s.Audio.FrequencyHz, s.Audio.LevelDBFS, s.Audio.PacketsLost, s.Audio.Concealed, s.Audio.FECRecovered,
			s.Video.FPS, s.Video.FreezeMs, s.Video.FramesDropped, s.Video.NACKsSent, s.Video.PLIsSent)
		// A burst of losses that FEC cannot cover is concealed, and the
		// concealment's phase jump moves one half-second's estimate by a
		// few per cent (452 Hz seen): each line is alice's tone within 5 %
		// (bob's own is 880 Hz), and their median within 1 %.
		if !within(s.Audio.FrequencyHz, 440, 0.05) || s.Audio.LevelDBFS <= -30 {
			t.Errorf("line %d: tone %.1f Hz at %.1f dBFS, want 440 Hz above -30 dBFS", i, s.Audio.FrequencyHz, s.Audio.LevelDBFS)
		}
		if s.Video.FreezeMs >= 1000 {
			t.Errorf("line %d: video froze for %.0f ms", i, s.Video.FreezeMs)
		}
	}
	freqs := make([]float64, len(got))
	for i, s := range got {
		freqs[i] = s.Audio.FrequencyHz
	}
	slices.Sort(freqs)
	if med := freqs[len(freqs)/2]; !within(med, 440, 0.01) {
		t.Errorf("median tone %.1f Hz over %d lines, want 440 Hz", med, len(freqs))
	}
	last := got[len(got)-1]
	if last.Audio.PacketsLost == 0 || last.Audio.Concealed == 0 {
		t.Errorf("audio lost %d, concealed %d: want loss, concealed", last.Audio.PacketsLost, last.Audio.Concealed)
	}
	// Video is ~15 small packets a second, so a few seconds at 5 % loss
	// can pass without losing one (0.95^60 is 5 %): wait for the first
	// loss to be repaired rather than assume it happened already.
	waitFor(t, "a NACK or PLI for lost video", 20*time.Second, func() bool {
		s, _ := b.latest("alice")
		return s.Video.NACKsSent+s.Video.PLIsSent > 0
	})
	st := bobNet.Stats()
	if st.Dropped == 0 {
		t.Errorf("bob's impairment stats %+v", st)
	}
	t.Logf("bob's inbound datagrams: %+v", st)
}

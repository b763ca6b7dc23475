package e2e_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// shapedLink is two namespaces joined by one veth pair, whose two ends
// can be shaped with tbf (a home uplink and downlink):
//
//	a: 10.202.0.1 (termcall serve, alice) ── veth ── b: 10.202.0.2 (bob)
//
// Names start with labPrefix and the pid, so sweepStaleLabs removes what a
// killed run leaves behind.
type shapedLink struct {
	t    *testing.T
	A, B string
}

const (
	shapedAIP = "10.202.0.1"
	shapedBIP = "10.202.0.2"
)

func newShapedLink(t *testing.T) *shapedLink {
	t.Helper()
	newLabSkipChecks(t)
	id := fmt.Sprintf("%s%d-%d-", labPrefix, os.Getpid(), labSeq.Add(1))
	l := &shapedLink{t: t, A: id + "a", B: id + "b"}
	var made []string
	t.Cleanup(func() {
		for _, ns := range made {
			if err := labRun("ip", "netns", "del", ns); err != nil {
				t.Errorf("shaped link cleanup: %v", err)
			}
		}
	})
	for _, ns := range []string{l.A, l.B} {
		if err := labRun("ip", "netns", "add", ns); err != nil {
			t.Skipf("shaped link: %v", err)
		}
		made = append(made, ns)
		l.must("ip", "-n", ns, "link", "set", "lo", "up")
	}
	l.must("ip", "-n", l.A, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", l.B)
	l.must("ip", "-n", l.A, "addr", "add", shapedAIP+"/24", "dev", "veth0")
	l.must("ip", "-n", l.B, "addr", "add", shapedBIP+"/24", "dev", "veth0")
	l.must("ip", "-n", l.A, "link", "set", "veth0", "up")
	l.must("ip", "-n", l.B, "link", "set", "veth0", "up")
	return l
}

// newLabSkipChecks skips where namespaces or tc cannot be used.
func newLabSkipChecks(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("shaped link: %s not installed: %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("shaped link: network namespaces need root")
	}
	sweepStaleLabs(t)
}

func (l *shapedLink) must(args ...string) {
	l.t.Helper()
	if err := labRun(args...); err != nil {
		l.t.Fatalf("shaped link: %v", err)
	}
}

// Limit shapes both directions to kbit kbit/s (tbf: a bucket of 6 kB, at
// most 80 ms queued, the rest dropped, as a home router's buffer does).
func (l *shapedLink) Limit(kbit int) {
	l.t.Helper()
	for _, ns := range []string{l.A, l.B} {
		l.must("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "veth0", "root", "tbf",
			"rate", fmt.Sprintf("%dkbit", kbit), "burst", "6kb", "latency", "80ms")
	}
}

// Unlimit removes the shaping.
func (l *shapedLink) Unlimit() {
	l.t.Helper()
	for _, ns := range []string{l.A, l.B} {
		l.must("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "veth0", "root")
	}
}

// shapedKbit is the link the test shapes to, both ways.
const shapedKbit = 200

// TestShapedLinkAdapts: alice sends a source that needs the bitrate
// (pattern:busy) to bob over a link shaped to 200 kbit/s both ways. Within
// 10 s her sendKbps is below the link; then, for 10 s, bob hears her tone
// in at least 90 % of the one-second windows and sees her video at 5 fps
// or more, never frozen for 1.5 s. When the limit lifts, her sendKbps
// climbs back above 250 within 20 s.
func TestShapedLinkAdapts(t *testing.T) {
	l := newShapedLink(t)
	s := runServe(t, l.A, "--addr", shapedAIP+":0")
	alice := s.startClient(t, "alice", clientOpts{media: true, netns: l.A,
		args: []string{"--audio-in", "tone:440", "--video-in", "pattern:busy"}})
	bob := s.startClient(t, "bob", clientOpts{media: true, netns: l.B,
		args: []string{"--audio-in", "tone:880", "--video-in", "none", "--auto-accept"}})

	alice.Send(t, "call bob video 60")
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	open := alice.Expect(t, "STATS", mediaWait, func(ev event) bool {
		return str(ev, "userID") == "bob" && fnum(ev, "sendKbps") > 0
	})
	// A few seconds unshaped: what the source costs on an open link.
	var unshaped []float64
	prev := open
	for range 4 {
		prev = alice.Expect(t, "STATS", 5*time.Second, after(prev, fromUser("bob")))
		unshaped = append(unshaped, fnum(prev, "sendKbps"))
	}
	t.Logf("unshaped: alice sends %v kbit/s", roundAll(unshaped))

	l.Limit(shapedKbit)
	limited := time.Now()
	// Within 10 s: below the link (two lines in a row, so that one
	// quiet second does not count).
	var sendLog []float64
	below := 0
	var adaptedAt time.Duration
	for below < 2 {
		prev = alice.Expect(t, "STATS", 5*time.Second, after(prev, fromUser("bob")))
		k := fnum(prev, "sendKbps")
		sendLog = append(sendLog, k)
		if k < shapedKbit {
			below++
		} else {
			below = 0
		}
		if time.Since(limited) > 10*time.Second {
			// Go on: what bob gets then is worth seeing too.
			t.Errorf("alice still sends %.0f kbit/s 10 s after the link was shaped to %d kbit/s: %v", k, shapedKbit, roundAll(sendLog))
			break
		}
	}
	adaptedAt = time.Since(limited)
	t.Logf("shaped to %d kbit/s: alice below it after %v (sendKbps %v)", shapedKbit, adaptedAt.Round(100*time.Millisecond), roundAll(sendLog))

	// 10 s of judged windows at bob.
	const windows = 10
	// Bob's lines from the moment alice was below the link (both clients
	// stamp ts from this machine's clock).
	adaptedTS := fnum(prev, "ts")
	bprev := bob.Expect(t, "STATS", 5*time.Second, func(ev event) bool {
		return fromUser("alice")(ev) && fnum(ev, "ts") >= adaptedTS
	})
	heard := 0
	var report strings.Builder
	var held []float64
	for i := range windows {
		bprev = bob.Expect(t, "STATS", 5*time.Second, after(bprev, fromUser("alice")))
		a, v := sub(bprev, "audio"), sub(bprev, "video")
		if hears("alice", 440)(bprev) {
			heard++
		}
		fps, freeze := fnum(v, "fps"), fnum(v, "freezeMs")
		fmt.Fprintf(&report, "  %2d: tone %.0f Hz %.1f dBFS lost %v | video %vx%v %.1f fps freeze %.0f ms, keyframes %v nacks %v plis %v dropped %v\n",
			i, fnum(a, "frequencyHz"), fnum(a, "levelDBFS"), a["packetsLost"], v["width"], v["height"], fps, freeze,
			v["keyframes"], v["nacksSent"], v["plisSent"], v["framesDropped"])
		if fps < 5 {
			t.Errorf("window %d: alice's video at bob runs at %.1f fps, want 5 or more", i, fps)
		}
		if freeze >= 1500 {
			t.Errorf("window %d: alice's video froze for %.0f ms", i, freeze)
		}
		prev = alice.Expect(t, "STATS", 5*time.Second, after(prev, fromUser("bob")))
		held = append(held, fnum(prev, "sendKbps"))
		snd := sub(prev, "send")
		fmt.Fprintf(&report, "      alice: estimate %.0f kbit/s (loss %.1f %%, feedback %.1f %%, queuing %v) -> %vx%v@%v video %v kbit/s, audio %v kbit/s fec %v %%\n",
			fnum(snd, "estimateKbps"), 100*fnum(snd, "linkLoss"), 100*fnum(snd, "feedbackLoss"), snd["queuing"],
			snd["width"], snd["height"], snd["fps"], snd["videoKbps"], snd["audioKbps"], snd["lossPerc"])
	}
	t.Logf("bob, on the shaped link (alice sending %v kbit/s):\n%s", roundAll(held), report.String())
	if heard*10 < windows*9 {
		t.Errorf("bob heard alice's tone in %d of %d windows, want 90 %% or more", heard, windows)
	}

	l.Unlimit()
	lifted := time.Now()
	var climb []float64
	for {
		prev = alice.Expect(t, "STATS", 5*time.Second, after(prev, fromUser("bob")))
		k := fnum(prev, "sendKbps")
		climb = append(climb, k)
		if k > 250 {
			break
		}
		if time.Since(lifted) > 20*time.Second {
			t.Errorf("alice sends %.0f kbit/s 20 s after the limit lifted, want above 250: %v", k, roundAll(climb))
			break
		}
	}
	t.Logf("limit lifted: alice above 250 kbit/s after %v (%v)", time.Since(lifted).Round(100*time.Millisecond), roundAll(climb))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

func fromUser(id string) func(event) bool {
	return func(ev event) bool { return str(ev, "userID") == id }
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x)
	}
	return out
}

// TestVideoQualityAndViewSize: setVideoQuality 360p makes the far side
// decode 640x360; a view of 160x120 there makes the sender send no
// larger; when that view goes, the full size comes back.
func TestVideoQualityAndViewSize(t *testing.T) {
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "none", "--auto-accept")

	alice.Send(t, "setVideoQuality 360p")
	alice.Send(t, "call bob video 30")
	sized := func(w, h int) func(event) bool {
		return func(ev event) bool {
			v := sub(ev, "video")
			return fromUser("alice")(ev) && int(fnum(v, "width")) == w && int(fnum(v, "height")) == h && fnum(v, "fps") > 0
		}
	}
	st := bob.Expect(t, "STATS", mediaWait, sized(640, 360))
	t.Logf("360p: bob decodes alice at %vx%v, %.1f fps", sub(st, "video")["width"], sub(st, "video")["height"], fnum(sub(st, "video"), "fps"))
	if q := str(sub(alice.Expect(t, "STATS", mediaWait, fromUser("bob")), "send"), "quality"); q != "360p" {
		t.Errorf("alice's STATS send.quality %q, want 360p", q)
	}

	bob.Send(t, "startRemoteView alice v1 160x120")
	asked := time.Now()
	small := bob.Expect(t, "STATS", mediaWait, func(ev event) bool {
		v := sub(ev, "video")
		w, h := int(fnum(v, "width")), int(fnum(v, "height"))
		return fromUser("alice")(ev) && w > 0 && w <= 160 && h <= 120 && fnum(v, "fps") > 0
	})
	t.Logf("a 160x120 view: alice's video at bob is %vx%v %v after the view was bound",
		sub(small, "video")["width"], sub(small, "video")["height"], time.Since(asked).Round(100*time.Millisecond))
	// It stays small: the next lines are no larger.
	prev := small
	for range 3 {
		prev = bob.Expect(t, "STATS", 5*time.Second, after(prev, fromUser("alice")))
		if v := sub(prev, "video"); fnum(v, "width") > 160 || fnum(v, "height") > 120 {
			t.Errorf("alice's video at bob grew to %vx%v with a 160x120 view", v["width"], v["height"])
		}
	}
	snd := sub(alice.Expect(t, "STATS", 5*time.Second, func(ev event) bool {
		return fromUser("bob")(ev) && fnum(ev, "ts") >= fnum(prev, "ts")
	}), "send")
	if fnum(snd, "width") > 160 || fnum(snd, "height") > 120 {
		t.Errorf("alice sends %vx%v to a 160x120 view", snd["width"], snd["height"])
	}

	bob.Send(t, "stopRemoteView alice v1")
	bob.Expect(t, "STATS", mediaWait, after(prev, sized(640, 360)))
	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

package e2e_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/headless"
)

// impairedLines is how many STATS lines (one a second) the impaired call is
// judged on, after media is flowing.
const impairedLines = 8

// TestMediaSurvivesLossAndJitter runs a call whose media path loses 5 % of
// the datagrams and jitters them by up to 30 ms (in-process, at bob's
// sockets: his inbound path, STUN, DTLS and SRTP alike). bob must keep
// hearing alice's tone, concealing what was lost, and keep seeing her
// video without a freeze of a second or more. Not parallel: it judges fps,
// and on a loaded machine the congestion control rightly reads CPU stalls
// as queueing and steps the video down.
func TestMediaSurvivesLossAndJitter(t *testing.T) {
	s := startServer(t, nil)
	alice := mediaClient(t, s, "alice", "--audio-in", "tone:440", "--video-in", "pattern")
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "none", "--auto-accept",
		"--impair-loss", "0.05", "--impair-jitter", "30ms")

	alice.Send(t, "call bob video 30")
	// The first seconds: ICE, DTLS, the jitter buffer and the first
	// keyframe settle.
	bob.Expect(t, "STATS", mediaWait, hears("alice", 440))
	start := bob.Expect(t, "STATS", mediaWait, seesVideo("alice", 320, 240, 15))

	fromAlice := func(ev event) bool { return str(ev, "userID") == "alice" }
	lines := make([]event, 0, impairedLines)
	for range impairedLines {
		prev := start
		if len(lines) > 0 {
			prev = lines[len(lines)-1]
		}
		lines = append(lines, bob.Expect(t, "STATS", 5*time.Second, after(prev, fromAlice)))
	}

	var report strings.Builder
	maxFreeze, minFPS, maxFPS := 0.0, math.Inf(1), 0.0
	for i, ev := range lines {
		a, v := sub(ev, "audio"), sub(ev, "video")
		hz, level := fnum(a, "frequencyHz"), fnum(a, "levelDBFS")
		fps, freeze := fnum(v, "fps"), fnum(v, "freezeMs")
		maxFreeze, minFPS, maxFPS = max(maxFreeze, freeze), min(minFPS, fps), max(maxFPS, fps)
		report.WriteString(statsLine(a, v))
		if math.Abs(hz-440) > 440*0.02 || level <= -30 {
			t.Errorf("line %d: alice's tone at bob is %.1f Hz at %.1f dBFS, want 440 Hz ±2 %% above -30 dBFS", i, hz, level)
		}
		if freeze >= 1000 {
			t.Errorf("line %d: alice's video froze for %.0f ms", i, freeze)
		}
		if int(fnum(v, "width")) != 320 || int(fnum(v, "height")) != 240 {
			t.Errorf("line %d: video is %vx%v", i, v["width"], v["height"])
		}
	}
	last := lines[len(lines)-1]
	a, v := sub(last, "audio"), sub(last, "video")
	// The frame rate over the whole window: one-second lines swing with
	// the load of a 2-core machine (a late line counts a frame twice),
	// while what is judged is that video keeps coming at its rate.
	frames := fnum(v, "framesDecoded") - fnum(sub(start, "video"), "framesDecoded")
	secs := (fnum(last, "ts") - fnum(start, "ts")) / 1000
	if avg := frames / secs; math.Abs(avg-15) > 15*0.3 {
		t.Errorf("alice's video at bob ran at %.1f fps over %.1f s, want 15 ±30 %%", avg, secs)
	}
	// Loss must really have happened, and been hidden.
	if fnum(a, "packetsLost") == 0 || fnum(a, "concealed") == 0 {
		t.Errorf("audio lost %v and concealed %v packets: the impairment did not bite or was not concealed",
			a["packetsLost"], a["concealed"])
	}
	if fnum(v, "nacksSent")+fnum(v, "plisSent") == 0 {
		// Video is ~15 small packets a second: 8 s at 5 % loss can, rarely,
		// lose none of them. Wait for the first repair instead.
		bob.Expect(t, "STATS", 20*time.Second, func(ev event) bool {
			vv := sub(ev, "video")
			return str(ev, "userID") == "alice" && fnum(vv, "nacksSent")+fnum(vv, "plisSent") > 0
		})
	}
	t.Logf("bob's view of alice under 5 %% loss + 30 ms jitter (freeze max %.0f ms, fps %.1f..%.1f):\n%s",
		maxFreeze, minFPS, maxFPS, report.String())

	alice.Send(t, "hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
}

func TestImpairFlagsValidated(t *testing.T) {
	for _, tt := range []struct {
		loss   float64
		jitter time.Duration
		flag   string
	}{
		{0.6, 0, "--impair-loss"}, {-0.1, 0, "--impair-loss"}, {math.NaN(), 0, "--impair-loss"},
		{0.05, 600 * time.Millisecond, "--impair-jitter"}, {0, -time.Millisecond, "--impair-jitter"},
	} {
		o := headless.Options{ServerURL: "ws://127.0.0.1:1/ws", SDKAppID: 1, UserID: "alice", Secret: "k",
			Media: headless.DefaultMediaOptions()}
		o.Media.AudioIn, o.Media.VideoIn = "silence", "none"
		o.Media.ImpairLoss, o.Media.ImpairJitter = tt.loss, tt.jitter
		var out strings.Builder
		err := headless.Run(t.Context(), o, strings.NewReader("quit\n"), &out)
		if !errors.Is(err, headless.ErrBadOptions) || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("loss %v jitter %v: Run = %v, want ErrBadOptions naming %s", tt.loss, tt.jitter, err, tt.flag)
		}
	}
}

// statsLine formats the fields the test judges, for its log.
func statsLine(a, v map[string]any) string {
	return fmt.Sprintf("  tone %.1f Hz %.1f dBFS | audio recv %v lost %v concealed %v fec %v buffer %.0f ms"+
		" | video %.1f fps freeze %.0f ms decoded %v dropped %v keyframes %v nacks %v plis %v\n",
		fnum(a, "frequencyHz"), fnum(a, "levelDBFS"), a["packetsReceived"], a["packetsLost"], a["concealed"],
		a["fecRecovered"], fnum(a, "bufferDelayMs"), fnum(v, "fps"), fnum(v, "freezeMs"), v["framesDecoded"],
		v["framesDropped"], v["keyframes"], v["nacksSent"], v["plisSent"])
}

package jitter

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const frameTicks = 960

var t0 = time.Unix(1_000_000, 0)

type simPkt struct {
	seq     uint16
	ts      uint32
	payload []byte
	arrive  time.Duration // since t0
}

// stream builds n packets sent every 20 ms, starting at seq0/ts0, each
// delayed by 10 ms plus delay(i). Payloads name their index.
func stream(n int, seq0 uint16, ts0 uint32, delay func(i int) time.Duration) []simPkt {
	out := make([]simPkt, n)
	for i := range out {
		out[i] = simPkt{
			seq:     seq0 + uint16(i),
			ts:      ts0 + uint32(i*frameTicks),
			payload: []byte(fmt.Sprintf("pkt-%04d", i)),
			arrive:  time.Duration(i)*20*time.Millisecond + 10*time.Millisecond + delay(i),
		}
	}
	return out
}

func noDelay(int) time.Duration { return 0 }

// simulate delivers pkts in arrival order and pops every 20 ms (at 5 ms past
// each 20 ms tick) for the given number of pops.
func simulate(b *Buffer, pkts []simPkt, pops int) []Frame {
	pkts = slices.Clone(pkts)
	slices.SortStableFunc(pkts, func(a, c simPkt) int { return int(a.arrive - c.arrive) })
	var out []Frame
	next := 0
	for k := range pops {
		now := time.Duration(k)*20*time.Millisecond + 5*time.Millisecond
		for next < len(pkts) && pkts[next].arrive <= now {
			p := pkts[next]
			b.Push(p.seq, p.ts, p.payload, t0.Add(p.arrive))
			next++
		}
		out = append(out, b.Pop(t0.Add(now)))
	}
	return out
}

func newBuf(t testing.TB, cfg Config) *Buffer {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// played returns the payloads of KindPacket frames in play order.
func played(frames []Frame) []string {
	var out []string
	for _, f := range frames {
		if f.Kind == KindPacket {
			out = append(out, string(f.Payload))
		}
	}
	return out
}

func count(frames []Frame, k Kind) int {
	n := 0
	for _, f := range frames {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// lostBeforeEnd counts KindLost frames before the last played packet (after
// the stream ends the buffer rightly conceals a few frames).
func lostBeforeEnd(frames []Frame) int {
	last := -1
	for i, f := range frames {
		if f.Kind == KindPacket {
			last = i
		}
	}
	return count(frames[:last+1], KindLost)
}

func wantInOrder(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("played %d packets, want %d: %v", len(got), n, got)
	}
	for i, p := range got {
		if want := fmt.Sprintf("pkt-%04d", i); p != want {
			t.Fatalf("position %d played %s, want %s", i, p, want)
		}
	}
}

func TestInOrder(t *testing.T) {
	b := newBuf(t, Config{})
	frames := simulate(b, stream(50, 1000, 5000, noDelay), 60)
	wantInOrder(t, played(frames), 50)
	s := b.Stats()
	if s.Lost != 0 || s.Late != 0 || lostBeforeEnd(frames) != 0 || s.Reordered != 0 || s.Played != 50 {
		t.Errorf("stats %+v, %d concealed", s, lostBeforeEnd(frames))
	}
	// Playout starts after about the minimum delay, not later.
	first := slices.IndexFunc(frames, func(f Frame) bool { return f.Kind == KindPacket })
	if first > 2 {
		t.Errorf("first packet played at pop %d; startup delay too long", first)
	}
}

// simulateFrom is simulate with pops at phase + k*20 ms after t0.
func simulateFrom(b *Buffer, pkts []simPkt, pops int, phase time.Duration) []Frame {
	pkts = slices.Clone(pkts)
	slices.SortStableFunc(pkts, func(a, c simPkt) int { return int(a.arrive - c.arrive) })
	var out []Frame
	next := 0
	for k := range pops {
		now := phase + time.Duration(k)*20*time.Millisecond
		for next < len(pkts) && pkts[next].arrive <= now {
			p := pkts[next]
			b.Push(p.seq, p.ts, p.payload, t0.Add(p.arrive))
			next++
		}
		out = append(out, b.Pop(t0.Add(now)))
	}
	return out
}

// With StartDelay the first packet plays that long after it arrived (a
// caller re-phases its pops to it), instead of after MinDelay.
func TestStartDelay(t *testing.T) {
	pkts := stream(5, 0, 0, noDelay) // first arrives at 10 ms
	for _, c := range []struct {
		cfg  Config
		want Kind // at 20 ms: 10 ms after the first packet
	}{
		{Config{}, KindBuffering},
		{Config{StartDelay: 10 * time.Millisecond}, KindPacket},
	} {
		b := newBuf(t, c.cfg)
		if got := simulateFrom(b, pkts, 1, 20*time.Millisecond)[0].Kind; got != c.want {
			t.Errorf("StartDelay %v: 10 ms after the first packet Pop gives %v, want %v", c.cfg.StartDelay, got, c.want)
		}
	}
	if _, err := New(Config{StartDelay: time.Second}); err == nil {
		t.Error("StartDelay above MaxDelay accepted")
	}
}

// Starting 10 ms after the first packet leaves less room for jitter than
// the default: late packets must make the buffer grow (stretch), never be
// lost.
func TestShortStartGrowsUnderJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	pkts := stream(200, 0, 0, func(i int) time.Duration {
		if i == 0 {
			return 0
		}
		return time.Duration(rng.Float64() * float64(25*time.Millisecond))
	})
	b := newBuf(t, Config{StartDelay: 10 * time.Millisecond})
	frames := simulateFrom(b, pkts, 230, 20*time.Millisecond) // re-phased: first arrival + 10 ms
	if frames[0].Kind != KindPacket {
		t.Fatalf("first pop %v, want the first packet", frames[0].Kind)
	}
	wantInOrder(t, played(frames), 200)
	s := b.Stats()
	if s.Lost != 0 || s.Late != 0 {
		t.Errorf("stats %+v: packets lost or late under jitter within the buffer's range", s)
	}
	if s.Stretched == 0 || s.TargetMs <= 20 {
		t.Errorf("stretched %d, target %.1f ms: the buffer did not grow under 25 ms jitter", s.Stretched, s.TargetMs)
	}
}

func TestReordered(t *testing.T) {
	b := newBuf(t, Config{MinDelay: 40 * time.Millisecond})
	// Every odd packet overtakes its predecessor.
	pkts := stream(60, 7, 0, func(i int) time.Duration {
		if i%2 == 0 {
			return 25 * time.Millisecond
		}
		return 0
	})
	frames := simulate(b, pkts, 75)
	wantInOrder(t, played(frames), 60)
	s := b.Stats()
	if s.Reordered < 25 || s.Lost != 0 || lostBeforeEnd(frames) != 0 {
		t.Errorf("stats %+v, want ~30 reordered and nothing lost", s)
	}
}

func TestDuplicates(t *testing.T) {
	b := newBuf(t, Config{})
	pkts := stream(40, 0, 0, noDelay)
	dup := stream(40, 0, 0, func(int) time.Duration { return 3 * time.Millisecond })
	frames := simulate(b, append(pkts, dup...), 50)
	wantInOrder(t, played(frames), 40)
	// A duplicate of an already played packet is still a duplicate.
	b.Push(0, 0, []byte("again"), t0.Add(time.Second))
	if s := b.Stats(); s.Duplicate != 41 || s.Late != 0 {
		t.Errorf("stats %+v, want 41 duplicates, 0 late", s)
	}
}

func TestLossAndFEC(t *testing.T) {
	b := newBuf(t, Config{})
	var pkts []simPkt
	for _, p := range stream(40, 100, 0, noDelay) {
		if p.seq != 110 && p.seq != 120 && p.seq != 121 {
			pkts = append(pkts, p)
		}
	}
	frames := simulate(b, pkts, 50)
	var lost []Frame
	lastPlayed := slices.IndexFunc(frames, func(f Frame) bool { return string(f.Payload) == "pkt-0039" })
	stretched := 0
	for _, f := range frames[:lastPlayed] {
		if f.Kind != KindLost {
			continue
		}
		// When the buffer runs dry the playout point holds (a stretch
		// frame) and the same slot comes up again: keep the last one.
		if len(lost) > 0 && lost[len(lost)-1].TS == f.TS {
			lost[len(lost)-1] = f
			stretched++
			continue
		}
		lost = append(lost, f)
	}
	if len(lost) != 3 {
		t.Fatalf("%d lost frames, want 3 (seq 110, 120, 121)", len(lost))
	}
	// 110: the next packet (111) is there, so FEC is offered.
	if string(lost[0].FEC) != "pkt-0011" || lost[0].TS != 10*frameTicks {
		t.Errorf("lost 110: FEC %q ts %d, want pkt-0011 at %d", lost[0].FEC, lost[0].TS, 10*frameTicks)
	}
	// 120 is followed by another loss: no FEC; 121 gets 122's FEC.
	if lost[1].FEC != nil || string(lost[2].FEC) != "pkt-0022" {
		t.Errorf("burst: FEC %q then %q, want none then pkt-0022", lost[1].FEC, lost[2].FEC)
	}
	if got := played(frames); len(got) != 37 {
		t.Errorf("played %d, want 37", len(got))
	}
	s := b.Stats()
	if s.Lost != 3 || lostBeforeEnd(frames) != 3+stretched || s.Stretched < uint64(stretched) {
		t.Errorf("stats %+v, want 3 lost and concealed", s)
	}
	// The lost packet turning up afterwards is late, not a duplicate.
	b.Push(110, 10*frameTicks, []byte("late"), t0.Add(2*time.Second))
	if s := b.Stats(); s.Late != 1 || s.Duplicate != 0 {
		t.Errorf("late arrival counted as late %d, duplicate %d", s.Late, s.Duplicate)
	}
}

func TestWraparound(t *testing.T) {
	b := newBuf(t, Config{})
	// Both the sequence number and the timestamp wrap inside the stream.
	frames := simulate(b, stream(40, 65530, 1<<32-5*frameTicks, noDelay), 50)
	wantInOrder(t, played(frames), 40)
	if s := b.Stats(); s.Lost != 0 || s.Resets != 0 || s.Late != 0 {
		t.Errorf("stats %+v", s)
	}
	// Reordering across the wrap.
	b2 := newBuf(t, Config{MinDelay: 40 * time.Millisecond})
	pkts := stream(20, 65528, 1<<32-3*frameTicks, func(i int) time.Duration {
		if i == 7 {
			return 30 * time.Millisecond // seq 65535 arrives after 0
		}
		return 0
	})
	wantInOrder(t, played(simulate(b2, pkts, 30)), 20)
}

func TestDTXGap(t *testing.T) {
	b := newBuf(t, Config{})
	// 20 packets, then the sender is silent for 500 ms (DTX: no packets, seq
	// continues), then 20 more.
	pkts := stream(20, 0, 0, noDelay)
	for _, p := range stream(20, 20, 45*frameTicks, noDelay) {
		p.arrive += 25 * 20 * time.Millisecond
		p.payload = []byte("after-" + string(p.payload))
		pkts = append(pkts, p)
	}
	frames := simulate(b, pkts, 75)
	if got := len(played(frames)); got != 40 {
		t.Fatalf("played %d, want 40", got)
	}
	s := b.Stats()
	// When the sender stops sending, the buffer cannot tell DTX from loss
	// until the next packet: it conceals briefly (≤ ConcealLimit), then plays
	// silence, and counts nothing as lost.
	if s.Lost != 0 || lostBeforeEnd(frames) > b.cfg.ConcealLimit {
		t.Errorf("DTX gap reported as loss: %d lost frames, stats %+v", count(frames, KindLost), s)
	}
	if count(frames, KindSilence) < 20 {
		t.Errorf("only %d silence frames in a 500 ms gap", count(frames, KindSilence))
	}
	// Speech after the gap plays with no extra delay: the first packet after
	// the gap is played within the target delay of its arrival.
	idx := slices.IndexFunc(frames, func(f Frame) bool { return string(f.Payload) == "after-pkt-0000" })
	arrive := 45*20*time.Millisecond + 10*time.Millisecond
	playedAt := time.Duration(idx)*20*time.Millisecond + 5*time.Millisecond
	if d := playedAt - arrive; d > 60*time.Millisecond {
		t.Errorf("first packet after DTX waited %v in the buffer", d)
	}
}

func TestDTXPacketThenSilence(t *testing.T) {
	b := newBuf(t, Config{})
	pkts := stream(10, 0, 0, noDelay)
	pkts[9].payload = []byte{0x78} // a 1-byte DTX packet ends the talk spurt
	frames := simulate(b, pkts, 30)
	if n := count(frames[12:], KindLost); n != 0 {
		t.Errorf("%d lost frames after a DTX packet; want silence", n)
	}
}

func TestOutageConcealsThenSilence(t *testing.T) {
	b := newBuf(t, Config{})
	// 1 s with no packets at all (network outage, packets lost), then more.
	var pkts []simPkt
	for _, p := range stream(150, 0, 0, noDelay) {
		if p.seq < 25 || p.seq >= 75 {
			pkts = append(pkts, p)
		}
	}
	frames := simulate(b, pkts, 160)
	lost := lostBeforeEnd(frames)
	if lost > 2*b.cfg.ConcealLimit {
		t.Errorf("%d concealed frames for a 1 s outage; PLC should give way to silence", lost)
	}
	if count(frames, KindSilence) < 30 {
		t.Errorf("%d silence frames during the outage", count(frames, KindSilence))
	}
	// Back to low delay after the outage.
	if s := b.Stats(); s.DelayMs > 80 {
		t.Errorf("delay %.0f ms after the outage, want it back near the target (%.0f)", s.DelayMs, s.TargetMs)
	}
	got := played(frames)
	if got[len(got)-1] != "pkt-0149" {
		t.Errorf("last played %s", got[len(got)-1])
	}
}

func TestLateDropped(t *testing.T) {
	b := newBuf(t, Config{})
	pkts := stream(30, 0, 0, func(i int) time.Duration {
		if i == 15 {
			return 300 * time.Millisecond
		}
		return 0
	})
	frames := simulate(b, pkts, 40)
	if s := b.Stats(); s.Late != 1 || s.Lost != 1 {
		t.Errorf("stats %+v, want 1 late and 1 lost", s)
	}
	if got := played(frames); len(got) != 29 {
		t.Errorf("played %d, want 29", len(got))
	}
	if s := b.Stats(); s.TargetMs <= 20 {
		t.Errorf("target %.1f ms did not grow after a late packet", s.TargetMs)
	}
}

func TestJitterAdaptation(t *testing.T) {
	b := newBuf(t, Config{})
	rng := rand.New(rand.NewPCG(7, 7))
	const jittery, calm = 500, 1500 // 10 s of 30 ms jitter, then 30 s calm
	pkts := stream(jittery+calm, 0, 0, func(i int) time.Duration {
		if i < jittery {
			return time.Duration(rng.Float64() * float64(30*time.Millisecond))
		}
		return 0
	})
	pkts = slices.DeleteFunc(pkts, func(p simPkt) bool { return p.arrive < 0 })
	var peak, afterJitter Stats
	simPkts := slices.Clone(pkts)
	slices.SortStableFunc(simPkts, func(a, c simPkt) int { return int(a.arrive - c.arrive) })
	next := 0
	var lostDuringJitter uint64
	for k := range jittery + calm {
		now := time.Duration(k)*20*time.Millisecond + 5*time.Millisecond
		for next < len(simPkts) && simPkts[next].arrive <= now {
			p := simPkts[next]
			b.Push(p.seq, p.ts, p.payload, t0.Add(p.arrive))
			next++
		}
		b.Pop(t0.Add(now))
		s := b.Stats()
		if s.TargetMs > peak.TargetMs {
			peak = s
		}
		if k == jittery {
			afterJitter = s
			lostDuringJitter = s.Concealed
		}
	}
	final := b.Stats()
	t.Logf("after jitter: target %.1f ms, jitter %.1f ms, delay %.1f ms, concealed %d, late %d",
		afterJitter.TargetMs, afterJitter.JitterMs, afterJitter.DelayMs, afterJitter.Concealed, afterJitter.Late)
	t.Logf("after calm: target %.1f ms, jitter %.1f ms, delay %.1f ms", final.TargetMs, final.JitterMs, final.DelayMs)
	if afterJitter.TargetMs < 35 {
		t.Errorf("target %.1f ms under 30 ms jitter; want ≥ 35", afterJitter.TargetMs)
	}
	if lostDuringJitter > jittery/20 {
		t.Errorf("%d of %d frames concealed under jitter with no loss", lostDuringJitter, jittery)
	}
	if final.TargetMs > 25 || final.DelayMs > 60 {
		t.Errorf("after calm: target %.1f ms, delay %.1f ms; want them back down (≤ 25, ≤ 60)", final.TargetMs, final.DelayMs)
	}
	if final.Played+final.Lost+final.Skipped < uint64(jittery+calm)-5 {
		t.Errorf("stats %+v do not account for %d packets", final, jittery+calm)
	}
}

func TestStreamReset(t *testing.T) {
	b := newBuf(t, Config{})
	pkts := stream(20, 0, 0, noDelay)
	for _, p := range stream(20, 30000, 1<<31, noDelay) {
		p.arrive += 20 * 20 * time.Millisecond
		pkts = append(pkts, p)
	}
	frames := simulate(b, pkts, 50)
	if got := len(played(frames)); got < 38 {
		t.Errorf("played %d of 40 across a sender restart", got)
	}
	if s := b.Stats(); s.Resets != 1 {
		t.Errorf("resets %d, want 1", s.Resets)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{ClockRate: 10},
		{FrameDuration: time.Hour},
		{MinDelay: time.Second, MaxDelay: time.Millisecond},
		{JitterFactor: -1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	b := newBuf(t, Config{})
	b.Push(1, 1, nil, t0) // empty payloads are ignored
	if b.Len() != 0 {
		t.Error("empty payload buffered")
	}
	if f := b.Pop(t0); f.Kind != KindBuffering {
		t.Errorf("empty buffer pops %v", f.Kind)
	}
}

func BenchmarkJitterPushPop(b *testing.B) {
	buf, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 80)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		buf.Push(uint16(i), uint32(i*frameTicks), payload, now)
		buf.Pop(now)
		i++
	}
}

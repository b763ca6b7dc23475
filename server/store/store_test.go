package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/testnats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestRecordsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, Config{NodeName: "n1", DataDir: dir})
	if !s.Ready() || !strings.Contains(s.Mode(), dir) {
		t.Fatalf("ready %v, mode %q", s.Ready(), s.Mode())
	}
	if err := s.Apply(ctx, []Write{
		{Key: "room.1", Value: []byte(`{"id":1}`)},
		{Key: "room.2", Value: []byte(`{"id":2}`)},
		{Key: "room.1", Delete: true},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s.Ready() {
		t.Error("ready after Close")
	}
	s = open(t, Config{NodeName: "n1", DataDir: dir})
	recs, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || string(recs["room.2"]) != `{"id":2}` {
		t.Errorf("after reopening: %q, want only room.2", recs)
	}
}

func TestMemoryStoreStartsEmpty(t *testing.T) {
	ctx := context.Background()
	s := open(t, Config{NodeName: "n1"})
	if err := s.Apply(ctx, []Write{{Key: "session.alice", Value: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, Config{NodeName: "n1"})
	recs, err := s.Load(ctx)
	if err != nil || len(recs) != 0 {
		t.Errorf("a memory store after restart: %q, %v; want empty", recs, err)
	}
}

func TestBadKeyIsAnError(t *testing.T) {
	s := open(t, Config{NodeName: "n1"})
	if err := s.Apply(context.Background(), []Write{{Key: "has space", Value: []byte("x")}}); err == nil {
		t.Error("a key with a space was stored")
	}
}

func TestOneNodeServesTheState(t *testing.T) {
	url := testnats.URL(t)
	a := open(t, Config{NodeName: "node-a", URLs: []string{url}})
	if !a.Ready() || !strings.Contains(a.Mode(), url) {
		t.Fatalf("ready %v, mode %q", a.Ready(), a.Mode())
	}
	_, err := Open(context.Background(), Config{NodeName: "node-b", URLs: []string{url}})
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), `"node-a"`) {
		t.Fatalf("a second node: %v, want ErrLeaseHeld naming node-a", err)
	}
	// node-a restarted (after a crash: its old lease is still there).
	a2 := open(t, Config{NodeName: "node-a", URLs: []string{url}})
	if !a2.Ready() {
		t.Error("the same node did not take its lease over")
	}
	a.Close()
	a2.Close() // a clean stop frees the lease at once
	b := open(t, Config{NodeName: "node-b", URLs: []string{url}})
	if !b.Ready() {
		t.Error("node-b not ready once node-a stopped")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {NodeName: "has space"}, {NodeName: "n", DataDir: t.TempDir(), URLs: []string{"nats://127.0.0.1:1"}}} {
		if _, err := Open(context.Background(), cfg); err == nil {
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	// No NATS there: a clear error, soon.
	start := time.Now()
	_, err := Open(context.Background(), Config{NodeName: "n", URLs: []string{"nats://127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("no NATS: %v", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("no NATS took %v to say so", d)
	}
}

// A deleted record's marker expires: the bucket holds the live records
// only, whatever number of calls came and went (issue 14: kept for the
// janitor, markers grew the heap by ~1 MB a second at 4,000 invites/s).
// A bucket an older termcall created without marker TTLs gets them.
func TestDeletedRecordsLeaveNothing(t *testing.T) {
	ctx := context.Background()
	url := testnats.URL(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1}); err != nil {
		t.Fatal(err)
	}
	s := open(t, Config{NodeName: "n1", URLs: []string{url}})
	var ws []Write
	for i := range 500 {
		k := "invite." + strconv.Itoa(i)
		ws = append(ws, Write{Key: k, Value: []byte(`{}`)}, Write{Key: k, Delete: true})
	}
	ws = append(ws, Write{Key: "session.alice", Value: []byte(`{}`)})
	if err := s.Apply(ctx, ws); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if msgs = info.State.Msgs; msgs == 2 {
			break
		}
	}
	if msgs != 2 {
		t.Fatalf("the bucket holds %d messages 10 s after 500 records were deleted, want 2 (session.alice and the lease's fence)", msgs)
	}
	recs, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs["session.alice"] == nil {
		t.Errorf("records %q, want only session.alice", recs)
	}
}

// TestStalledNodeIsFenced: a serving node stops refreshing its lease (as if
// stopped by SIGSTOP); once another node has taken the lease over, the
// stalled node's lease is stale by its own clock and its writes are
// refused, while the new holder's are stored.
func TestStalledNodeIsFenced(t *testing.T) {
	ctx := context.Background()
	url := testnats.URL(t)
	stall := make(chan struct{})
	stalled := make(chan struct{}, 1)
	a := open(t, Config{NodeName: "node-a", URLs: []string{url}, Cluster: true, BeforeRefresh: func(ctx context.Context) {
		select {
		case stalled <- struct{}{}:
		default:
		}
		select {
		case <-stall:
		case <-ctx.Done():
		}
	}})
	b := open(t, Config{NodeName: "node-b", URLs: []string{url}, Cluster: true})
	if !a.Fresh() || b.Leader() {
		t.Fatalf("node-a fresh %v, node-b leader %v; want node-a only", a.Fresh(), b.Leader())
	}
	if err := a.Apply(ctx, []Write{{Key: "invite.x", Value: []byte(`{}`)}}); err != nil {
		t.Fatalf("node-a's write while it holds the lease: %v", err)
	}
	<-stalled
	deadline := time.Now().Add(3 * LeaseTTL)
	for !b.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("node-b did not take the lease of the stalled node-a")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a.Fresh() {
		t.Error("node-a's lease is fresh after node-b took it over")
	}
	if !a.Leader() {
		t.Error("node-a noticed the takeover while stalled: the test needs it not to")
	}
	err := a.Apply(ctx, []Write{{Key: "invite.x", Delete: true}})
	if !errors.Is(err, ErrFenced) {
		t.Errorf("stalled node-a's write: %v, want ErrFenced", err)
	}
	if err := b.Apply(ctx, []Write{{Key: "invite.y", Value: []byte(`{}`)}}); err != nil {
		t.Errorf("node-b's write: %v", err)
	}
	recs, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs["invite.x"] == nil || recs["invite.y"] == nil {
		t.Errorf("records %q, want invite.x (the fenced delete not applied) and invite.y", recs)
	}
	close(stall) // node-a resumes: its next refresh finds node-b's lease
	deadline = time.Now().Add(3 * leaseRefresh)
	for a.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("node-a still thinks it holds the lease after resuming")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
		if msgs = info.State.Msgs; msgs == 1 {
			break
		}
	}
	if msgs != 1 {
		t.Fatalf("the bucket holds %d messages 10 s after 500 records were deleted, want 1 (session.alice)", msgs)
	}
	recs, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs["session.alice"] == nil {
		t.Errorf("records %q, want only session.alice", recs)
	}
}

// Package store keeps the signaling server's state in NATS JetStream. It
// runs an in-process NATS server (embedded, the default) or connects to an
// external cluster, and offers the server one key-value bucket of records.
// The server decides what the records mean; this package stores bytes under
// keys, durably when the bucket is file-backed.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// Bucket is the KV bucket of the signaling state.
	Bucket = "termcall_state"
	// LeaseBucket holds the lease of the node that serves the state.
	LeaseBucket = "termcall_nodes"

	leaseKey = "lease"
	// LeaseTTL is how long a lease outlives its node's last refresh: after
	// a node is killed with -9, another node takes over within this long
	// (the same node name takes its lease over at once).
	LeaseTTL     = 5 * time.Second
	leaseRefresh = time.Second
	// leaseFresh is how long after sending its last successful refresh
	// this node counts on its lease (Fresh). The NATS server keeps the
	// record at least LeaseTTL after storing it, and stores it after the
	// send, so no other node can take the lease within this; the margin
	// covers a stall between a check and what it allows.
	leaseFresh = LeaseTTL - 1500*time.Millisecond

	// fenceKey, in Bucket, names the node that last took the lease; its
	// revision is the fence every state write is checked against.
	fenceKey  = "fence"
	fenceSubj = "$KV." + Bucket + "." + fenceKey
	// The JetStream header that points the last-sequence check at another
	// subject (nats-server 2.11+).
	hdrExpectedSubj = "Nats-Expected-Last-Subject-Sequence-Subject"

	readyWait = 10 * time.Second
	opTimeout = 5 * time.Second
	// A deleted record leaves a marker that expires after markerTTL (the
	// bucket's LimitMarkerTTL; JetStream's smallest message TTL). Kept until
	// the janitor's purge, markers were every ended call's and invitation's:
	// at 4,000 invitations a second they grew the heap by ~1 MB a second,
	// and each GC cycle had them to mark (issue 14).
	markerTTL = time.Second
	// Markers without a TTL (a bucket from an older termcall, or a NATS
	// server without per-message TTLs) are purged by the janitor.
	markerAge   = 5 * time.Minute
	janitorTick = 5 * time.Minute
)

// ErrLeaseHeld means another node serves the state this node was given.
var ErrLeaseHeld = errors.New("store: another node serves this state")

// ErrFenced means a write was refused because another node has taken the
// state's lease since this one did: this node must not act on the state.
var ErrFenced = errors.New("store: fenced: another node has taken the state over")

// errLeaseLapsed: the lease ran out while this node held it, so another
// node may have served the state meanwhile.
var errLeaseLapsed = errors.New("store: the lease ran out before it was refreshed")

// Config says where the state lives.
type Config struct {
	// NodeName names this node: the embedded NATS server and the lease.
	NodeName string
	// DataDir keeps the embedded server's JetStream store on disk; empty
	// keeps it in memory, lost at exit. Not used with URLs.
	DataDir string
	// URLs of an external NATS cluster with JetStream; empty runs the
	// embedded server.
	URLs []string
	// Replicas of the buckets on an external cluster (default 1).
	Replicas int
	// Cluster lets several nodes share the state: the one holding the
	// lease serves it, the others follow and take the lease when it is
	// free. Without it a lease held by another node is an error.
	Cluster bool
	Logger  *slog.Logger
	// BeforeRefresh, if set, runs before each refresh of the lease. Tests
	// block in it to play a node that stalls (a GC pause, SIGSTOP).
	BeforeRefresh func(context.Context)
}

// Write is one change to a record: a new value, or a deletion.
type Write struct {
	Key    string
	Value  []byte
	Delete bool
}

// Store is an open state bucket. Its methods are safe for concurrent use.
type Store struct {
	log  *slog.Logger
	mode string
	ns   *natsserver.Server // nil with an external cluster
	tmp  string             // the embedded server's private store dir without DataDir
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue

	leases jetstream.KeyValue
	node   string

	cluster bool
	// markerTTL is the TTL deletions give their markers ("" without TTLs).
	markerTTL string
	// fencing: state writes carry the fence. Only on an external NATS,
	// where another node can reach the bucket (the embedded server opens no
	// port, and the check cost ~4 % of a core at 4,000 invites/s), and only
	// on buckets of one replica: a replicated stream refuses a second write
	// checked against one subject while the first is in flight, so
	// pipelined writes would fail (docs/architecture.md).
	fencing       bool
	beforeRefresh func(context.Context)
	// The fence's revision when this node took the lease (0: none yet),
	// and when its last successful lease write was sent, on the monotonic
	// clock (nanoseconds since start).
	fenceSeq  atomic.Uint64
	refreshed atomic.Int64
	start     time.Time

	mu       sync.Mutex
	leaseOK  bool
	watchers []func(leader bool)
	stop     context.CancelFunc
	wg       sync.WaitGroup
	closed   sync.Once
}

// Open starts or connects to NATS, opens the buckets and takes the lease
// of the state for cfg.NodeName.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if !validNodeName(cfg.NodeName) {
		return nil, fmt.Errorf("store: node name %q: want 1-64 of [A-Za-z0-9._-]", cfg.NodeName)
	}
	if len(cfg.URLs) > 0 && cfg.DataDir != "" {
		return nil, errors.New("store: a data directory is for the embedded NATS server; an external cluster keeps its own")
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	s := &Store{log: cfg.Logger, node: cfg.NodeName, cluster: cfg.Cluster, fencing: len(cfg.URLs) > 0 && cfg.Replicas == 1,
		beforeRefresh: cfg.BeforeRefresh, start: time.Now()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	storage := jetstream.MemoryStorage
	if len(cfg.URLs) > 0 {
		url := strings.Join(cfg.URLs, ",")
		nc, err := nats.Connect(url, nats.Name("termcall serve "+cfg.NodeName),
			nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.Timeout(opTimeout))
		if err != nil {
			return nil, fmt.Errorf("store: connect to %s: %w", url, err)
		}
		s.nc, storage = nc, jetstream.FileStorage
		s.mode = "nats cluster " + url
	} else {
		if err := s.startEmbedded(cfg); err != nil {
			return nil, err
		}
		if cfg.DataDir != "" {
			storage = jetstream.FileStorage
		}
	}
	if err := s.openBuckets(ctx, storage, cfg.Replicas); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.takeLease(ctx); err != nil && !(cfg.Cluster && errors.Is(err, ErrLeaseHeld)) {
		s.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(2)
	go s.keepLease(bg)
	go s.janitor(bg)
	return s, nil
}

// validNodeName keeps node names usable as NATS server names and in logs.
func validNodeName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *Store) startEmbedded(cfg Config) error {
	dir := cfg.DataDir
	if dir == "" {
		// JetStream wants a store directory even when every stream is in
		// memory; a private one keeps two servers from sharing it.
		tmp, err := os.MkdirTemp("", "termcall-nats-")
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		dir, s.tmp = tmp, tmp
		s.mode = "embedded nats, state in memory"
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: data directory: %w", err)
		}
		s.mode = "embedded nats, state in " + dir
	}
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: cfg.NodeName,
		DontListen: true, // only this process reaches it
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		s.removeTmp()
		return fmt.Errorf("store: embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(readyWait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		s.removeTmp()
		return errors.New("store: the embedded nats server did not become ready")
	}
	s.ns = ns
	nc, err := nats.Connect(ns.ClientURL(), nats.InProcessServer(ns), nats.Name("termcall serve "+cfg.NodeName))
	if err != nil {
		s.Close()
		return fmt.Errorf("store: connect to the embedded nats server: %w", err)
	}
	s.nc = nc
	return nil
}

func (s *Store) openBuckets(ctx context.Context, storage jetstream.StorageType, replicas int) error {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("store: jetstream: %w", err)
	}
	s.js = js
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cfg := jetstream.KeyValueConfig{
		Bucket:         Bucket,
		Description:    "termcall signaling state: sessions, calls, invitations",
		History:        1,
		Storage:        storage,
		Replicas:       replicas,
		LimitMarkerTTL: markerTTL,
	}
	s.kv, err = js.CreateOrUpdateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		// A NATS server before 2.11: plain markers, purged by the janitor.
		s.log.Warn("state: the NATS server has no message TTLs; deleted records' markers are purged every 5 minutes")
		cfg.LimitMarkerTTL = 0
		s.kv, err = js.CreateOrUpdateKeyValue(ctx, cfg)
	} else if err == nil {
		s.markerTTL = markerTTL.String()
	}
	if err != nil {
		return fmt.Errorf("store: bucket %s (is JetStream enabled on the NATS server?): %w", Bucket, err)
	}
	s.leases, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket,
		Description: "termcall serve nodes: who serves the state",
		History:     1,
		TTL:         LeaseTTL, // a lease not refreshed expires
		Storage:     storage,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("store: bucket %s: %w", LeaseBucket, err)
	}
	return nil
}

// takeLease makes this node the one that serves the state. A lease left by
// a node of the same name (this node before a crash) is taken over; one of
// another live node is refused (ErrLeaseHeld). In a cluster (Config.Cluster)
// that is how a node starts as a follower: it carries its clients to the
// lease holder and takes the lease when it is free (keepLease).
func (s *Store) takeLease(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.leaseOK = true
	s.mu.Unlock()
	return nil
}

// acquire takes the lease, then moves the fence to this node, so that the
// writes of the node that held it before fail from then on. The fence is
// moved with a compare-and-set on the revision read before the lease was
// taken: a node that stalled between the two finds it moved by whoever
// took the lease after its own ran out, and gives the lease back.
func (s *Store) acquire(ctx context.Context) error {
	var fenceRev uint64
	switch e, err := s.kv.Get(ctx, fenceKey); {
	case err == nil:
		fenceRev = e.Revision()
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return fmt.Errorf("store: fence: %w", err)
	}
	sent := s.mono()
	leaseRev, err := s.leases.Create(ctx, leaseKey, []byte(s.node))
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := s.leases.Get(ctx, leaseKey)
		if gerr != nil {
			return fmt.Errorf("store: lease: %w", gerr)
		}
		if holder := string(e.Value()); holder != s.node {
			return fmt.Errorf("%w: node %q holds it (it expires %v after that node stops)", ErrLeaseHeld, holder, LeaseTTL)
		}
		sent = s.mono()
		leaseRev, err = s.leases.Update(ctx, leaseKey, []byte(s.node), e.Revision())
	}
	if err != nil {
		return fmt.Errorf("store: lease: %w", err)
	}
	var seq uint64
	if fenceRev == 0 {
		seq, err = s.kv.Create(ctx, fenceKey, []byte(s.node))
	} else {
		seq, err = s.kv.Update(ctx, fenceKey, []byte(s.node), fenceRev)
	}
	if err != nil {
		_ = s.leases.Delete(ctx, leaseKey, jetstream.LastRevision(leaseRev))
		return fmt.Errorf("store: fence moved while the lease was taken: %w", err)
	}
	s.fenceSeq.Store(seq)
	s.refreshed.Store(sent)
	return nil
}

// mono is the time since Open on the monotonic clock, which a wall clock
// step cannot move.
func (s *Store) mono() int64 { return int64(time.Since(s.start)) }

func (s *Store) keepLease(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(leaseRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.beforeRefresh != nil {
			s.beforeRefresh(ctx)
		}
		s.mu.Lock()
		held := s.leaseOK
		s.mu.Unlock()
		err := func() error {
			ctx, cancel := context.WithTimeout(ctx, opTimeout)
			defer cancel()
			e, err := s.leases.Get(ctx, leaseKey)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound) && held:
				// Another node may have held it since: this node lost it.
				return errLeaseLapsed
			case errors.Is(err, jetstream.ErrKeyNotFound):
				// Free (its holder stopped, or its TTL ran out): take it.
				return s.acquire(ctx)
			case err != nil:
				return err
			case string(e.Value()) != s.node:
				return fmt.Errorf("%w: node %q holds it", ErrLeaseHeld, e.Value())
			case !held:
				// This node's own, from before a crash or a lapse: take
				// it over, fence and all.
				return s.acquire(ctx)
			}
			sent := s.mono()
			if _, err := s.leases.Update(ctx, leaseKey, []byte(s.node), e.Revision()); err != nil {
				return err
			}
			s.refreshed.Store(sent)
			return nil
		}()
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		was := s.leaseOK
		s.leaseOK = err == nil
		var ws []func(bool)
		if was != s.leaseOK {
			ws = slices.Clone(s.watchers)
		}
		s.mu.Unlock()
		switch {
		case err != nil && was:
			s.log.Error("state lease lost", "err", err)
		case err == nil && !was:
			s.log.Info("state lease taken: this node serves the state")
		}
		for _, fn := range ws {
			fn(err == nil)
		}
	}
}

// janitor purges old delete markers.
func (s *Store) janitor(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(janitorTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(markerAge)); err != nil && ctx.Err() == nil {
			s.log.Warn("state: old delete markers not purged", "err", err)
		}
	}
}

// Leader reports whether this node holds the lease: the node that serves
// the state.
func (s *Store) Leader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaseOK
}

// WatchLeader calls fn (on the store's own goroutine) whenever this node
// takes or loses the lease.
func (s *Store) WatchLeader(fn func(leader bool)) {
	s.mu.Lock()
	s.watchers = append(s.watchers, fn)
	s.mu.Unlock()
}

// Fresh reports whether this node holds the lease and refreshed it recently
// enough, by its monotonic clock, that no other node can have taken it: a
// node that stalled past the lease's TTL finds it stale before its next
// refresh tells it the lease is gone. Cheap: for every timer and frame.
func (s *Store) Fresh() bool {
	return s.Leader() && s.mono()-s.refreshed.Load() < int64(leaseFresh)
}

// Node is this node's name.
func (s *Store) Node() string { return s.node }

// Conn is the connection to NATS, for the cluster's subjects.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Mode says where the state lives, for the log.
func (s *Store) Mode() string { return s.mode }

// Ready reports whether NATS is connected, JetStream answers and this
// node holds the lease (or, in a cluster, follows a node that does).
func (s *Store) Ready() bool {
	if s.ns != nil && (!s.ns.Running() || !s.ns.JetStreamEnabled()) {
		return false
	}
	s.mu.Lock()
	ok := s.leaseOK || s.cluster
	s.mu.Unlock()
	return ok && s.nc.IsConnected()
}

// Load returns every record in the bucket.
func (s *Store) Load(ctx context.Context) (map[string][]byte, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("store: load: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := make(map[string][]byte)
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("store: load: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("store: load: the watcher stopped")
			}
			if e == nil {
				return out, nil // the initial values are all in
			}
			if e.Key() != fenceKey {
				out[e.Key()] = e.Value()
			}
		}
	}
}

// Apply stores the writes in order and waits until they are stored.
func (s *Store) Apply(ctx context.Context, ws []Write) error {
	return s.Publish(ws)(ctx)
}

// Publish sends the writes in order without waiting; the returned wait
// reports whether they were stored. Writes published one after another
// land in that order (one connection, one stream), so a caller can have
// many batches on their way at once and pay one round trip, not one per
// batch. Each write carries the fence (acquire): a node that has lost
// the lease to another gets ErrFenced, and its writes are not stored.
func (s *Store) Publish(ws []Write) (wait func(context.Context) error) {
	futs := make([]jetstream.PubAckFuture, 0, len(ws))
	fence := ""
	if seq := s.fenceSeq.Load(); s.fencing && seq != 0 {
		fence = strconv.FormatUint(seq, 10)
	}
	for _, w := range ws {
		m := nats.NewMsg("$KV." + Bucket + "." + w.Key)
		if fence != "" {
			// One lookup on the server, no round trip more.
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fence)
			m.Header.Set(hdrExpectedSubj, fenceSubj)
		}
		switch {
		case w.Delete && s.markerTTL != "":
			// What KeyValue.Purge with PurgeTTL sends: a marker that
			// replaces the record and expires by itself.
			m.Header.Set("KV-Operation", "PURGE")
			m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
			m.Header.Set(jetstream.MsgTTLHeader, s.markerTTL)
		case w.Delete:
			// The KV protocol's delete marker, what KeyValue.Delete sends.
			m.Header.Set("KV-Operation", "DEL")
		default:
			m.Data = w.Value
		}
		f, err := s.js.PublishMsgAsync(m)
		if err != nil {
			err = fmt.Errorf("store: write %s: %w", w.Key, err)
			return func(ctx context.Context) error { return errors.Join(err, awaitAll(ctx, futs)) }
		}
		futs = append(futs, f)
	}
	return func(ctx context.Context) error { return awaitAll(ctx, futs) }
}

func awaitAll(ctx context.Context, futs []jetstream.PubAckFuture) error {
	var errs []error
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
				apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
				err = fmt.Errorf("%w (%w)", ErrFenced, err)
			}
			errs = append(errs, fmt.Errorf("store: write %s: %w", f.Msg().Subject, err))
		case <-ctx.Done():
			return fmt.Errorf("store: write: %w", ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Close releases the lease (a clean stop frees it at once), closes the
// connection and stops the embedded server. Later calls do nothing.
func (s *Store) Close() { s.closed.Do(s.close) }

func (s *Store) close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.leases != nil && s.nc != nil && s.nc.IsConnected() {
		s.mu.Lock()
		held := s.leaseOK
		s.mu.Unlock()
		if held {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			if e, err := s.leases.Get(ctx, leaseKey); err == nil && string(e.Value()) == s.node {
				_ = s.leases.Delete(ctx, leaseKey, jetstream.LastRevision(e.Revision()))
			}
			cancel()
		}
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	s.removeTmp()
}

func (s *Store) removeTmp() {
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

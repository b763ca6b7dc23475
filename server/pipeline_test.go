package server

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/server/proto"
	"github.com/termcall/termcall/server/store"
)

// gatedStore holds back the acknowledgements of a real store while its
// gate is shut, as a slow JetStream would.
type gatedStore struct {
	*store.Store
	mu   sync.Mutex
	gate chan struct{} // closed: open
}

func (g *gatedStore) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *gatedStore) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
}

func (g *gatedStore) Publish(ws []store.Write) func(context.Context) error {
	wait := g.Store.Publish(ws)
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	return func(ctx context.Context) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return wait(ctx)
	}
}

// TestNothingHeardBeforeStored: with the store's acknowledgements held
// back, an invitation reaches nobody (not its callee, not its caller's
// reply), a later request that writes nothing (a ping) is not answered
// ahead of it, and other users' requests wait their turn too; once the
// store acknowledges, everything arrives, in order, and the records are
// in the store.
func TestNothingHeardBeforeStored(t *testing.T) {
	g := &gatedStore{Store: openStore(t, t.TempDir()), gate: make(chan struct{})}
	g.open()
	s := runServer(t, func(o *Options) { o.State = g })
	alice, bob, carol := login(t, s, "alice"), login(t, s, "bob"), login(t, s, "carol")

	g.shut()
	alice.sendRaw(proto.TypeInvite, 100, proto.InviteRequest{Invitees: []string{bob.user}, CallType: 2, Timeout: 30})
	alice.sendRaw(proto.TypePing, 101, nil)
	time.Sleep(50 * time.Millisecond) // the invite is in the delivery line first
	carol.sendRaw(proto.TypePing, 7, nil)
	time.Sleep(300 * time.Millisecond)
	if f, ok := bob.take(0, func(f proto.Frame) bool { return f.Type == proto.TypeInvited }); ok {
		t.Fatalf("bob heard of the invitation before it was stored: %s", f.Body)
	}
	if f, ok := alice.take(0, func(f proto.Frame) bool { return f.ID == 100 || f.ID == 101 }); ok {
		t.Fatalf("alice got %s %d before her invitation was stored", f.Type, f.ID)
	}
	if f, ok := carol.take(0, func(f proto.Frame) bool { return f.ID == 7 }); ok {
		t.Fatalf("carol's ping was answered ahead of an earlier state change: %s", f.Type)
	}

	g.open()
	f, ok := alice.take(patience, func(f proto.Frame) bool { return f.ID == 100 || f.ID == 101 })
	if !ok || f.ID != 100 || f.Type != proto.TypeReply {
		t.Fatalf("alice's first answer: %s %d %s (ok %v), want the invite's reply", f.Type, f.ID, f.Body, ok)
	}
	if _, perr := alice.answer(101); perr != nil {
		t.Fatalf("ping: %v", perr)
	}
	var inv proto.Invited
	bob.expect(proto.TypeInvited, &inv)
	if _, perr := carol.answer(7); perr != nil {
		t.Fatalf("carol's ping: %v", perr)
	}
	recs, err := g.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var rec roomRecord
	if err := json.Unmarshal(recs[roomKey(inv.RoomID)], &rec); err != nil || len(rec.Invites) != 1 || rec.Invites[0].ID != inv.InviteID {
		t.Errorf("no record of invitation %s in its call's record after bob heard of it: %+v (%v)", inv.InviteID, rec, err)
	}
}

package routing

import (
	"sync"
	"testing"
)

type fakeEP struct {
	mu     sync.Mutex
	frames []string
	ok     bool
}

func (f *fakeEP) Send(b []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, string(b))
	return f.ok
}

func TestLocalBindDeliverUnbind(t *testing.T) {
	r := NewLocal()
	a, b := &fakeEP{ok: true}, &fakeEP{ok: true}
	if r.Deliver("alice", []byte("x")) {
		t.Fatal("delivered to a user without endpoint")
	}
	r.Bind("alice", a)
	if !r.Online("alice") || !r.Deliver("alice", []byte("1")) {
		t.Fatal("bound user not reachable")
	}
	r.Bind("alice", b) // a newer connection replaces the old one
	r.Unbind("alice", a)
	if !r.Online("alice") {
		t.Fatal("unbinding a stale endpoint removed the current one")
	}
	r.Deliver("alice", []byte("2"))
	r.Unbind("alice", b)
	if r.Online("alice") || r.Deliver("alice", []byte("3")) {
		t.Fatal("unbound user still reachable")
	}
	if len(a.frames) != 1 || a.frames[0] != "1" || len(b.frames) != 1 || b.frames[0] != "2" {
		t.Fatalf("frames a=%v b=%v", a.frames, b.frames)
	}
	slow := &fakeEP{ok: false}
	r.Bind("bob", slow)
	if r.Deliver("bob", []byte("x")) {
		t.Fatal("a refusing endpoint reported success")
	}
}

func TestLocalConcurrent(t *testing.T) {
	r := NewLocal()
	ep := &fakeEP{ok: true}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				r.Bind("u", ep)
				r.Deliver("u", []byte("f"))
				r.Unbind("u", ep)
			}
		}()
	}
	wg.Wait()
	if r.Online("u") {
		t.Fatal("still bound")
	}
}

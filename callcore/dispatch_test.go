package callcore

import "testing"

// Subscribe's handlers get every event, interleaved with On's handlers in
// registration order; cancel stops them and may be called twice.
func TestSubscribe(t *testing.T) {
	e := newTestEngine(t)
	got := make(chan string, 20)
	e.On(EventReject, func(Event) { got <- "on1" })
	cancel := e.Subscribe(func(ev Event) { got <- "all:" + string(ev.Name) })
	e.On(EventReject, func(Event) { got <- "on2" })
	e.On(EventCallingEnd, func(ev Event) { got <- "end:" + string(ev.Name) })

	e.mu.Lock()
	e.emit(EventReject, UserRef{UserID: "u"})
	e.emit(EventCallEnd, CallEnd{})
	e.emit(EventPresence, Presence{})
	e.mu.Unlock()
	for _, want := range []string{"on1", "all:REJECT", "on2", "all:CALL_END", "end:CALL_END", "all:PRESENCE"} {
		if g := <-got; g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
	cancel()
	cancel()
	e.mu.Lock()
	e.emit(EventReject, UserRef{UserID: "u"})
	e.mu.Unlock()
	for _, want := range []string{"on1", "on2"} {
		if g := <-got; g != want {
			t.Fatalf("after cancel: got %q, want %q", g, want)
		}
	}
	e.Subscribe(func(ev Event) { got <- "late:" + string(ev.Name) })
	e.mu.Lock()
	e.emit(EventNoResp, NoResp{})
	e.mu.Unlock()
	if g := <-got; g != "late:NO_RESP" {
		t.Fatalf("late subscriber: got %q", g)
	}
}

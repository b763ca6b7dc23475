package callcore

import (
	"cmp"
	"slices"
	"time"
)

// ListenerID identifies a handler registered with On.
type ListenerID uint64

type listener struct {
	id ListenerID
	fn func(Event)
}

// On registers h for events called name and returns an id for Off.
// Handlers run on the engine's dispatcher goroutine, in registration order;
// they may call engine methods, except Close.
func (e *Engine) On(name EventName, h func(Event)) ListenerID {
	name = name.canonical()
	e.hmu.Lock()
	defer e.hmu.Unlock()
	e.nextLID++
	e.handlers[name] = append(e.handlers[name], listener{id: e.nextLID, fn: h})
	return e.nextLID
}

// Off removes a handler registered with On. Events already being
// dispatched may still reach it.
func (e *Engine) Off(name EventName, id ListenerID) {
	name = name.canonical()
	e.hmu.Lock()
	defer e.hmu.Unlock()
	e.handlers[name] = slices.DeleteFunc(e.handlers[name], func(l listener) bool { return l.id == id })
}

// Subscribe registers h for every event the engine emits, the way a shell
// that shows or records all of them wants it, and returns a function that
// removes it (calling it again does nothing).
//
// h runs like On's handlers: on the dispatcher goroutine, one event at a
// time in the order the engine emitted them, together with On's handlers
// in registration order. It may call engine methods, except Close. The
// engine never waits for the dispatcher (its queue has no bound), so a
// slow h delays later events and the other handlers, never the engine; a
// shell that hands events to another goroutine decides there whether to
// block or drop. Events already being dispatched may still reach h after
// cancel.
func (e *Engine) Subscribe(h func(Event)) (cancel func()) {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	e.nextLID++
	id := e.nextLID
	e.all = append(e.all, listener{id: id, fn: h})
	return func() {
		e.hmu.Lock()
		defer e.hmu.Unlock()
		e.all = slices.DeleteFunc(e.all, func(l listener) bool { return l.id == id })
	}
}

// emit queues an event. Called with e.mu held so that events keep the
// order of the state changes that caused them.
func (e *Engine) emit(name EventName, data any) {
	ev := Event{Name: name, Time: time.Now(), Data: data}
	e.events.push(func() {
		for _, l := range e.listeners(name) {
			l.fn(ev)
		}
	})
}

// listeners returns the handlers of an event, On's and Subscribe's, in
// registration order.
func (e *Engine) listeners(name EventName) []listener {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	ls := slices.Concat(e.handlers[name], e.all)
	// Both lists are in id order already; merge them.
	slices.SortFunc(ls, func(a, b listener) int { return cmp.Compare(a.id, b.id) })
	return ls
}

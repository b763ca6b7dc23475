package headless

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// waits is the bookkeeping behind the wait command: how many lines of each
// event were printed, and how many of those a wait has used up.
type waits struct {
	mu       sync.Mutex
	counts   map[string]int // lines printed, by event name
	consumed map[string]int // of those, how many a wait has used
	changed  chan struct{}  // closed and replaced whenever counts changes
}

func newWaits() *waits {
	return &waits{counts: map[string]int{}, consumed: map[string]int{}, changed: make(chan struct{})}
}

// printed counts one line of event name.
func (w *waits) printed(name string) {
	w.mu.Lock()
	w.counts[name]++
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// wait blocks until an event called name has been printed that no earlier
// wait has used, or until d has passed. Each wait uses one event, so an
// event printed before the wait satisfies it and two waits need two events.
func (w *waits) wait(ctx context.Context, name string, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		w.mu.Lock()
		if w.counts[name] > w.consumed[name] {
			w.consumed[name]++
			w.mu.Unlock()
			return nil
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-t.C:
			return fmt.Errorf("%w: no %s within %v", ErrWaitTimeout, name, d)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

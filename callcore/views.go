package callcore

import (
	"fmt"
	"slices"
)

// viewBindings maps view names to what they show. Guarded by Engine.mu.
type viewBindings struct {
	local  []string
	remote map[string][]string
}

func newViewBindings() viewBindings { return viewBindings{remote: make(map[string][]string)} }

func (v *viewBindings) table(*room) ViewTable {
	t := ViewTable{Local: slices.Clone(v.local), Remote: make(map[string][]string, len(v.remote))}
	for u, views := range v.remote {
		t.Remote[u] = slices.Clone(views)
	}
	return t
}

// dropRemote forgets every remote binding (the call ended).
func (v *viewBindings) dropRemote() { clear(v.remote) }

// dropUser forgets one member's bindings and reports whether it had any.
func (v *viewBindings) dropUser(userID string) bool {
	_, ok := v.remote[userID]
	delete(v.remote, userID)
	return ok
}

// pushViewsLocked gives the current call's media session the bindings.
func (e *Engine) pushViewsLocked() {
	if e.room == nil {
		return
	}
	t := e.views.table(e.room)
	e.mediaOpLocked(e.room, func(s MediaSession) {
		if vb, ok := s.(ViewBinder); ok {
			vb.SetViews(t)
		}
	})
}

// Views returns a snapshot of the view bindings. A media layer that does
// not implement ViewBinder can poll it.
func (e *Engine) Views() ViewTable {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.views.table(e.room)
}

// StartRemoteView shows userID's video in the view named viewID. The user
// must be a member of the current call; the binding ends with the call or
// when the user leaves.
func (e *Engine) StartRemoteView(userID, viewID string) error {
	if userID == "" || viewID == "" {
		return fmt.Errorf("%w: empty user or view", ErrInvalidArgument)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.room == nil || e.room.members[userID] == nil {
		return fmt.Errorf("%w: %q is not in a call with us", ErrWrongState, userID)
	}
	if !slices.Contains(e.views.remote[userID], viewID) {
		e.views.remote[userID] = append(e.views.remote[userID], viewID)
		e.pushViewsLocked()
	}
	return nil
}

// StopRemoteView stops showing userID's video in viewID. Unbound pairs are
// not an error.
func (e *Engine) StopRemoteView(userID, viewID string) error {
	if userID == "" || viewID == "" {
		return fmt.Errorf("%w: empty user or view", ErrInvalidArgument)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	views := e.views.remote[userID]
	if !slices.Contains(views, viewID) {
		return nil
	}
	views = slices.DeleteFunc(views, func(v string) bool { return v == viewID })
	if len(views) == 0 {
		delete(e.views.remote, userID)
	} else {
		e.views.remote[userID] = views
	}
	e.pushViewsLocked()
	return nil
}

// StartLocalView shows the local camera in viewID (a preview; it works
// outside calls too and lasts until StopLocalView).
func (e *Engine) StartLocalView(viewID string) error {
	if viewID == "" {
		return fmt.Errorf("%w: empty view", ErrInvalidArgument)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.views.local, viewID) {
		e.views.local = append(e.views.local, viewID)
		e.pushViewsLocked()
	}
	return nil
}

// StopLocalView stops the local preview in viewID.
func (e *Engine) StopLocalView(viewID string) error {
	if viewID == "" {
		return fmt.Errorf("%w: empty view", ErrInvalidArgument)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if slices.Contains(e.views.local, viewID) {
		e.views.local = slices.DeleteFunc(e.views.local, func(v string) bool { return v == viewID })
		e.pushViewsLocked()
	}
	return nil
}

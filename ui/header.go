package ui

import "fmt"

// headerView is the top line of every screen: who we are, our state, the
// mic and camera, and the video renderer.
func (c *common) headerView() string {
	st := c.st
	state := st.Presence.Offline.Render("connecting")
	switch {
	case c.kicked:
		state = st.Error.Render("signed out")
	case c.loggedIn && c.phase == phaseIncoming:
		state = st.Presence.Busy.Render("ringing")
	case c.loggedIn && c.phase == phaseOutgoing:
		state = st.Presence.Busy.Render("calling")
	case c.loggedIn && c.phase != phaseIdle:
		state = st.Presence.Busy.Render("in a call")
	case c.loggedIn:
		state = st.Presence.Online.Render("online")
	}
	mic := st.On.Render("mic on")
	if c.micMuted {
		mic = st.Muted.Render("mic muted")
	}
	cam := st.Status.Render("cam off")
	if c.camOn {
		cam = st.On.Render("cam on")
	}
	return fmt.Sprintf("%s  %s %s · %s · %s · video: %s", st.Title.Render("termcall"), c.self, state, mic, cam,
		c.rend.kind().String())
}

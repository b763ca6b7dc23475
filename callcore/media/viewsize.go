package media

// viewSizer is a view sink that knows the largest picture it shows: a
// terminal pane (cells, or pixels for sixel), a headless view given WxH.
// 0x0 means any size.
type viewSizer interface{ ViewSize() (w, h int) }

// viewSize is a size a viewsize signal carries.
type viewSize struct{ W, H int }

// wantedSize is the largest size this client shows userID's video in:
// the largest of the views bound to it. Without views, or with a view
// that does not say (a PNG directory, a preview), it is 0x0: any size.
func (s *Session) wantedSize(userID string) viewSize {
	var out viewSize
	for _, k := range s.viewSinks(userID) {
		vs, ok := k.(viewSizer)
		if !ok {
			return viewSize{}
		}
		w, h := vs.ViewSize()
		if w <= 0 || h <= 0 {
			return viewSize{}
		}
		out.W, out.H = max(out.W, w), max(out.H, h)
	}
	return out
}

// sendViewSizes tells each peer the size its video is shown at when it
// changed since the last time (sent, owned by the adapt loop). A peer
// that has heard nothing from us sends at any size, so 0x0 needs no
// signal until a limit was sent.
func (s *Session) sendViewSizes(sent map[string]viewSize) {
	peers := s.mesh.Peers()
	live := make(map[string]bool, len(peers))
	for _, id := range peers {
		live[id] = true
		want := s.wantedSize(id)
		if last, ok := sent[id]; (ok && last == want) || (!ok && want == viewSize{}) {
			continue
		}
		if err := s.mesh.SendViewSize(id, want.W, want.H); err != nil {
			s.log.Debug("send view size", "peer", id, "err", err)
			continue
		}
		s.log.Debug("view size sent", "peer", id, "width", want.W, "height", want.H)
		sent[id] = want
	}
	for id := range sent {
		if !live[id] {
			delete(sent, id)
		}
	}
}

package e2e_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Browser tests: termcall's TRTCCalling SDK (web/sdk, served by `termcall
// serve` at /sdk/trtc-calling.js) in Chromium with its fake camera (a
// 640x480 test pattern) and microphone (beeps), against real `termcall
// headless` peers. The page's events are checked as a headless client's.

// probeJS installs window.__probe: what a user would see and hear of a
// remote user in the page, measured there.
const probeJS = `
if (!window.__probe) window.__probe = {
	// The dominant frequency and its level in userID's remote audio.
	async tone(userID) {
		const a = document.querySelector('audio[data-trtc-audio="' + userID + '"]');
		if (!a || !a.srcObject) return null;
		const ctx = window.__ac || (window.__ac = new AudioContext());
		await ctx.resume();
		const src = ctx.createMediaStreamSource(a.srcObject);
		const an = ctx.createAnalyser();
		an.fftSize = 8192;
		an.smoothingTimeConstant = 0;
		src.connect(an);
		await new Promise((r) => setTimeout(r, 500));
		const bins = new Float32Array(an.frequencyBinCount);
		an.getFloatFrequencyData(bins);
		src.disconnect();
		let best = 1;
		for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
		return { hz: best * ctx.sampleRate / an.fftSize, db: bins[best] };
	},
	// The size and frame rate of the video playing in the element sel.
	async video(sel) {
		const v = document.querySelector(sel + ' video');
		if (!v) return null;
		const n0 = v.getVideoPlaybackQuality().totalVideoFrames;
		await new Promise((r) => setTimeout(r, 1000));
		const n1 = v.getVideoPlaybackQuality().totalVideoFrames;
		return { width: v.videoWidth, height: v.videoHeight, fps: n1 - n0 };
	},
};`

// viewsJS adds the elements the SDK's views render into.
const viewsJS = `
for (const id of ['remote', 'local']) {
	if (!document.getElementById(id)) {
		const d = document.createElement('div');
		d.id = id;
		document.body.append(d);
	}
}`

// browserHears waits until the page hears userID's tone at hz.
func browserHears(t *testing.T, b *client, userID string, hz float64) {
	t.Helper()
	b.Eval(t, probeJS)
	var last any
	deadline := time.Now().Add(mediaWait)
	for time.Now().Before(deadline) {
		last = b.Eval(t, fmt.Sprintf("return await __probe.tone(%q);", userID))
		if m, ok := last.(map[string]any); ok && math.Abs(fnum(m, "hz")-hz) <= hz*0.03 && fnum(m, "db") > -70 {
			return
		}
	}
	t.Fatalf("%s: does not hear %s's %v Hz tone: last %v", b.user, userID, hz, last)
}

// browserSees waits until the page plays video of w x h (0 x 0: any size)
// at > 5 fps in the element sel.
func browserSees(t *testing.T, b *client, sel string, w, h int) {
	t.Helper()
	b.Eval(t, probeJS)
	var last any
	deadline := time.Now().Add(mediaWait)
	for time.Now().Before(deadline) {
		last = b.Eval(t, fmt.Sprintf("return await __probe.video(%q);", sel))
		m, ok := last.(map[string]any)
		if ok && w == 0 && fnum(m, "width") > 0 && fnum(m, "fps") > 5 {
			return
		}
		if ok && int(fnum(m, "width")) == w && int(fnum(m, "height")) == h && fnum(m, "fps") > 5 {
			return
		}
	}
	t.Fatalf("%s: no %dx%d video playing in %s: last %v", b.user, w, h, sel, last)
}

// hearsSomething matches a STATS line of from with audio above -50 dBFS
// (Chromium's fake microphone beeps).
func hearsSomething(from string) func(event) bool {
	return func(ev event) bool {
		return str(ev, "userID") == from && fnum(sub(ev, "audio"), "levelDBFS") > -50
	}
}

// seesSomeVideo matches a STATS line of from with video at > 5 fps.
func seesSomeVideo(from string) func(event) bool {
	return func(ev event) bool {
		v := sub(ev, "video")
		return str(ev, "userID") == from && fnum(v, "width") > 0 && fnum(v, "fps") > 5
	}
}

// earlyCandidatesJS holds the first offer or answer relayed to the page
// back until a candidate relayed after it has been handed to the SDK (up to
// 5 s): the candidate comes before the remote description, as it may over a
// real network. window.__early counts those candidates and all candidates
// relayed, and, for every addIceCandidate, whether the connection had its
// remote description.
const earlyCandidatesJS = `
window.__early = { held: false, released: false, early: 0, cands: 0, added: [] };
const on = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
Object.defineProperty(WebSocket.prototype, 'onmessage', {
	configurable: true,
	get: on.get,
	set(h) {
		if (typeof h !== 'function') return on.set.call(this, h);
		let release = null;
		on.set.call(this, (ev) => {
			let kind = '';
			let cand = '';
			try {
				const f = JSON.parse(ev.data);
				if (f.type === 'relay') { kind = f.body.payload.kind; cand = f.body.payload.candidate?.candidate || ''; }
			} catch (_) { /* */ }
			const e = window.__early;
			if (kind === 'candidate' && cand) e.cands++;
			if (!e.held && (kind === 'offer' || kind === 'answer')) {
				e.held = true;
				const timer = setTimeout(() => release(), 5000);
				release = () => { clearTimeout(timer); e.released = true; h.call(this, ev); };
				return;
			}
			h.call(this, ev);
			if (kind === 'candidate' && e.held && !e.released) { e.early++; release(); }
		});
	},
});
const add = RTCPeerConnection.prototype.addIceCandidate;
RTCPeerConnection.prototype.addIceCandidate = function (...a) {
	window.__early.added.push(!!this.remoteDescription);
	return add.apply(this, a);
};`

// TestBrowserCallsTerminal: a page calls a terminal user with video; media
// both ways, mute and camera events both ways, a hangup from the page. The
// terminal's first candidate reaches the page before its description.
func TestBrowserCallsTerminal(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:440", "--video-in", "pattern")
	alice := s.sdkBrowserOn(t, "alice", sdkPage{before: earlyCandidatesJS})
	alice.Eval(t, viewsJS)

	alice.Eval(t, `await tc.call({ userID: 'bob', type: 2, timeout: 30 });`)
	inv := bob.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "alice"}))
	if num(inv, "callType") != 2 && num(sub(inv, "inviteData"), "callType") != 2 {
		t.Errorf("bob's INVITED is not a video call: %v", inv)
	}
	bob.Send(t, "accept")
	alice.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	entered := time.Now()
	alice.Eval(t, `await tc.startRemoteView({ userID: 'bob', videoViewDomID: 'remote' });
		await tc.startLocalView({ userID: 'alice', videoViewDomID: 'local' });`)
	browserSees(t, alice, "#remote", 320, 240)
	t.Logf("bob's video playing in the page %v after USER_ENTER", time.Since(entered).Round(10*time.Millisecond))
	browserSees(t, alice, "#local", 0, 0) // the camera, at the size the SDK asked for
	browserHears(t, alice, "bob", 440)
	bob.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "alice"}))
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))
	bob.Expect(t, "STATS", mediaWait, hearsSomething("alice"))
	// The early candidate was queued, and every candidate was added once,
	// after the description.
	waitDOM(t, alice, "every candidate added", `__early.added.length >= __early.cands`)
	early, _ := alice.Eval(t, `return window.__early;`).(map[string]any)
	added, _ := early["added"].([]any)
	if fnum(early, "early") < 1 || len(added) != int(fnum(early, "cands")) || slices.Contains(added, any(false)) {
		t.Errorf("candidates %v: want one or more early, and each added once after the remote description", early)
	}

	// Mute and camera, page → terminal.
	alice.Eval(t, `await tc.setMicMute(true);`)
	bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isAudioAvailable": false}))
	bob.Forget("STATS")
	bob.Expect(t, "STATS", mediaWait, silentFrom("alice"))
	alice.Eval(t, `await tc.setMicMute(false);`)
	bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isAudioAvailable": true}))
	alice.Eval(t, `await tc.closeCamera();`)
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isVideoAvailable": false}))
	bob.Forget("STATS")
	bob.Expect(t, "STATS", mediaWait, func(ev event) bool { return str(ev, "userID") == "alice" && fnum(sub(ev, "video"), "fps") == 0 })
	alice.Eval(t, `await tc.openCamera();`)
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isVideoAvailable": true}))
	bob.Forget("STATS")
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))

	// And terminal → page.
	bob.Send(t, "setMicMute true")
	alice.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isAudioAvailable": false}))
	bob.Send(t, "closeCamera")
	alice.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isVideoAvailable": false}))
	bob.Send(t, "setMicMute false")
	alice.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isAudioAvailable": true}))
	bob.Send(t, "openCamera")
	alice.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "bob", "isVideoAvailable": true}))
	browserSees(t, alice, "#remote", 0, 0) // its size follows bob's congestion control by now
	// {volumeMap: {userID: 0-100}}, as the terminal's engine: bob's tone is
	// heard under his name, the page's own microphone under alice's.
	alice.Forget("USER_VOICE_VOLUME")
	vol := alice.Expect(t, "USER_VOICE_VOLUME", mediaWait, func(ev event) bool {
		m := sub(ev, "volumeMap")
		return fnum(m, "bob") > 0 && fnum(m, "alice") > 0
	})
	if m := sub(vol, "volumeMap"); len(m) != 2 || fnum(m, "bob") > 100 || fnum(m, "alice") > 100 {
		t.Errorf("USER_VOICE_VOLUME %v: want volumeMap {alice, bob} in 0-100", vol)
	}

	holdPC(t, alice, "bob")
	alice.Eval(t, `await tc.hangup();`)
	bob.Expect(t, "CALL_END", waitLong, nil)
	alice.Expect(t, "CALL_END", waitLong, nil)
	closedTo(t, alice, "bob")
}

// holdPC keeps the page's RTCPeerConnection to userID, so that closedTo
// can check it was closed, not only forgotten.
func holdPC(t *testing.T, b *client, userID string) {
	t.Helper()
	if b.Eval(t, fmt.Sprintf(`(window.__held ||= {})[%[1]q] = tc.getPeerConnection(%[1]q); return !!window.__held[%[1]q];`, userID)) != true {
		t.Fatalf("%s holds no connection to %s", b.user, userID)
	}
}

// closedTo checks that the page holds no RTCPeerConnection to userID any
// more, and that the one holdPC kept is closed: it closed it on the
// signaling message, not when ICE timed out.
func closedTo(t *testing.T, b *client, userID string) {
	t.Helper()
	st := b.Eval(t, fmt.Sprintf(`const pc = window.__held?.[%[1]q];
		return { current: !!tc.getPeerConnection(%[1]q), held: pc ? pc.signalingState : '' };`, userID))
	m, _ := st.(map[string]any)
	if m["current"] != false {
		t.Errorf("%s still holds a connection to %s", b.user, userID)
	}
	if h := str(m, "held"); h != "" && h != "closed" {
		t.Errorf("%s's connection to %s is %q, not closed", b.user, userID, h)
	}
}

// TestTerminalCallsBrowser: a terminal user calls the page, which accepts
// with the INVITED payload's fields; media both ways; the terminal hangs up.
// The page is on another origin than termcall (app.localhost: Chromium
// resolves *.localhost itself and counts it a secure context), imports the
// SDK from the server's and gives it an explicit server, a third name of
// the server: the module import and the websocket are cross-origin.
func TestTerminalCallsBrowser(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:880", "--video-in", "pattern")
	port := s.origin()[strings.LastIndex(s.origin(), ":")+1:]
	wsURL := "ws://localhost:" + port + "/ws"
	alice := s.sdkBrowserOn(t, "alice", sdkPage{origin: "http://app.localhost:" + port, server: wsURL})
	if ws := alice.Expect(t, "WEBSOCKET", waitLong, nil); str(ws, "url") != wsURL {
		t.Errorf("the SDK dialled %v, not its server option %s", ws["url"], wsURL)
	}
	alice.Eval(t, viewsJS)

	bob.Send(t, "call alice video 30")
	inv := alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "bob", "isFromGroup": false}))
	data := sub(inv, "inviteData")
	if num(data, "callType") != 2 || num(data, "roomID") == 0 || str(inv, "inviteID") == "" {
		t.Fatalf("the page's INVITED: %v", inv)
	}
	// The original's payload version, and callEnd 0 on a new invitation.
	if v, ok := data["version"].(float64); !ok || v != 4 {
		t.Errorf("INVITED inviteData.version %v, want 4", data["version"])
	}
	if v, ok := data["callEnd"].(float64); !ok || v != 0 {
		t.Errorf("INVITED inviteData.callEnd %v, want 0", data["callEnd"])
	}
	if l := strs(inv, "userIDList"); len(l) != 1 || l[0] != "alice" {
		t.Errorf("INVITED userIDList %v, want [alice]", l)
	}
	alice.Eval(t, fmt.Sprintf(`await tc.accept({ inviteID: %q, roomID: %d, callType: 2 });
		await tc.startRemoteView({ userID: 'bob', videoViewDomID: 'remote' });`, str(inv, "inviteID"), num(data, "roomID")))
	bob.Expect(t, "USER_ACCEPT", waitLong, is(map[string]any{"userID": "alice"}))
	bob.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "alice"}))
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))
	bob.Expect(t, "STATS", mediaWait, hearsSomething("alice"))
	browserSees(t, alice, "#remote", 320, 240)
	browserHears(t, alice, "bob", 880)

	// Switch to audio and back, asked by the page.
	alice.Eval(t, `await tc.switchToAudioCall();`)
	bob.Expect(t, "CALL_TYPE_CHANGED", waitLong, nil)
	alice.Eval(t, `await tc.switchToVideoCall();`)
	bob.Expect(t, "CALL_TYPE_CHANGED", waitLong, nil)

	holdPC(t, alice, "bob")
	bob.Send(t, "hangup")
	alice.Expect(t, "CALL_END", waitLong, nil)
	closedTo(t, alice, "bob")
}

// TestBrowserInvitationOutcomes: reject, no answer, line busy and cancel,
// each way between a page and terminals; off() removes a handler; a second
// login elsewhere kicks the page. TRTCCalling.EVENT is the original's map,
// and handlers subscribed with its literal strings are called.
func TestBrowserInvitationOutcomes(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := s.startClient(t, "bob")
	carol := s.startClient(t, "carol")
	dave := s.startClient(t, "dave")
	alice := s.sdkBrowser(t, "alice")

	// Pages written for the original subscribe with these strings, either
	// way; termcall's own events come after them.
	want := map[string]any{
		"ERROR": "onError", "SDK_READY": "sdkReady", "INVITED": "onInvited", "USER_ACCEPT": "onUserAccept",
		"USER_ENTER": "onUserEnter", "USER_LEAVE": "onUserLeave", "REJECT": "onReject", "LINE_BUSY": "onLineBusy",
		"NO_RESP": "onNoResp", "CALLING_TIMEOUT": "onCallingTimeout", "CALLING_CANCEL": "onCallingCancel",
		"CALL_END": "onCallEnd", "CALLING_END": "onCallEnd", "KICKED_OUT": "onKickedOut",
		"USER_VIDEO_AVAILABLE": "onUserVideoAvailable", "USER_AUDIO_AVAILABLE": "onUserAudioAvailable",
		"USER_VOICE_VOLUME": "onUserVoiceVolume", "GROUP_CALL_INVITEE_LIST_UPDATE": "onGroupCallInviteeListUpdate",
		"CALL_TYPE_CHANGED": "onCallTypeChanged", "PRESENCE": "onPresence",
		"DEVICED_UPDATED": "onDeviceUpdated", "DEVICE_UPDATED": "onDeviceUpdated",
	}
	if got, _ := alice.Eval(t, `return { ...TRTCCalling.EVENT };`).(map[string]any); !reflect.DeepEqual(got, want) {
		t.Errorf("TRTCCalling.EVENT\n got %v\nwant %v", got, want)
	}
	alice.Eval(t, `
		window.__literal = [];
		for (const name of ['onInvited', 'onReject', 'onLineBusy', 'onNoResp', 'onCallingTimeout', 'onCallingCancel', 'onCallEnd', 'onKickedOut']) {
			tc.on(name, (p) => window.__literal.push(name));
		}`)

	// The page calls, bob rejects.
	alice.Eval(t, `await tc.call({ userID: 'bob', type: 1, timeout: 30 });`)
	bob.Expect(t, "INVITED", waitLong, nil)
	bob.Send(t, "reject")
	alice.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "bob"}))
	alice.Expect(t, "CALL_END", waitLong, nil)

	// No answer within 2 s: NO_RESP to the page, CALLING_TIMEOUT to carol.
	alice.Eval(t, `await tc.call({ userID: 'carol', type: 1, timeout: 2 });`)
	carol.Expect(t, "INVITED", waitLong, nil)
	alice.Expect(t, "NO_RESP", waitLong, nil)
	carol.Expect(t, "CALLING_TIMEOUT", waitLong, nil)
	alice.Expect(t, "CALL_END", waitLong, nil)

	// Line busy: bob is in a call with dave.
	bob.Send(t, "call dave audio 30")
	dave.Expect(t, "INVITED", waitLong, nil)
	dave.Send(t, "accept")
	bob.Expect(t, "USER_ACCEPT", waitLong, nil)
	alice.Eval(t, `await tc.call({ userID: 'bob', type: 1, timeout: 30 });`)
	alice.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"sponsor": "alice", "userID": "bob"}))
	bob.Send(t, "hangup")
	dave.Expect(t, "CALL_END", waitLong, nil)

	// The page as the invitee: it rejects, it times out, the caller cancels.
	carol.Send(t, "call alice audio 30")
	inv := alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "carol"}))
	alice.Eval(t, fmt.Sprintf(`await tc.reject({ inviteID: %q, isBusy: false, callType: 1 });`, str(inv, "inviteID")))
	carol.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "alice"}))
	carol.Expect(t, "CALL_END", waitLong, nil)

	// The page says it is busy: carol's line is busy, not a reject.
	carol.Send(t, "call alice audio 30")
	inv = alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "carol"}))
	alice.Eval(t, fmt.Sprintf(`await tc.reject({ inviteID: %q, isBusy: true, callType: 1 });`, str(inv, "inviteID")))
	carol.Expect(t, "LINE_BUSY", waitLong, is(map[string]any{"inviteID": str(inv, "inviteID"), "sponsor": "carol", "userID": "alice"}))
	carol.Expect(t, "CALL_END", waitLong, is(map[string]any{"reason": "busy"}))
	carol.ExpectNone(t, "REJECT", 0, nil)

	carol.Send(t, "call alice audio 2")
	alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "carol"}))
	alice.Expect(t, "CALLING_TIMEOUT", waitLong, nil)
	carol.Expect(t, "NO_RESP", waitLong, is(map[string]any{"userID": "alice"}))
	carol.Expect(t, "CALL_END", waitLong, nil)

	// off(): a handler taken off is not called; one with another context stays.
	alice.Eval(t, `
		window.__calls = { gone: 0, kept: 0 };
		window.__gone = () => { window.__calls.gone++; };
		window.__kept = function () { if (this === window.__ctx) window.__calls.kept++; };
		window.__ctx = { name: 'ctx' };
		tc.on(TRTCCalling.EVENT.INVITED, window.__gone);
		tc.on(TRTCCalling.EVENT.INVITED, window.__kept, window.__ctx);
		tc.off(TRTCCalling.EVENT.INVITED, window.__gone);
		tc.off(TRTCCalling.EVENT.INVITED, window.__kept, { name: 'another' });`)
	carol.Send(t, "call alice audio 30")
	alice.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "carol"}))
	carol.Send(t, "hangup")
	alice.Expect(t, "CALLING_CANCEL", waitLong, nil)
	calls, _ := alice.Eval(t, `return window.__calls;`).(map[string]any)
	if fnum(calls, "gone") != 0 || fnum(calls, "kept") != 1 {
		t.Errorf("handlers called %v, want gone 0 (taken off) and kept 1 (with its context)", calls)
	}

	// Calls in the wrong state are refused with a clear error, and change nothing.
	if msg := alice.EvalErr(t, `await tc.hangup();`); msg == "" {
		t.Errorf("hangup outside a call did not fail")
	}
	if msg := alice.EvalErr(t, `await tc.call({ userID: '', type: 1 });`); msg == "" {
		t.Errorf("a call to no one did not fail")
	}

	// A second login of alice, from a terminal, kicks the page.
	s.startClient(t, "alice")
	alice.Expect(t, "KICKED_OUT", waitLong, nil)

	got := fmt.Sprint(alice.Eval(t, `return [...new Set(window.__literal)].sort();`))
	if w := "[onCallEnd onCallingCancel onCallingTimeout onInvited onKickedOut onLineBusy onNoResp onReject]"; got != w {
		t.Errorf("handlers subscribed by string were called for %s, want %s", got, w)
	}
}

// TestBrowserGroupCall: one page and two terminals in a group call; the
// page hears both, and both hear the page.
func TestBrowserGroupCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string][]string{"team": {"alice", "bob", "carol"}})
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:440", "--video-in", "none", "--auto-accept")
	carol := mediaClient(t, s, "carol", "--audio-in", "tone:880", "--video-in", "none", "--auto-accept")
	alice := s.sdkBrowser(t, "alice")

	alice.Eval(t, `await tc.groupCall({ userIDList: ['bob', 'carol'], type: 1, groupID: 'team' });`)
	for _, c := range []*client{bob, carol} {
		c.Expect(t, "INVITED", waitLong, is(map[string]any{"sponsor": "alice", "isFromGroup": true}))
	}
	for _, u := range []string{"bob", "carol"} {
		alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": u}))
	}
	// Those still ringing: at last nobody, both answered.
	alice.Expect(t, "GROUP_CALL_INVITEE_LIST_UPDATE", waitLong, is(map[string]any{"userIDList": []string{}}))
	for _, ev := range alice.eventsNamed("GROUP_CALL_INVITEE_LIST_UPDATE") {
		if l := fmt.Sprint(strs(ev, "userIDList")); l != "[]" && l != "[bob]" && l != "[carol]" && l != "[bob carol]" {
			t.Errorf("GROUP_CALL_INVITEE_LIST_UPDATE userIDList %s, want a part of [bob carol]", l)
		}
	}
	browserHears(t, alice, "bob", 440)
	browserHears(t, alice, "carol", 880)
	bob.Expect(t, "STATS", mediaWait, hearsSomething("alice"))
	carol.Expect(t, "STATS", mediaWait, hearsSomething("alice"))
	bob.Expect(t, "STATS", mediaWait, hears("carol", 880))

	holdPC(t, alice, "bob")
	bob.Send(t, "hangup")
	alice.Expect(t, "USER_LEAVE", waitLong, is(map[string]any{"userID": "bob"}))
	closedTo(t, alice, "bob") // at once, while the call goes on with carol
	if alice.Eval(t, `return tc.getPeerConnection('carol')?.connectionState;`) != "connected" {
		t.Errorf("the page's connection to carol is not up after bob left")
	}
	alice.Eval(t, `await tc.hangup();`)
	carol.Expect(t, "CALL_END", waitLong, nil)
}

// TestBrowserDevicesAndErrors: the device API mid-call (the far end keeps
// decoding the same stream), setVideoQuality, the views' stop calls,
// getUserMedia failures as ERROR 60003/60004/60005, and logout.
func TestBrowserDevicesAndErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:440", "--video-in", "pattern", "--auto-accept")
	alice := s.sdkBrowser(t, "alice")
	alice.Eval(t, viewsJS)

	alice.Eval(t, `await tc.call({ userID: 'bob', type: 2, timeout: 30 });`)
	alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))

	devs, _ := alice.Eval(t, `const c = await tc.getCameras(), m = await tc.getMicrophones();
		return { cameras: c, microphones: m };`).(map[string]any)
	cams, _ := devs["cameras"].([]any)
	mics, _ := devs["microphones"].([]any)
	if len(cams) == 0 || len(mics) == 0 {
		t.Fatalf("devices %v: want Chromium's fake camera and microphone", devs)
	}
	for _, d := range append(cams, mics...) {
		if m, _ := d.(map[string]any); str(m, "deviceId") == "" || str(m, "label") == "" {
			t.Errorf("device without id or label: %v", d)
		}
	}
	cam := str(cams[len(cams)-1].(map[string]any), "deviceId")
	mic := str(mics[len(mics)-1].(map[string]any), "deviceId")
	alice.Eval(t, fmt.Sprintf(`await tc.switchDevice({ deviceType: 'video', deviceId: %q });
		await tc.switchDevice({ deviceType: 'audio', deviceId: %q });`, cam, mic))
	bob.Forget("STATS")
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))
	bob.Expect(t, "STATS", mediaWait, hearsSomething("alice"))
	bob.ExpectNone(t, "USER_LEAVE", 0, nil)

	// 480p: bob decodes more than the default 320x240, at 4:3. Up to
	// 640x480: Chromium's own CPU adaptation may step it down to 480x360
	// on a loaded machine (CI saw that).
	alice.Eval(t, `await tc.setVideoQuality('480p');`)
	bob.Expect(t, "STATS", mediaWait, func(ev event) bool {
		v := sub(ev, "video")
		w, h := fnum(v, "width"), fnum(v, "height")
		return str(ev, "userID") == "alice" && w > 320 && w <= 640 && w*3 == h*4
	})

	alice.Eval(t, `await tc.startRemoteView({ userID: 'bob', videoViewDomID: 'remote' });
		await tc.startLocalView({ userID: 'alice', videoViewDomID: 'local' });`)
	// Any size: bob's congestion control may have stepped his video down
	// on a loaded machine (CI saw 160x120 here).
	browserSees(t, alice, "#remote", 0, 0)
	views := alice.Eval(t, `await tc.stopRemoteView({ userID: 'bob', videoViewDomID: 'remote' });
		await tc.stopLocalView({ userID: 'alice', videoViewDomID: 'local' });
		return document.querySelectorAll('#remote video, #local video').length;`)
	if views != float64(0) {
		t.Errorf("%v video elements left after stopRemoteView/stopLocalView", views)
	}
	browserHears(t, alice, "bob", 440) // the remote view stopped, the sound did not
	alice.Eval(t, `await tc.hangup();`)
	bob.Expect(t, "CALL_END", waitLong, nil)

	// getUserMedia refused, then no devices at all: each is reported with
	// TRTCCalling's code, and the call still goes through, receive-only.
	for _, tc := range []struct {
		name  string
		codes []int
	}{
		{"NotAllowedError", []int{60005}},
		{"NotFoundError", []int{60003, 60004}},
	} {
		alice.Eval(t, fmt.Sprintf(`
			window.__gum = window.__gum || navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
			navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('refused in the test', %q); };`, tc.name))
		alice.Eval(t, `await tc.call({ userID: 'bob', type: 2, timeout: 30 });`)
		for _, code := range tc.codes {
			alice.Expect(t, "ERROR", waitLong, is(map[string]any{"code": code}))
		}
		alice.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "bob"}))
		alice.Eval(t, `await tc.startRemoteView({ userID: 'bob', videoViewDomID: 'remote' });`)
		browserSees(t, alice, "#remote", 0, 0)
		alice.Eval(t, `await tc.hangup(); navigator.mediaDevices.getUserMedia = window.__gum;`)
		bob.Expect(t, "CALL_END", waitLong, nil)
	}

	alice.Eval(t, `await tc.logout();`)
	if msg := alice.EvalErr(t, `await tc.call({ userID: 'bob', type: 1 });`); msg == "" {
		t.Errorf("a call after logout did not fail")
	}
	alice.Forget("INVITED")
	bob.Send(t, "call alice audio 2")
	bob.Expect(t, "NO_RESP", waitLong, nil)
	alice.ExpectNone(t, "INVITED", 0, nil) // logged out: the page does not ring
}

// waitDOM waits until js (an expression) is true in the page.
func waitDOM(t *testing.T, b *client, what, js string) {
	t.Helper()
	deadline := time.Now().Add(mediaWait)
	for time.Now().Before(deadline) {
		if b.Eval(t, "return !!("+js+");") == true {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s never came (%s); status %v", b.user, what, js, b.Eval(t, `return document.querySelector('#status')?.textContent;`))
}

// TestWebSoftphone drives the page at / with its own fields and buttons:
// log in, video call a terminal user, mute, camera, switch, hang up; then
// answer a call from the terminal and see why it ended.
func TestWebSoftphone(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := mediaClient(t, s, "bob", "--audio-in", "tone:440", "--video-in", "pattern", "--auto-accept")
	alice := s.startBrowser(t, "alice", browserOpts{path: "/"})

	alice.Fill(t, "#login-sdkappid", testSDKAppID)
	alice.Fill(t, "#login-user", "alice")
	alice.Fill(t, "#login-sig", browserSig(t, "alice"))
	alice.Click(t, "#login-btn")
	waitDOM(t, alice, "logged in", `!document.querySelector('#logout-btn').disabled`)

	// A contact with presence: bob is online.
	alice.Fill(t, "#contact-add-user", "bob")
	alice.Click(t, "#contact-add-btn")
	waitDOM(t, alice, "bob online in the contacts", `document.querySelector('#presence-bob')?.textContent === 'online'`)

	alice.Fill(t, "#dial-user", "bob")
	alice.Click(t, "#call-video")
	bob.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "alice"}))
	browserSees(t, alice, "#remote-videos", 320, 240)
	browserSees(t, alice, "#local-video", 0, 0)
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))
	if dir := os.Getenv("TERMCALL_SCREENSHOTS"); dir != "" {
		alice.Screenshot(t, filepath.Join(dir, "web-incall.png"))
	}
	alice.Screenshot(t, filepath.Join(t.TempDir(), "incall.png"))

	alice.Click(t, "#mute")
	bob.Expect(t, "USER_AUDIO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isAudioAvailable": false}))
	alice.Click(t, "#camera")
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isVideoAvailable": false}))
	alice.Click(t, "#to-audio")
	bob.Expect(t, "CALL_TYPE_CHANGED", waitLong, is(map[string]any{"newCallType": 1}))
	// Back to video: asking for video turns the camera on again, and bob
	// sees alice once more.
	alice.Click(t, "#to-video")
	bob.Expect(t, "CALL_TYPE_CHANGED", waitLong, is(map[string]any{"newCallType": 2}))
	bob.Expect(t, "USER_VIDEO_AVAILABLE", waitLong, is(map[string]any{"userID": "alice", "isVideoAvailable": true}))
	bob.Forget("STATS")
	bob.Expect(t, "STATS", mediaWait, seesSomeVideo("alice"))
	waitDOM(t, alice, "the camera button offering to turn it off", `document.querySelector('#camera').textContent === 'Turn camera off'`)
	alice.Click(t, "#hangup")
	bob.Expect(t, "CALL_END", waitLong, nil)
	waitDOM(t, alice, "the call screen gone", `document.querySelector('#call').hidden`)
	waitDOM(t, alice, "bob online again", `document.querySelector('#presence-bob')?.textContent === 'online'`)

	// Terminal → page: the prompt, accept, and the reason the call ended.
	bob.Send(t, "call alice audio 30")
	waitDOM(t, alice, "the incoming prompt", `!document.querySelector('#incoming').hidden &&
		document.querySelector('#incoming-from').textContent.includes('bob')`)
	alice.Click(t, "#accept")
	bob.Expect(t, "USER_ENTER", mediaWait, is(map[string]any{"userID": "alice"}))
	browserHears(t, alice, "bob", 440)
	bob.Send(t, "hangup")
	waitDOM(t, alice, "why the call ended", `document.querySelector('#status').textContent.includes('bob hung up')`)

	// A rejected call says so.
	bob.Send(t, "call alice audio 30")
	waitDOM(t, alice, "the incoming prompt", `!document.querySelector('#incoming').hidden`)
	alice.Click(t, "#reject")
	bob.Expect(t, "REJECT", waitLong, is(map[string]any{"userID": "alice"}))
	bob.Expect(t, "CALL_END", waitLong, nil)

	// Log out: the login form again, and a call to alice rings nowhere.
	alice.Click(t, "#logout-btn")
	waitDOM(t, alice, "the login form", `!document.querySelector('#login-btn').disabled &&
		document.querySelector('#me').textContent === 'Not logged in'`)
	bob.Send(t, "call alice audio 2")
	bob.Expect(t, "NO_RESP", waitLong, is(map[string]any{"userID": "alice"}))
	if alice.Eval(t, `return document.querySelector('#incoming').hidden;`) != true {
		t.Errorf("the logged-out page shows an incoming call")
	}
}

// TestOriginalPageCallsTUI: a page written for Tencent's TRTCCalling, with
// only its import line and SDKAppID changed (testdata), video calls a user
// of termcall's TUI in a real terminal; the TUI user answers with its key,
// each sees the other's video, and the page's hangup ends the call there.
func TestOriginalPageCallsTUI(t *testing.T) {
	t.Parallel()
	bin := tmuxBinary(t)
	s := startServer(t, nil)
	tm := newTerm(t, []string{"COLORTERM=truecolor", "XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()},
		fmt.Sprintf("%s --server %s --sdkappid %s --user carol --secret %s --ice-loopback --audio-in tone:440 --audio-out null --video-in pattern",
			bin, s.URL, testSDKAppID, testSecret))
	tm.waitText("carol")

	page, err := filepath.Abs(filepath.Join("testdata", "trtccalling-original.html"))
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/original.html?userID=alice&userSig=%s&callee=carol", browserSig(t, "alice"))
	alice := s.startBrowser(t, "alice", browserOpts{path: path, fulfill: map[string]string{"/original.html": page}})
	screen := tm.waitText("Incoming video call")
	if !strings.Contains(screen, "from alice") {
		t.Fatalf("the TUI's prompt does not say who calls:\n%s", screen)
	}
	tm.keys("a")
	tm.waitText("In call")
	waitDOM(t, alice, "carol entering", `[...document.querySelectorAll('#log li')].some((li) => li.textContent === 'enter carol')`)
	browserSees(t, alice, "#remote_video", 320, 240)
	browserSees(t, alice, "#local_video", 0, 0)
	tm.waitFor("alice's video drawn in the terminal", func(_, esc string) bool { return videoCells(esc) > 200 })

	alice.Click(t, "#hangup")
	tm.waitText("Call ended")
	waitDOM(t, alice, "the page's CALL_END", `[...document.querySelectorAll('#log li')].some((li) => li.textContent === 'end')`)
	if errs := alice.Eval(t, `return [...document.querySelectorAll('#log li')].filter((li) => li.textContent.startsWith('error')).map((li) => li.textContent);`); fmt.Sprint(errs) != "[]" {
		t.Errorf("the page logged errors: %v", errs)
	}
}

package rtc

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"
)

// browserLike is a pion peer with its own codec preferences, standing in
// for a browser: it offers audio and video in the order its codecs are
// registered. It sends Opus, and VP8 if sendVP8 (else it only receives
// video: pion's own track would be in its first codec).
func browserLike(t *testing.T, sendVP8 bool, video ...webrtc.RTPCodecParameters) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	must(t, me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}, webrtc.RTPCodecTypeAudio))
	must(t, me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 0, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}, webrtc.RTPCodecTypeAudio))
	for _, c := range video {
		must(t, me.RegisterCodec(c, webrtc.RTPCodecTypeVideo))
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	must(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	add := func(mime string, clock uint32, channels uint16, kind string) {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: clock, Channels: channels}, kind, "browser")
		must(t, err)
		_, err = pc.AddTrack(tr)
		must(t, err)
	}
	add(webrtc.MimeTypeOpus, 48000, 2, "audio")
	if sendVP8 {
		add(webrtc.MimeTypeVP8, 90000, 0, "video")
	} else {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		must(t, err)
	}
	return pc
}

func videoCodec(pt webrtc.PayloadType, mime, fmtp string) webrtc.RTPCodecParameters {
	// What Chrome offers for each video codec.
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if mime == webrtc.MimeTypeRTX {
		fb = nil
	}
	return webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: fb}}
}

// section is one m= section of an SDP: its payload types and its
// a=rtpmap, a=fmtp and a=rtcp-fb values by payload type.
type section struct {
	media    string
	port     string
	payloads []string
	rtpmap   map[string]string
	fmtp     map[string]string
	fb       map[string][]string
}

func sections(sdp string) []section {
	var out []section
	for _, part := range strings.Split(sdp, "\nm=")[1:] {
		lines := strings.Split(strings.ReplaceAll(part, "\r", ""), "\n")
		f := strings.Fields(lines[0]) // video 9 UDP/TLS/RTP/SAVPF 96 97
		s := section{media: f[0], port: f[1], payloads: f[3:], rtpmap: map[string]string{}, fmtp: map[string]string{}, fb: map[string][]string{}}
		for _, l := range lines[1:] {
			for prefix, m := range map[string]map[string]string{"a=rtpmap:": s.rtpmap, "a=fmtp:": s.fmtp} {
				if v, ok := strings.CutPrefix(l, prefix); ok {
					pt, rest, _ := strings.Cut(v, " ")
					m[pt] = rest
				}
			}
			if v, ok := strings.CutPrefix(l, "a=rtcp-fb:"); ok {
				pt, rest, _ := strings.Cut(v, " ")
				s.fb[pt] = append(s.fb[pt], rest)
			}
		}
		out = append(out, s)
	}
	return out
}

func sectionOf(t *testing.T, sdp, media string) section {
	t.Helper()
	for _, s := range sections(sdp) {
		if s.media == media {
			return s
		}
	}
	t.Fatalf("no m=%s section in\n%s", media, sdp)
	return section{}
}

// answerTo has a fresh mesh answer pc's offer and returns the answer.
func answerTo(t *testing.T, pc *webrtc.PeerConnection, cb Callbacks) (string, *Mesh) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	must(t, err)
	must(t, pc.SetLocalDescription(offer))
	var mu sync.Mutex
	var answer string
	cb.Send = func(_ string, payload json.RawMessage) error {
		var sig Signal
		if err := json.Unmarshal(payload, &sig); err != nil {
			t.Errorf("mesh sent %s: %v", payload, err)
		}
		if sig.Kind == "answer" {
			mu.Lock()
			answer = sig.SDP
			mu.Unlock()
		}
		return nil
	}
	m, err := New(Config{LoopbackOnly: true}, cb)
	must(t, err)
	t.Cleanup(func() { _ = m.Close() })
	b, err := json.Marshal(Signal{Kind: "offer", SDP: offer.SDP})
	must(t, err)
	must(t, m.HandleSignal("browser", b))
	mu.Lock()
	defer mu.Unlock()
	if answer == "" {
		t.Fatal("no answer sent")
	}
	// The answer is one the offerer accepts.
	must(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
	return answer, m
}

// A browser that prefers VP9 (then VP8, then H.264) gets an answer with
// VP8 only, so it sends VP8: with pion's default codecs it got VP9 and
// termcall decoded nothing.
func TestAnswerToVP9FirstOfferIsVP8Only(t *testing.T) {
	pc := browserLike(t, true,
		videoCodec(98, webrtc.MimeTypeVP9, "profile-id=0"), videoCodec(99, webrtc.MimeTypeRTX, "apt=98"),
		videoCodec(96, webrtc.MimeTypeVP8, ""), videoCodec(97, webrtc.MimeTypeRTX, "apt=96"),
		videoCodec(102, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
		videoCodec(103, webrtc.MimeTypeRTX, "apt=102"),
	)
	var reported []error
	answer, _ := answerTo(t, pc, Callbacks{UnsupportedCodec: func(_ string, err error) { reported = append(reported, err) }})
	if offer := sectionOf(t, pc.LocalDescription().SDP, "video"); !slices.Equal(offer.payloads, []string{"98", "99", "96", "97", "102", "103"}) {
		t.Fatalf("the offer's video payloads are %v, want VP9 first", offer.payloads)
	}

	v := sectionOf(t, answer, "video")
	if !slices.Equal(v.payloads, []string{"96", "97"}) {
		t.Errorf("answer's video payload types %v, want [96 97] (VP8 and its RTX)", v.payloads)
	}
	if v.rtpmap["96"] != "VP8/90000" || v.rtpmap["97"] != "rtx/90000" || v.fmtp["97"] != "apt=96" {
		t.Errorf("answer's video rtpmap %v fmtp %v, want 96 VP8/90000, 97 rtx/90000 apt=96", v.rtpmap, v.fmtp)
	}
	if len(v.rtpmap) != 2 {
		t.Errorf("answer maps other video payloads: %v", v.rtpmap)
	}
	// The feedback termcall's interceptors use; the offer's goog-remb is
	// not taken up (nothing here computes REMB).
	for _, fb := range []string{"nack", "nack pli", "ccm fir", "transport-cc"} {
		if !slices.Contains(v.fb["96"], fb) {
			t.Errorf("answer lacks a=rtcp-fb:96 %s (has %v)", fb, v.fb["96"])
		}
	}
	if slices.Contains(v.fb["96"], "goog-remb") {
		t.Errorf("answer offers goog-remb: %v", v.fb["96"])
	}
	if len(v.fb["97"]) != 0 {
		t.Errorf("feedback on RTX: %v", v.fb["97"])
	}
	a := sectionOf(t, answer, "audio")
	if !slices.Equal(a.payloads, []string{"111"}) || a.rtpmap["111"] != "opus/48000/2" {
		t.Errorf("answer's audio payloads %v rtpmap %v, want Opus 111 only (no PCMU)", a.payloads, a.rtpmap)
	}
	if len(reported) != 0 {
		t.Errorf("VP8 is shared, yet reported %v", reported)
	}
	// And the browser side agrees: it sends VP8.
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		codecs := tr.Sender().GetParameters().Codecs
		if len(codecs) == 0 || codecs[0].MimeType != webrtc.MimeTypeVP8 {
			t.Errorf("the offerer would send %+v, want VP8 first", codecs)
		}
	}
}

// An offer whose video has no VP8 at all is answered with the video
// rejected and audio kept (pion would otherwise refuse to answer, and the
// call would never connect), and the peer is reported once.
func TestOfferWithoutVP8KeepsAudioAndReports(t *testing.T) {
	pc := browserLike(t, false, videoCodec(98, webrtc.MimeTypeVP9, "profile-id=0"), videoCodec(102, webrtc.MimeTypeH264, "packetization-mode=1"))
	var mu sync.Mutex
	var reported []error
	answer, m := answerTo(t, pc, Callbacks{UnsupportedCodec: func(id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "browser" {
			t.Errorf("reported %q", id)
		}
		reported = append(reported, err)
	}})
	if v := sectionOf(t, answer, "video"); v.port != "0" {
		t.Errorf("video section port %s, want 0 (rejected): %+v", v.port, v)
	}
	if a := sectionOf(t, answer, "audio"); a.port == "0" || !slices.Equal(a.payloads, []string{"111"}) {
		t.Errorf("audio section %+v, want Opus kept", a)
	}
	// The same offer again (a renegotiation) does not report it again.
	b, _ := json.Marshal(Signal{Kind: "offer", SDP: pc.CurrentLocalDescription().SDP})
	if err := m.HandleSignal("browser", b); err != nil {
		t.Logf("re-offer: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !errors.Is(reported[0], ErrUnsupportedCodec) ||
		!strings.Contains(reported[0].Error(), "VP9") || !strings.Contains(reported[0].Error(), "H264") {
		t.Fatalf("reported %v, want one ErrUnsupportedCodec naming VP9 and H264", reported)
	}
	t.Logf("reported: %v", reported[0])
}

func TestSupportedCodec(t *testing.T) {
	for _, c := range []struct {
		kind webrtc.RTPCodecType
		mime string
		want bool
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.MimeTypeOpus, true},
		{webrtc.RTPCodecTypeAudio, "audio/OPUS", true},
		{webrtc.RTPCodecTypeAudio, webrtc.MimeTypePCMU, false},
		{webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP8, true},
		{webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP9, false},
		{webrtc.RTPCodecTypeVideo, webrtc.MimeTypeH264, false},
		{webrtc.RTPCodecTypeVideo, webrtc.MimeTypeOpus, false},
	} {
		if got := supportedCodec(c.kind, c.mime); got != c.want {
			t.Errorf("supportedCodec(%s, %s) = %v", c.kind, c.mime, got)
		}
	}
}

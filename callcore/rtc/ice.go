package rtc

import (
	"errors"
	"strings"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/rtcerr"
)

// ICEServerError is one URL of an ICE server that cannot be used. It
// matches ErrICEServer with errors.Is.
type ICEServerError struct {
	URL string // as configured; "" for a server without URLs
	Err error  // why (pion's reason where pion refuses it)
}

func (e *ICEServerError) Error() string {
	if e.URL == "" {
		return "ice server: " + e.Err.Error()
	}
	return "ice server " + e.URL + ": " + e.Err.Error()
}

// Unwrap makes errors.Is match ErrICEServer and the reason.
func (e *ICEServerError) Unwrap() []error { return []error{ErrICEServer, e.Err} }

var errNoURLs = errors.New("no URLs")

// CheckICEServers splits STUN/TURN servers into those a PeerConnection
// accepts and the reasons for the rest. pion refuses a whole
// PeerConnection, and so the whole call, for a single bad server; Mesh uses
// only the usable ones.
//
// Each URL is checked on its own with pion's own parsing and validation
// (what webrtc.API.NewPeerConnection applies): a scheme other than stun:,
// stuns:, turn: or turns:, a bad host, port or query (stun: URLs lose
// their query first, as pion does), and a turn:/turns: URL without a
// username or with a credential that is not a non-empty string (pion
// itself accepts an empty one; no TURN server does). A server comes back
// in usable with only its good URLs, its Username, Credential and
// CredentialType untouched; a server left with no URL is dropped. problems
// holds one *ICEServerError (errors.Is ErrICEServer) per URL left out, and
// one for a server without URLs; its message names the URL and the reason,
// never the credential, so it can be shown to the user as it is.
//
// Nothing is resolved or contacted: a server that passes can still be
// unreachable, or refuse the credential, at call time.
func CheckICEServers(in []webrtc.ICEServer) (usable []webrtc.ICEServer, problems []error) {
	api := webrtc.NewAPI()
	for _, srv := range in {
		if len(srv.URLs) == 0 {
			problems = append(problems, &ICEServerError{Err: errNoURLs})
			continue
		}
		good := srv
		good.URLs = nil
		for _, u := range srv.URLs {
			if err := checkICEURL(api, srv, u); err != nil {
				problems = append(problems, &ICEServerError{URL: u, Err: err})
				continue
			}
			good.URLs = append(good.URLs, u)
		}
		if len(good.URLs) > 0 {
			usable = append(usable, good)
		}
	}
	return usable, problems
}

var (
	errNoCredential = errors.New("a TURN server needs a credential (password)")
	errNoUsername   = errors.New("a TURN server needs a username")
)

// checkICEURL validates one URL of srv as pion does.
func checkICEURL(api *webrtc.API, srv webrtc.ICEServer, u string) error {
	one := srv
	lower := strings.ToLower(strings.TrimSpace(u))
	turn := strings.HasPrefix(lower, "turn:") || strings.HasPrefix(lower, "turns:")
	if strings.HasPrefix(u, "stun") {
		// pion strips a stun(s): URL's query before validating.
		u, _, _ = strings.Cut(u, "?")
	}
	one.URLs = []string{u}
	if turn {
		// pion's own messages for these are generic.
		if srv.Username == "" {
			return errNoUsername
		}
		if c, ok := srv.Credential.(string); srv.CredentialType == webrtc.ICECredentialTypePassword && (!ok || c == "") {
			return errNoCredential
		}
	}
	// NewICEGatherer runs pion's ICEServer validation and nothing else: it
	// starts no goroutine and opens no socket until Gather.
	if _, err := api.NewICEGatherer(webrtc.ICEGatherOptions{ICEServers: []webrtc.ICEServer{one}}); err != nil {
		var access *rtcerr.InvalidAccessError
		if errors.As(err, &access) && access.Err != nil {
			err = access.Err
		}
		return err
	}
	return nil
}

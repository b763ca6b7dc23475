package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ICEServer is one STUN or TURN server, as WebRTC's RTCIceServer: URLs
// (stun:, stuns:, turn:, turns:) and, for TURN, the username and
// credential the TURN server expects.
//
// In the config file an entry of ice_servers is either a plain URL string
// (no credentials: STUN) or a table:
//
//	ice_servers = [
//	  "stun:stun.example.com:3478",
//	  { urls = ["turn:turn.example.com:3478?transport=udp"], username = "alice", credential = "s3cret" },
//	]
type ICEServer struct {
	URLs       []string `toml:"urls"`
	Username   string   `toml:"username,omitempty"`
	Credential string   `toml:"credential,omitempty"`
}

// String names the server in messages: its URLs, never the credential.
func (s ICEServer) String() string {
	name := strings.Join(s.URLs, ",")
	if s.Username != "" {
		name += " (user " + s.Username + ")"
	}
	return name
}

// UnmarshalTOML accepts a URL string or a table with urls (a string or
// an array of strings), username and credential. Other keys are an error,
// as everywhere in the file, so that a typo is not silently ignored.
func (s *ICEServer) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = ICEServer{URLs: []string{v}}
		return nil
	case map[string]any:
		var out ICEServer
		var unknown []string
		for k, val := range v {
			var err error
			switch k {
			case "urls":
				out.URLs, err = stringOrStrings(val)
			case "username":
				out.Username, err = tomlString(val)
			case "credential":
				out.Credential, err = tomlString(val)
			default:
				unknown = append(unknown, k)
			}
			if err != nil {
				return fmt.Errorf("ice_servers: %s: %w", k, err)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("%w: ice_servers: %s (want urls, username, credential)", ErrUnknownKey, strings.Join(unknown, ", "))
		}
		*s = out
		return nil
	}
	return fmt.Errorf("ice_servers: %T: want a URL string or a table {urls = [...], username = ..., credential = ...}", v)
}

func tomlString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%T is not a string", v)
	}
	return s, nil
}

func stringOrStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, err := tomlString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%T is not a string or an array of strings", v)
}

// isTURN reports whether u is a turn: or turns: URL, which need
// credentials.
func isTURN(u string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	scheme = strings.ToLower(scheme)
	return scheme == "turn" || scheme == "turns"
}

// ICEServersFromFlags builds the servers the flags --ice-server (urls,
// repeatable), --ice-username and --ice-credential describe: each URL is a
// server of its own, and the username and credential go with every turn:
// and turns: URL (STUN needs none). Credentials without a TURN URL to use
// them with are an error: they would be silently unused.
func ICEServersFromFlags(urls []string, username, credential string) ([]ICEServer, error) {
	hasTURN := slices.ContainsFunc(urls, isTURN)
	if (username != "" || credential != "") && !hasTURN {
		return nil, fmt.Errorf("%w: --ice-username and --ice-credential go with a turn: or turns: URL given with --ice-server; there is none", ErrInvalid)
	}
	out := make([]ICEServer, 0, len(urls))
	for _, u := range urls {
		s := ICEServer{URLs: []string{u}}
		if isTURN(u) {
			s.Username, s.Credential = username, credential
		}
		out = append(out, s)
	}
	return out, nil
}

package load

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckTarget refuses a server URL whose host is not this machine's
// loopback unless allowRemote names that very host: a load test is an
// attack on whoever runs the server, so a typo must not aim it elsewhere.
func CheckTarget(rawURL, allowRemote string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("--server %q: %w", rawURL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("--server %q: %w (want ws:// or wss://)", rawURL, ErrBadTarget)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("--server %q: %w: no host", rawURL, ErrBadTarget)
	}
	if isLoopback(host) {
		return nil
	}
	if allowRemote != "" && strings.EqualFold(host, allowRemote) {
		return nil
	}
	return fmt.Errorf("--server %q: %w: %s is not this machine's loopback; pass --allow-remote %s if you mean to load it", rawURL, ErrRemoteRefused, host, host)
}

// isLoopback reports whether host is a loopback IP or "localhost". Other
// names are not resolved: what a name resolves to may change under us.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

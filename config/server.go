package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
)

// ServerList is the signaling servers to log in to, in order: one URL, or
// several nodes of one service, which the client fails over between when
// its node goes away. In the config file server is a string or an array
// of strings:
//
//	server = "ws://127.0.0.1:7788/ws"
//	server = ["wss://a.example.com/ws", "wss://b.example.com/ws"]
//
// On the command line (--server) it is a comma-separated list.
type ServerList []string

// ParseServerList splits a comma-separated --server value. Empty items are
// kept, so that Validate reports them rather than a typo going unnoticed;
// "" is no list at all (the default server).
func ParseServerList(s string) ServerList {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// ServerFlag is --server: it sets *l from a comma-separated list.
func ServerFlag(l *ServerList) pflag.Value { return serverFlag{l} }

type serverFlag struct{ l *ServerList }

func (f serverFlag) Set(s string) error { *f.l = ParseServerList(s); return nil }
func (f serverFlag) String() string     { return f.l.String() }
func (f serverFlag) Type() string       { return "urls" }

// String is the list as --server takes it.
func (l ServerList) String() string { return strings.Join(l, ",") }

// UnmarshalTOML accepts a URL string or an array of URL strings.
func (l *ServerList) UnmarshalTOML(v any) error {
	urls, err := stringOrStrings(v)
	if err != nil {
		return fmt.Errorf("server: %w (want \"ws://HOST:PORT/ws\" or an array of them)", err)
	}
	*l = urls
	return nil
}

// Validate checks every URL (ws:// or wss:// with a host) and returns the
// problems joined, each naming its URL; an empty list is one too.
func (l ServerList) Validate() error {
	return errors.Join(l.problems()...)
}

func (l ServerList) problems() []error {
	if len(l) == 0 {
		return []error{fmt.Errorf("%w: server is empty", ErrInvalid)}
	}
	var errs []error
	for i, s := range l {
		name := "server"
		if len(l) > 1 {
			name = fmt.Sprintf("server[%d]", i)
		}
		if s == "" {
			errs = append(errs, fmt.Errorf("%w: %s is empty", ErrInvalid, name))
		} else if u, err := url.Parse(s); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%w: %s %q: want ws://HOST:PORT/ws or wss://HOST:PORT/ws", ErrInvalid, name, s))
		}
	}
	return errs
}

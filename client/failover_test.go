package client_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/internal/testcert"
	"github.com/termcall/termcall/server"
)

func deadURL(t *testing.T, scheme string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return scheme + "://" + addr + "/ws"
}

// Options.Servers reaches the engine: the login skips a dead first node.
// An untrusted certificate on the live one is still explained, although
// the error now carries one failure per server.
func TestServersLogin(t *testing.T) {
	url := startServer(t, nil)
	if err := login(t, client.Options{Servers: []string{deadURL(t, "ws"), url}, SDKAppID: appID, UserID: "alice", Secret: secret}); err != nil {
		t.Fatalf("login through the second server: %v", err)
	}

	files := testcert.Write(t)
	tlsURL := startServer(t, func(o *server.Options) { o.TLSCertFile, o.TLSKeyFile = files.Cert, files.Key })
	o := client.Options{Servers: []string{deadURL(t, "wss"), tlsURL}, SDKAppID: appID, UserID: "bob", Secret: secret}
	err := login(t, o)
	if !errors.Is(err, signal.ErrUntrustedCert) || !strings.Contains(err.Error(), "--ca") || !strings.Contains(err.Error(), tlsURL) {
		t.Fatalf("login without the CA: %v", err)
	}
	o.CAFile = files.CA
	if err := login(t, o); err != nil {
		t.Fatalf("login with the CA: %v", err)
	}
}

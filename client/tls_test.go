package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/callcore"
	"github.com/termcall/termcall/callcore/signal"
	"github.com/termcall/termcall/client"
	"github.com/termcall/termcall/internal/testcert"
	"github.com/termcall/termcall/server"
)

func login(t *testing.T, o client.Options) error {
	t.Helper()
	c, err := client.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Login(ctx)
}

// Options.CAFile reaches the engine's dialer: with it the login goes
// through, without it the error says the certificate is not trusted and
// how to fix that.
func TestTLSLogin(t *testing.T) {
	files := testcert.Write(t)
	url := startServer(t, func(o *server.Options) { o.TLSCertFile, o.TLSKeyFile = files.Cert, files.Key })
	o := client.Options{Server: url, SDKAppID: appID, UserID: "alice", Secret: secret}

	err := login(t, o)
	if !errors.Is(err, signal.ErrUntrustedCert) || !strings.Contains(err.Error(), "not trusted") || !strings.Contains(err.Error(), "--ca") {
		t.Fatalf("login without the CA: %v", err)
	}
	o.CAFile = files.CA
	if err := login(t, o); err != nil {
		t.Fatalf("login with the CA: %v", err)
	}
}

func TestTLSBadCAFile(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{junk, junk + ".missing"} {
		_, err := client.New(client.Options{Server: "wss://127.0.0.1:1/ws", SDKAppID: appID, UserID: "alice", Secret: secret, CAFile: f})
		if !errors.Is(err, callcore.ErrInvalidArgument) || !strings.Contains(err.Error(), "CA file") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

package signal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTLSTrustAndRedial(t *testing.T) {
	fs := startFakeServer(t, true)
	if !strings.HasPrefix(fs.url(), "wss://") {
		t.Fatalf("url %s", fs.url())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// The system roots do not know httptest's certificate.
	if c, err := Dial(ctx, Config{URL: fs.url()}); !errors.Is(err, ErrUntrustedCert) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("untrusted dial: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(fs.srv.Certificate())
	c := dial(t, Config{URL: fs.url(), TLS: &tls.Config{RootCAs: pool}, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	if err := c.Request(ctx, "echo", map[string]int{"a": 1}, nil); err != nil {
		t.Fatal(err)
	}
	// The redial uses the same TLS config, so it verifies too.
	fs.dropAll()
	eventually(t, "redial", func() bool { return fs.conns.Load() >= 2 })
	eventually(t, "echo after redial", func() bool { return c.Request(ctx, "echo", nil, nil) == nil })
}

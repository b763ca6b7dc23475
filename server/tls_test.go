package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/termcall/termcall/internal/testcert"
)

func TestTLSOptions(t *testing.T) {
	files := testcert.Write(t)
	other := testcert.Write(t)
	for name, mod := range map[string]func(*Options){
		"cert only":  func(o *Options) { o.TLSCertFile = files.Cert },
		"key only":   func(o *Options) { o.TLSKeyFile = files.Key },
		"no file":    func(o *Options) { o.TLSCertFile, o.TLSKeyFile = files.Cert+".missing", files.Key },
		"mismatched": func(o *Options) { o.TLSCertFile, o.TLSKeyFile = files.Cert, other.Key },
	} {
		o := testOptions()
		mod(&o)
		if _, err := New(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTLSServe(t *testing.T) {
	files := testcert.Write(t)
	s := runServer(t, func(o *Options) { o.TLSCertFile, o.TLSKeyFile = files.Cert, files.Key })
	if !strings.HasPrefix(s.URL(), "wss://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	// Without the CA the handshake fails on the client's side.
	if ws, _, err := websocket.DefaultDialer.Dial(s.URL(), nil); err == nil {
		_ = ws.Close()
		t.Fatal("dialled without trusting the CA")
	} else if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Fatalf("untrusted dial: %v", err)
	}
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	ws, _, err := d.Dial(s.URL(), nil)
	if err != nil {
		t.Fatalf("dial with the CA: %v", err)
	}
	c := newClient(t, ws)
	if _, perr := c.loginAs("alice", ""); perr != nil {
		t.Fatalf("login: %v", perr)
	}
}

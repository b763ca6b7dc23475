// Package testserver runs a real termcall signaling server in the test's
// process, on a free port, for the tests of the packages that talk to it.
package testserver

import (
	"context"
	"testing"
	"time"

	"github.com/termcall/termcall/server"
)

// Start creates and starts a server with o; it shuts down when the test ends.
func Start(t testing.TB, o server.Options) *server.Server {
	t.Helper()
	srv, err := server.New(o)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("server start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// Package testnats runs a NATS server with JetStream for tests, in-process
// on a free port of 127.0.0.1, as an external deployment would be.
package testnats

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// URL starts a NATS server with JetStream (its store in a temporary
// directory) that shuts down when the test ends, and returns its client URL.
func URL(t testing.TB) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

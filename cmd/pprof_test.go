package cmd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServePprof(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:0", "example.com:0", "nonsense"} {
		if err := servePprof(t.Context(), addr, log); err == nil {
			t.Errorf("--pprof %s accepted, want only loopback", addr)
		}
	}
	// A free loopback port, then the profiles on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := servePprof(ctx, addr, log); err != nil {
		t.Fatalf("--pprof %s: %v", addr, err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("goroutine profile: %s %.200s", resp.Status, body)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := c.Get("http://" + addr + "/debug/pprof/"); err != nil {
			return // closed with its context
		}
	}
	t.Error("pprof still served after its context ended")
}

package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServesSDKAndApp(t *testing.T) {
	h := Handler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/sdk/trtc-calling.js", "text/javascript; charset=utf-8", "export default"},
		{"/sdk/trtc-calling.d.ts", "text/plain; charset=utf-8", "TRTCCalling"},
		{"/", "text/html; charset=utf-8", "<html"},
		{"/app.js", "text/javascript; charset=utf-8", "trtc-calling.js"},
		{"/index.html", "text/html; charset=utf-8", "<html"},
	} {
		w := get(t, h, http.MethodGet, tc.path, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, w.Code)
		}
		if got := w.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("GET %s: body without %q", tc.path, tc.contains)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		// A page loaded again is revalidated: 304 with the same ETag.
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", tc.path)
		}
		if w2 := get(t, h, http.MethodGet, tc.path, map[string]string{"If-None-Match": etag}); w2.Code != http.StatusNotModified || w2.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes; want 304, empty", tc.path, w2.Code, w2.Body.Len())
		}
	}
}

func TestRefusesWhatItDoesNotHave(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/nope.js", "/sdk/", "/sdk/../web.go", "/../../etc/passwd", "/web.go", "/app/index.html"} {
		if w := get(t, h, http.MethodGet, p, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	if w := get(t, h, http.MethodPost, "/", nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
		t.Errorf("POST /: %d, Allow %q; want 405 with Allow", w.Code, w.Header().Get("Allow"))
	}
	if w := get(t, h, http.MethodGet, "/sdk/trtc-calling.js", nil); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("the SDK cannot be imported from other origins: ACAO %q", w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w := get(t, h, http.MethodHead, "/sdk/trtc-calling.js", nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", w.Code, w.Body.Len())
	}
}

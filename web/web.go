// Package web holds termcall's browser side, embedded in the binary and
// served by `termcall serve` next to /ws: the TRTCCalling SDK module at
// /sdk/ (sdk/trtc-calling.js, a drop-in for Tencent's trtc-calling-js that
// talks to termcall's server) and the web softphone built on it at /
// (app/). Nothing is fetched at run time.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed sdk app
var files embed.FS

// csp keeps the pages to their own origin: scripts, styles and media from
// it only, the websocket to it, video from local streams.
const csp = "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; " +
	"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the SDK under /sdk/ and the softphone at / (index.html)
// and /NAME for its other files. Anything else is 404.
func Handler() http.Handler {
	assets := make(map[string]asset)
	add := func(dir, prefix string) {
		sub, err := fs.Sub(files, dir)
		if err != nil {
			panic(err) // the embed patterns name both directories
		}
		_ = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(sub, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			assets[prefix+p] = asset{body: b, contentType: contentType(p), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
	}
	add("sdk", "/sdk/")
	add("app", "/")
	if a, ok := assets["/index.html"]; ok {
		assets["/"] = a
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a, ok := assets[path.Clean(r.URL.Path)]
		if r.URL.Path == "/" {
			a, ok = assets["/"]
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		// Revalidated on every load, so a new termcall's files are used at
		// once; the ETag makes that a 304.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/sdk/") {
			// Pages on other origins import the SDK from here, as they
			// imported trtc-calling-js from a CDN.
			h.Set("Access-Control-Allow-Origin", "*")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".ts": // trtc-calling.d.ts: read by editors and tsc, never run
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

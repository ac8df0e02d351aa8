// Package ui is the web dashboard served under /ui/: plain HTML, CSS and
// JavaScript modules embedded in the binary, with hand-made SVG charts.
// There is no build step and nothing is fetched from elsewhere, so it works
// on an air-gapped network. The pages call the same JSON API as any client
// (the admin API, or a team key's self-service endpoints), with the key the
// user signed in with as a bearer header; the key lives in the tab's
// sessionStorage and never in a URL.
package ui

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

//go:embed static
var static embed.FS

// securityHeaders keep the pages to their own origin: scripts, styles and
// requests only from it (no inline script, so an injected string cannot
// run), no framing, and no referrer carrying a path elsewhere.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

// file is one embedded asset with its validator.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the dashboard under /ui/: every asset by its path, and
// index.html for /ui/ itself. Assets are revalidated on every load (an ETag
// of their content), so an upgraded binary never serves a stale script.
func Handler() http.Handler {
	files := map[string]file{}
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[p] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/ui/")
		if p == "" {
			p = "index.html"
		}
		f, ok := files[p]
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		if !ok {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", f.etag)
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(f.body)
	})
}

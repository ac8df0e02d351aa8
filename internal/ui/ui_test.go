package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := Handler()
	w := get(t, h, "/ui/", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), `src="js/app.js"`) {
		t.Fatalf("GET /ui/ = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	etag := w.Header().Get("ETag")
	if w := get(t, h, "/ui/", map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified {
		t.Errorf("GET /ui/ with its ETag = %d; want 304", w.Code)
	}
	if w := get(t, h, "/ui/js/app.js", nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /ui/js/app.js = %d %s; want JavaScript (module scripts need it)", w.Code, w.Header().Get("Content-Type"))
	}
	for _, p := range []string{"/ui/nope.js", "/ui/../ui.go", "/ui/static/index.html"} {
		if w := get(t, h, p, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", p, w.Code)
		}
	}
}

// Every module an asset imports or links is embedded, and nothing is
// loaded from another origin: the dashboard must work air-gapped.
func TestAssetsSelfContained(t *testing.T) {
	ref := regexp.MustCompile(`(?:from\s+'([^']+)'|(?:src|href)="([^"]+)")`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`https?://[^\s'"]+`).FindAllString(string(b), -1) {
			if m != "http://www.w3.org/2000/svg" { // a namespace name, never fetched
				t.Errorf("%s names %s: nothing may come from elsewhere", p, m)
			}
		}
		dir := p[:strings.LastIndex(p, "/")]
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			target := m[1] + m[2]
			if strings.HasPrefix(target, "#") {
				continue
			}
			full := dir + "/" + target
			for strings.Contains(full, "/./") {
				full = strings.Replace(full, "/./", "/", 1)
			}
			for regexp.MustCompile(`[^/]+/\.\./`).MatchString(full) {
				full = regexp.MustCompile(`[^/]+/\.\./`).ReplaceAllString(full, "")
			}
			if _, err := fs.Stat(static, full); err != nil {
				t.Errorf("%s refers to %s, which is not embedded", p, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// sfdSpecOps reads the served OpenAPI document: "METHOD /path" of every
// operation, sorted.
func sfdSpecOps(t *testing.T, base string) (ops []string, paths []string) {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	for p, item := range doc.Paths {
		paths = append(paths, p)
		for m := range item {
			ops = append(ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(ops)
	sort.Strings(paths)
	return ops, paths
}

// TestStackForDevsDocsInChromium renders /docs in headless Chromium and
// checks that the page, once its script ran, lists every path of
// /openapi.json.
func TestStackForDevsDocsInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium is not installed (Debian: apt-get install -y chromium)")
	}
	srv := startServer(t, map[string]string{})
	ops, paths := sfdSpecOps(t, srv.URL)
	if len(ops) < 60 {
		t.Fatalf("the document has %d operations; want the whole API", len(ops))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", srv.URL+"/docs").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := html.UnescapeString(string(out))
	m := regexp.MustCompile(`id="ops" data-rendered="(\d+)"`).FindStringSubmatch(dom)
	if m == nil || m[1] != itoa(len(ops)) {
		t.Fatalf("rendered operation count %v; want %d (did the page's script run?)\n%.2000s", m, len(ops), dom)
	}
	for _, p := range paths {
		if !strings.Contains(dom, `<span class="path">`+p+`</span>`) {
			t.Errorf("path %s is not listed on the rendered page", p)
		}
	}
	for _, o := range ops {
		method, path, _ := strings.Cut(o, " ")
		if !strings.Contains(dom, `data-path="`+path+`" data-method="`+method+`"`) {
			t.Errorf("operation %s is not on the rendered page", o)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestStackForDevsDocumentedRoutesExist sends a request to every
// operation of /openapi.json and fails when the server does not know the
// route: the document must not promise what the server lacks.
func TestStackForDevsDocumentedRoutesExist(t *testing.T) {
	srv := startServer(t, map[string]string{})
	ops, _ := sfdSpecOps(t, srv.URL)
	fill := regexp.MustCompile(`\{[^}]+\}`)
	for _, o := range ops {
		method, path, _ := strings.Cut(o, " ")
		url := srv.URL + fill.ReplaceAllString(path, "x")
		req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		if resp.StatusCode == http.StatusMethodNotAllowed || (resp.StatusCode == 404 && strings.Contains(b.String(), "Unknown request URL")) {
			t.Errorf("%s is documented but the server does not serve it: %d %s", o, resp.StatusCode, b.String())
		}
	}
}

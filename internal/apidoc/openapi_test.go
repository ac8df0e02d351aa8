package apidoc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/apidoc"
)

// get answers GET path from the mux apidoc.Handler mounts.
func get(path string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	apidoc.Handler{}.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

// document returns the served /openapi.json, decoded.
func document(t *testing.T) map[string]any {
	t.Helper()
	w := get("/openapi.json")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var param = regexp.MustCompile(`\{[^}]*\}`)

// TestDocumentIsConsistent checks what an OpenAPI tool would trip on:
// unresolved $refs, path parameters without a declaration, duplicate
// operation IDs, operations without responses or tags.
func TestDocumentIsConsistent(t *testing.T) {
	doc := document(t)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	comps := doc["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	schemes := comps["securitySchemes"].(map[string]any)
	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = true
	}

	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				refs = append(refs, r)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	for _, r := range refs {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		if _, ok := schemas[name]; !ok {
			t.Errorf("$ref %s does not resolve", r)
		}
	}

	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, v := range item.(map[string]any) {
			op := v.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if prev, dup := ids[id]; dup || id == "" {
				t.Errorf("%s: operationId %q (also %s)", where, id, prev)
			}
			ids[id] = where
			if len(op["responses"].(map[string]any)) == 0 {
				t.Errorf("%s has no responses", where)
			}
			ts, _ := op["tags"].([]any)
			if len(ts) != 1 || !tags[ts[0].(string)] {
				t.Errorf("%s: tags %v not declared", where, ts)
			}
			declared := map[string]bool{}
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, m := range param.FindAllString(path, -1) {
				if !declared[strings.Trim(m, "{}")] {
					t.Errorf("%s: path parameter %s not declared", where, m)
				}
			}
			sec, _ := op["security"].([]any)
			for _, alt := range sec {
				for name := range alt.(map[string]any) {
					if _, ok := schemes[name]; !ok {
						t.Errorf("%s: security scheme %s not declared", where, name)
					}
				}
			}
		}
	}
}

// sourceRoute finds route patterns registered with a literal string.
var sourceRoute = regexp.MustCompile(`\.Handle(?:Func)?\(\s*"([A-Z]+) (/[^"]*)"`)

// normalize makes a Go mux pattern and an OpenAPI path comparable.
func normalize(method, path string) string {
	path = strings.TrimSuffix(path, "{$}")
	if path == "" {
		path = "/"
	}
	return method + " " + param.ReplaceAllString(path, "{}")
}

// TestEveryRouteIsDocumented reads every route the source registers and
// fails for any that the OpenAPI document lacks: a new route needs its
// entry in spec_*.go.
func TestEveryRouteIsDocumented(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Skipf("module root not found: %v", err)
	}
	documented := map[string]bool{}
	for _, r := range apidoc.Routes() {
		m, p, _ := strings.Cut(r, " ")
		documented[normalize(m, p)] = true
	}
	var missing []string
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range sourceRoute.FindAllStringSubmatch(string(b), -1) {
				if !documented[normalize(m[1], m[2])] {
					missing = append(missing, m[1]+" "+m[2]+" ("+path+")")
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("route %s is not in the OpenAPI document: add it to internal/apidoc/spec_*.go", m)
	}
}

func TestDocsPageInlinesTheDocument(t *testing.T) {
	w := get("/docs")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if strings.Contains(body, "/*OPENAPI*/") || !strings.Contains(body, `"openapi": "3.0.3"`) {
		t.Error("the page does not inline the document")
	}
	// No internet where llmservice often runs: nothing may load from elsewhere.
	for _, s := range []string{"<script src", "<link", "<img", "@import", "url("} {
		if strings.Contains(body, s) {
			t.Errorf("the page loads a resource (%q); it must be self-contained", s)
		}
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("no restrictive Content-Security-Policy")
	}
}

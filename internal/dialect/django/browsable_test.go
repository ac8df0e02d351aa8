package django

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestWelcome(t *testing.T) {
	e := newTestEnv(t)
	wantBody(t, e.send("GET", "/", "", nil), 200, `{"message":"Welcome to the LLM API!"}`)
	// Only the root itself: other paths stay with whoever serves them.
	if w := e.send("GET", "/nothing-here", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d; want 404", w.Code)
	}
}

func TestMethods(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		method, target string
		status         int
		allow, want    string
	}{
		{"GET", "/api/signup/", 405, "POST, OPTIONS", `{"detail":"Method \"GET\" not allowed."}`},
		{"PUT", "/api/token/", 405, "POST, OPTIONS", `{"detail":"Method \"PUT\" not allowed."}`},
		{"DELETE", "/api/supported-models/", 405, "GET, HEAD, OPTIONS", `{"detail":"Method \"DELETE\" not allowed."}`},
		{"POST", "/api/supported-models/", 405, "GET, HEAD, OPTIONS", `{"detail":"Method \"POST\" not allowed."}`},
		{"GET", "/api/chat/completions", 405, "POST, OPTIONS", `{"detail":"Method \"GET\" not allowed."}`},
		{"OPTIONS", "/api/signup/", 200, "POST, OPTIONS",
			`{"description":"Creates a user.","name":"Signup","parses":["application/json","application/x-www-form-urlencoded"],"renders":["application/json","text/html"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := e.send(tt.method, tt.target, "", nil)
			wantBody(t, w, tt.status, tt.want)
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q; want %q", got, tt.allow)
			}
		})
	}
}

func TestBrowsablePages(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name, target string
		accept       string
		status       int
		contains     []string
		lacks        []string
	}{
		{"root", "/", browser, 200,
			[]string{"<h1>Welcome</h1>", "HTTP 200 OK", "&#34;message&#34;: &#34;Welcome to the LLM API!&#34;", `href="/api/signup/"`, `href="/api/chat/completions/"`,
				`<form id="get-form" method="GET" action="/">`, `<form id="options-form" class="button-form" action="/" data-method="OPTIONS">`},
			[]string{`id="form"`, "https://", "http://"}},
		{"signup", "/api/signup/", browser, 405,
			[]string{"<h1>Signup</h1>", `<form id="form" method="POST" action="/api/signup/">`, `name="_content"`, "HTTP 405 Method Not Allowed",
				"Method \\&#34;GET\\&#34; not allowed.", "POST, OPTIONS", "charming_user", `id="options-form"`},
			[]string{`id="get"`}},
		{"chat with query", "/api/chat/completions/?provider=inhouse", browser, 405,
			[]string{`<form id="form" method="POST" action="/api/chat/completions/?provider=inhouse">`, `id="query" type="text" value="provider=inhouse"`},
			nil},
		{"chat default query", "/api/chat/completions/", browser, 405,
			[]string{`action="/api/chat/completions/?provider=openai"`}, nil},
		{"models without token", "/api/supported-models/?provider=openai", browser, 401,
			[]string{"HTTP 401 Unauthorized", "Authentication credentials were not provided.", "WWW-Authenticate",
				`<form id="get-form" method="GET" action="/api/supported-models/"><input type="hidden" name="provider" value="openai"><button type="submit" id="get">GET</button></form>`,
				`action="/api/supported-models/?provider=openai" data-method="OPTIONS"`},
			[]string{`id="form"`}},
		{"format=api", "/api/token/?format=api", "*/*", 405, []string{`action="/api/token/"`}, []string{"format=api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send("GET", tt.target, "", map[string]string{"Accept": tt.accept})
			body := w.Body.String()
			if w.Code != tt.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("%d %s; want %d text/html", w.Code, w.Header().Get("Content-Type"), tt.status)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
}

func TestBrowsableFormatJSON(t *testing.T) {
	e := newTestEnv(t)
	w := e.send("GET", "/?format=json", "", map[string]string{"Accept": browser})
	wantBody(t, w, 200, `{"message":"Welcome to the LLM API!"}`)
}

// A page's form posts _content without script; the answer is shown on the
// page.
func TestBrowsableFormPost(t *testing.T) {
	e := newTestEnv(t)
	w := e.send("POST", "/api/signup/", "_content_type=application%2Fjson&_content=%7B%22username%22%3A%22webuser%22%2C%22password%22%3A%22Tr0ubadour-horse%22%7D",
		map[string]string{"Accept": browser, "Content-Type": "application/x-www-form-urlencoded"})
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), "User created successfully") || !strings.Contains(w.Body.String(), "<html") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// A page cannot be turned into script by what the URL carries.
func TestBrowsableEscapes(t *testing.T) {
	e := newTestEnv(t)
	w := e.send("GET", `/api/chat/completions/?provider=%3Cscript%3Ealert(1)%3C/script%3E`, "", map[string]string{"Accept": browser})
	if strings.Contains(w.Body.String(), "<script>alert(1)") {
		t.Fatal("the query string reached the page unescaped")
	}
}

// The page's script parses (checked with node when it is installed).
func TestBrowsableScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	_, script, ok := strings.Cut(pageHTML, "<script>")
	script, _, ok2 := strings.Cut(script, "</script>")
	if !ok || !ok2 {
		t.Fatal("page has no script")
	}
	f := filepath.Join(t.TempDir(), "page.js")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}

package django

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice/internal/httpx"
)

// The browsable API: DRF renders every response as an HTML page when a
// browser asks for one, with request buttons (GET where the endpoint has
// it, OPTIONS everywhere, each a form as on DRF's pages) and, for POST
// endpoints, a form with a text box to send JSON to the endpoint. The
// seed tells people to try the API that way, so a GET from a browser on any
// of these URLs (even a POST-only one, which DRF answers with its 405 on
// the page) gets such a page. The page is plain HTML and a little script,
// with nothing loaded from elsewhere.

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

// wantsHTML reports whether r should get the browsable page: DRF's
// ?format=api or ?format=json decide, then the Accept header of a browser.
// Programs (curl, requests, fetch) send */* or application/json.
func wantsHTML(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "api":
		return true
	case "json":
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/html" {
			return true
		}
	}
	return false
}

// allow is the endpoint's Allow header, as DRF writes it.
func (e *endpoint) allow() string {
	var m []string
	if e.GET != nil {
		m = append(m, "GET", "HEAD")
	}
	if e.POST != nil {
		m = append(m, "POST")
	}
	return strings.Join(append(m, "OPTIONS"), ", ")
}

// serveEndpoint dispatches on the method and, for browsers, renders what
// the handler wrote inside the page.
func (h *Handler) serveEndpoint(e *endpoint, all []*endpoint) http.Handler {
	allow := e.allow()
	api := httpx.Handle(h.Log, writeError, func(w http.ResponseWriter, r *http.Request) error {
		switch {
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && e.GET != nil:
			return e.GET(w, r)
		case r.Method == http.MethodPost && e.POST != nil:
			return e.POST(w, r)
		case r.Method == http.MethodOptions:
			w.Header().Set("Allow", allow)
			return httpx.WriteJSON(w, http.StatusOK, map[string]any{
				"name": e.Name, "description": e.Description,
				"renders": []string{"application/json", "text/html"},
				"parses":  []string{"application/json", "application/x-www-form-urlencoded"},
			})
		}
		methodNotAllowed(w, r.Method, allow)
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if !wantsHTML(r) {
			api.ServeHTTP(w, r)
			return
		}
		c := &capture{header: http.Header{}}
		api.ServeHTTP(c, r)
		h.renderPage(w, r, e, all, c)
	})
}

// capture records a response so that the page can show it.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}

// Flush lets stream writers flush into the capture.
func (c *capture) Flush() {}

type pageHeader struct{ Name, Value string }

type pageLink struct{ Name, Path string }

type pageData struct {
	Name, Description, Allow string
	Path, Action, Query      string
	HasQuery, CanGet         bool
	QueryFields              []pageHeader // the query as the GET form's hidden fields
	CanPost                  bool
	Status                   int
	StatusText               string
	Headers                  []pageHeader
	Body                     string
	Example                  string
	Endpoints                []pageLink
}

func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, e *endpoint, all []*endpoint, c *capture) {
	d := pageData{Name: e.Name, Description: e.Description, Allow: e.allow(), Path: e.Path,
		CanGet: e.GET != nil, CanPost: e.POST != nil, HasQuery: e.Query != "",
		Status: c.status, StatusText: http.StatusText(c.status), Example: e.Example}
	if d.Status == 0 {
		d.Status, d.StatusText = http.StatusOK, "OK"
	}
	// Keep the caller's query (minus format) so that the form posts back to
	// the very URL the browser is on; fall back to the endpoint's default.
	q := r.URL.Query()
	q.Del("format")
	d.Query = q.Encode()
	if d.Query == "" {
		d.Query = e.Query
	}
	if qv, err := url.ParseQuery(d.Query); err == nil {
		for _, k := range slices.Sorted(maps.Keys(qv)) {
			for _, v := range qv[k] {
				d.QueryFields = append(d.QueryFields, pageHeader{k, v})
			}
		}
	}
	d.Action = e.Path
	if d.Query != "" {
		d.Action += "?" + d.Query
	}
	for _, name := range []string{"Allow", "Content-Type", "WWW-Authenticate", "Retry-After"} {
		if v := c.header.Get(name); v != "" {
			d.Headers = append(d.Headers, pageHeader{name, v})
		}
	}
	if c.header.Get("Allow") == "" {
		d.Headers = append([]pageHeader{{"Allow", d.Allow}}, d.Headers...)
	}
	d.Body = c.body.String()
	var pretty bytes.Buffer
	if json.Indent(&pretty, c.body.Bytes(), "", "    ") == nil {
		d.Body = pretty.String()
	}
	for _, x := range all {
		d.Endpoints = append(d.Endpoints, pageLink{x.Name, x.Path})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		h.Log.Error("render browsable page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	for _, name := range []string{"Allow", "WWW-Authenticate", "Retry-After"} {
		if v := c.header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(d.Status)
	_, _ = w.Write(buf.Bytes())
}

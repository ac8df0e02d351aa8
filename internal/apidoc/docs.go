package apidoc

import (
	"bytes"
	_ "embed"
	"net/http"
	"sync"
)

// docsPage is the interactive reference: one self-contained HTML file (no
// CDN: llmservice often runs where there is no internet) that renders the
// OpenAPI document and sends requests with the credentials a person enters.
//
//go:embed docs.html
var docsPage []byte

// renderedDocs is the page with the document inlined, so that it renders
// without a second request.
var renderedDocs = sync.OnceValues(func() ([]byte, error) {
	doc, err := documentJSON()
	if err != nil {
		return nil, err
	}
	// "</" inside the JSON would end the script element early.
	spec := bytes.ReplaceAll(doc, []byte("</"), []byte(`<\/`))
	return bytes.Replace(docsPage, []byte("/*OPENAPI*/null"), spec, 1), nil
})

func serveDocs(w http.ResponseWriter, r *http.Request) {
	page, err := renderedDocs()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page's own script and style are inline; nothing else may load.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}

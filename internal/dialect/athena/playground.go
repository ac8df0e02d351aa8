package athena

import (
	_ "embed"
	"net/http"
)

// playgroundHTML is a self-contained query editor: no script or style is
// fetched from elsewhere, since the gateway may run without internet.
//
//go:embed playground.html
var playgroundHTML []byte

// playground serves GET /graphql: a page that POSTs queries to /graphql
// with the key typed into it (kept in the tab's sessionStorage only).
func (h *Handler) playground(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	// The page runs only its own inline script and talks only to us.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(playgroundHTML)
}

package server

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/authguard"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/openaihttp"
)

// guardAuth serves r, counting a 401 (a wrong key, secret, admin key,
// password or token, whatever the API) as a failure of the client's
// address, and refusing an address past its failures with 429 and
// Retry-After until its minute has passed. Addresses without failures go
// straight through: nothing is slowed.
func (s *Server) guardAuth(w http.ResponseWriter, r *http.Request, sw *statusWriter) {
	g := s.cfg.AuthGuard
	ip := httpx.ClientIP(r.Context())
	if g == nil || !ip.IsValid() || unguarded(r.URL.Path) {
		s.mux.ServeHTTP(w, r)
		return
	}
	// While no address has failed (nearly always) nothing can be blocked:
	// the key is built only when there is a table to look it up in.
	if !g.Idle() {
		if d := g.Blocked(guardKey(ip)); d > 0 {
			writeThrottled(w, r, d)
			return
		}
	}
	*sw = statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	if sw.status == http.StatusUnauthorized {
		g.Fail(guardKey(ip))
	}
}

// guardKey is an address's key in the auth guard.
func guardKey(ip netip.Addr) string { return "ip:" + ip.Unmap().String() }

// unguarded are the public paths that take no credentials.
func unguarded(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs":
		return true
	}
	return strings.HasPrefix(path, "/ui/")
}

// writeThrottled answers 429 in the Django API's words on its paths
// (DRF's throttling message) and in OpenAI's shape elsewhere.
func writeThrottled(w http.ResponseWriter, r *http.Request, d time.Duration) {
	secs := authguard.RetryAfter(d)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if p := r.URL.Path; p == "/" || strings.HasPrefix(p, "/api/") && strings.HasSuffix(p, "/") {
		_ = httpx.WriteJSON(w, http.StatusTooManyRequests, map[string]string{
			"detail": "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds."})
		return
	}
	openaihttp.WriteError(w, r, http.StatusTooManyRequests, &llmservice.Error{Kind: llmservice.RateLimited, Code: "auth_throttled",
		Message: "Too many failed authentication attempts from this address; try again in " + strconv.Itoa(secs) + "s."})
}

// statusWriter notes the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

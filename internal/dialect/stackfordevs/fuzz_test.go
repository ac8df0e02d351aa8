package stackfordevs_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
)

// checkAnswer fails unless w is a success or a well-formed 4xx
// StackForDevs error: bad input must never be the server's fault.
func checkAnswer(t *testing.T, in string, w *httptest.ResponseRecorder, ok ...int) {
	t.Helper()
	for _, s := range ok {
		if w.Code == s {
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%q: %d with a body that is not JSON: %s", in, w.Code, w.Body)
			}
			return
		}
	}
	if w.Code != 400 && w.Code != 413 {
		t.Fatalf("%q: status %d: %s", in, w.Code, w.Body)
	}
	errorOf(t, w)
}

// FuzzProviderRequest sends arbitrary bodies to POST /v1/providers and
// /v1/providers/test through the real handler.
func FuzzProviderRequest(f *testing.F) {
	for _, s := range []string{
		`{"providerType":"openai","apiKey":"sk-your-openai-api-key"}`,
		`{"providerType":"anthropic","apiKey":"sk-ant-xyz0123456789"}`,
		`{"providerType":"openai"}`, `{"providerType":"gemini","apiKey":"k"}`, `{"providerType":null,"apiKey":null}`,
		`{"providerType":["openai"]}`, `{"apiKey":"a b"}`, `{"providerType":"openai","apiKey":"\u0000"}`,
		`[]`, `null`, `"x"`, `{`, ``, "\xff{}", `{"providerType":"openai","providerType":"anthropic","apiKey":"k1234567890123"}`,
	} {
		f.Add(s)
	}
	fx := newFixture()
	h := headers("acme")
	f.Fuzz(func(t *testing.T, body string) {
		checkAnswer(t, body, fx.do("POST", "/v1/providers", h, body), 200, 201)
		// The test endpoint may find no provider configured (404).
		w := fx.do("POST", "/v1/providers/test", h, body)
		if w.Code != 404 {
			checkAnswer(t, body, w, 200)
		}
	})
}

// FuzzLogsQuery sends arbitrary query strings to the logs and stats
// endpoints.
func FuzzLogsQuery(f *testing.F) {
	for _, s := range []string{"limit=10", "limit=0", "limit=-1", "limit=99999999999999999999", "cursor=r1&limit=1",
		"from=2026-01-01", "from=1700000000&to=1800000000", "from=9223372036854775807", "to=2026-13-45", "from=%ff"} {
		f.Add(s)
	}
	fx := newFixture()
	h := headers("acme")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return // not a query a client can send
		}
		q = v.Encode()
		checkAnswer(t, q, fx.do("GET", "/v1/logs/acme/web?"+q, h, ""), 200)
		checkAnswer(t, q, fx.do("GET", "/v1/stats/acme/web?"+q, h, ""), 200)
	})
}

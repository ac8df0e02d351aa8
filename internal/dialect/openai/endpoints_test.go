package openai_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The other endpoints share the error shape; these rows check that each
// names the field at fault.
func TestCompletionsAndEmbeddingsErrors(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		param  string
	}{
		{"completions: no model", "/v1/completions", `{"prompt":"hi"}`, 400, "model"},
		{"completions: no prompt", "/v1/completions", `{"model":"m"}`, 400, "prompt"},
		{"completions: several prompts", "/v1/completions", `{"model":"m","prompt":["a","b"]}`, 400, "prompt"},
		{"completions: prompt and messages", "/v1/completions", `{"model":"m","prompt":"a","messages":[{"role":"user","content":"b"}]}`, 400, "prompt"},
		{"completions: echo", "/v1/completions", `{"model":"m","prompt":"a","echo":true}`, 400, "echo"},
		{"completions: best_of", "/v1/completions", `{"model":"m","prompt":"a","best_of":2}`, 400, "best_of"},
		{"completions: logprobs", "/v1/completions", `{"model":"m","prompt":"a","logprobs":1}`, 400, "logprobs"},
		{"completions: wrong type", "/v1/completions", `{"model":"m","prompt":"a","max_tokens":"5"}`, 400, "max_tokens"},
		{"completions: bad prompt type", "/v1/completions", `{"model":"m","prompt":5}`, 400, "prompt"},
		{"embeddings: no model", "/v1/embeddings", `{"input":"a"}`, 400, "model"},
		{"embeddings: no input", "/v1/embeddings", `{"model":"e"}`, 400, "input"},
		{"embeddings: empty list", "/v1/embeddings", `{"model":"e","input":[]}`, 400, "input"},
		{"embeddings: empty string", "/v1/embeddings", `{"model":"e","input":["a",""]}`, 400, "input"},
		{"embeddings: tokens", "/v1/embeddings", `{"model":"e","input":[1,2,3]}`, 400, "input"},
		{"embeddings: format", "/v1/embeddings", `{"model":"e","input":"a","encoding_format":"int8"}`, 400, "encoding_format"},
		{"embeddings: dimensions", "/v1/embeddings", `{"model":"e","input":"a","dimensions":0}`, 400, "dimensions"},
		{"embeddings: too large", "/v1/embeddings", `{"model":"e","input":"` + strings.Repeat("a", bodyLimit) + `"}`, 413, ""},
	}
	h := newServer(&fakeGateway{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := post(h, tt.path, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d; want %d (body %s)", w.Code, tt.status, w.Body)
			}
			b := decodeError(t, w)
			var param string
			if b.Error.Param != nil {
				param = *b.Error.Param
			}
			if param != tt.param {
				t.Errorf("param = %q; want %q (message %q)", param, tt.param, b.Error.Message)
			}
		})
	}
}

func TestEmbeddingsSuccess(t *testing.T) {
	gw := &fakeGateway{}
	h := newServer(gw)
	for _, tt := range []struct {
		body, want string
	}{
		{`{"model":"e","input":["a","b"]}`, `[0.5,-0.25]`},
		// 0.5 and -0.25 as little-endian float32s.
		{`{"model":"e","input":"a","encoding_format":"base64"}`, `"AAAAPwAAgL4="`},
	} {
		w := post(h, "/v1/embeddings", tt.body)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d; body %s", w.Code, w.Body)
		}
		var got struct {
			Object string
			Model  string
			Data   []struct {
				Index     int
				Embedding json.RawMessage
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Object != "list" || got.Model != "e" || len(got.Data) != len(gw.lastEmb.Input) {
			t.Fatalf("response = %s", w.Body)
		}
		for i, d := range got.Data {
			if d.Index != i || string(d.Embedding) != tt.want {
				t.Errorf("%s: data[%d] = %d %s; want %d %s", tt.body, i, d.Index, d.Embedding, i, tt.want)
			}
		}
	}
}

func TestModels(t *testing.T) {
	h := newServer(&fakeGateway{})
	get := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+goodKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := get("/v1/models"); w.Code != 200 || !strings.Contains(w.Body.String(), `{"id":"fake/model","object":"model","created":1,"owned_by":"fake"}`) {
		t.Errorf("GET /v1/models = %d %s", w.Code, w.Body)
	}
	// Model ids contain slashes.
	if w := get("/v1/models/fake/model"); w.Code != 200 {
		t.Errorf("GET /v1/models/fake/model = %d %s", w.Code, w.Body)
	}
	w := get("/v1/models/nope")
	if w.Code != 404 {
		t.Fatalf("GET /v1/models/nope = %d; want 404", w.Code)
	}
	if b := decodeError(t, w); b.Error.Code == nil || *b.Error.Code != "model_not_found" {
		t.Errorf("error = %+v; want model_not_found", *b.Error)
	}
}

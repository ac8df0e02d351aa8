package providertest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/provider/providertest"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// geminiPost sends body to the fake and returns the status and body.
func geminiPost(t *testing.T, f *providertest.Fake, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-goog-api-key", key)
	}
	resp, err := f.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestGeminiRejects(t *testing.T) {
	const gen = "/v1beta/models/gemini-2.5-flash:generateContent"
	tests := []struct {
		name   string
		path   string
		key    string
		body   string
		status int
		code   string
	}{
		{"no key", gen, "", `{"contents":[{"parts":[{"text":"hi"}]}]}`, 403, "PERMISSION_DENIED"},
		{"no contents", gen, "k", `{}`, 400, "INVALID_ARGUMENT"},
		{"empty parts", gen, "k", `{"contents":[{"role":"user","parts":[]}]}`, 400, "INVALID_ARGUMENT"},
		{"empty part", gen, "k", `{"contents":[{"role":"user","parts":[{}]}]}`, 400, "INVALID_ARGUMENT"},
		{"bad role", gen, "k", `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, 400, "INVALID_ARGUMENT"},
		{"unknown field", gen, "k", `{"contents":[{"parts":[{"text":"hi"}]}],"messages":[]}`, 400, "INVALID_ARGUMENT"},
		{"unknown method", "/v1beta/models/gemini-2.5-flash:predict", "k", `{}`, 404, "NOT_FOUND"},
		{"stream without alt=sse", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "k", `{"contents":[{"parts":[{"text":"hi"}]}]}`, 400, "INVALID_ARGUMENT"},
		{"embed model mismatch", "/v1beta/models/gemini-embedding-001:batchEmbedContents", "k",
			`{"requests":[{"model":"models/other","content":{"parts":[{"text":"x"}]}}]}`, 400, "INVALID_ARGUMENT"},
		{"embed no requests", "/v1beta/models/gemini-embedding-001:batchEmbedContents", "k", `{"requests":[]}`, 400, "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := providertest.NewGemini(t)
			status, body := geminiPost(t, f, tt.path, tt.key, tt.body)
			var e geminiwire.ErrorResponse
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil {
				t.Fatalf("body %q is not Google's error shape", body)
			}
			if status != tt.status || e.Error.Code != tt.status || e.Error.Status != tt.code || e.Error.Message == "" {
				t.Errorf("POST %s = %d %+v; want %d %s", tt.path, status, e.Error, tt.status, tt.code)
			}
		})
	}
}

func TestGeminiGenerate(t *testing.T) {
	f := providertest.NewGemini(t)
	status, body := geminiPost(t, f, "/v1beta/models/gemini-2.5-flash:generateContent", "k", `{
		"systemInstruction": {"parts": [{"text": "be nice"}]},
		"contents": [
			{"role": "user", "parts": [{"text": "weather?"}]},
			{"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"query": "weather?"}}}]},
			{"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "rain"}}}]}
		],
		"tools": [{"functionDeclarations": [{"name": "get_weather"}]}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var got geminiwire.GenerateContentResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := geminiwire.GenerateContentResponse{
		Candidates: []geminiwire.Candidate{{
			Content:      &geminiwire.Content{Role: "model", Parts: []geminiwire.Part{{Text: "tool result: rain"}}},
			FinishReason: "STOP",
		}},
		UsageMetadata: &geminiwire.UsageMetadata{PromptTokenCount: 4, CandidatesTokenCount: 3, TotalTokenCount: 7},
		ModelVersion:  "gemini-2.5-flash",
		ResponseID:    "fake-response-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("generateContent mismatch (-want +got):\n%s", diff)
	}
}

func TestGeminiToolCall(t *testing.T) {
	f := providertest.NewGemini(t)
	_, body := geminiPost(t, f, "/v1beta/models/m:generateContent", "k",
		`{"contents":[{"role":"user","parts":[{"text":"find cats"}]}],"tools":[{"functionDeclarations":[{"name":"search"},{"name":"other"}]}]}`)
	var got geminiwire.GenerateContentResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	fc := got.Candidates[0].Content.Parts[0].FunctionCall
	if fc == nil || fc.Name != "search" || string(fc.Args) != `{"query":"find cats"}` || fc.ID != "" {
		t.Errorf("functionCall = %+v; want search({\"query\":\"find cats\"}) without id", fc)
	}
	if got.Candidates[0].FinishReason != "STOP" {
		t.Errorf("finishReason = %q; want STOP", got.Candidates[0].FinishReason)
	}
}

func TestGeminiStream(t *testing.T) {
	const path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
	const req = `{"contents":[{"role":"user","parts":[{"text":"a b"}]}]}`
	f := providertest.NewGemini(t)
	status, body := geminiPost(t, f, path, "k", req)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	frames := strings.Split(strings.TrimSuffix(body, "\r\n\r\n"), "\r\n\r\n")
	var words []string
	for i, fr := range frames {
		data, ok := strings.CutPrefix(fr, "data: ")
		if !ok {
			t.Fatalf("frame %q is not a data line", fr)
		}
		var ev geminiwire.GenerateContentResponse
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		words = append(words, ev.Candidates[0].Content.Parts[0].Text)
		last := i == len(frames)-1
		if (ev.Candidates[0].FinishReason == "STOP") != last || (ev.UsageMetadata.CandidatesTokenCount > 0) != last {
			t.Errorf("frame %d: finish %q usage %+v; want finish and totals on the last only", i, ev.Candidates[0].FinishReason, ev.UsageMetadata)
		}
	}
	if diff := cmp.Diff([]string{"echo:", " a", " b"}, words); diff != "" {
		t.Errorf("streamed words mismatch (-want +got):\n%s", diff)
	}

	// A mid-stream failure sends some frames, then the error event, then
	// drops the connection.
	f.FailNext(providertest.Failure{AfterChunks: 1, Body: `{"error":{"code":500,"message":"boom","status":"INTERNAL"}}`})
	hreq, _ := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(req))
	hreq.Header.Set("x-goog-api-key", "k")
	resp, err := f.Client().Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Error("reading an aborted stream succeeded; want a broken connection")
	}
	if n := bytes.Count(b, []byte("data: ")); n != 2 || !bytes.Contains(b, []byte(`"boom"`)) {
		t.Errorf("aborted stream = %q; want one chunk and the error event", b)
	}
}

func TestGeminiEmbed(t *testing.T) {
	f := providertest.NewGemini(t)
	status, body := geminiPost(t, f, "/v1beta/models/gemini-embedding-001:batchEmbedContents", "k", `{"requests":[
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hello big world"}]}},
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"x"}]},"outputDimensionality":1}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var got geminiwire.BatchEmbedContentsResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := geminiwire.BatchEmbedContentsResponse{Embeddings: []geminiwire.ContentEmbedding{{Values: []float32{15, 3, 1}}, {Values: []float32{1}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batchEmbedContents mismatch (-want +got):\n%s", diff)
	}
}

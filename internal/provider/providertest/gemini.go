package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// NewGemini starts a fake Gemini API (v1beta) that serves
//
//	POST /v1beta/models/{model}:generateContent
//	POST /v1beta/models/{model}:streamGenerateContent?alt=sse
//	POST /v1beta/models/{model}:batchEmbedContents
//	POST /v1beta/models/{model}:countTokens
//
// It answers like the real API: a missing x-goog-api-key header gets 403
// PERMISSION_DENIED, a body with unknown fields or without required ones
// gets 400 INVALID_ARGUMENT, both in Google's {"error":{code,message,status}}
// shape. Replies follow the package's answer policy; streams send one SSE
// event per word with the finish reason and the usage totals on the last.
// The embedding of a text t is [len(t), number of words in t, 1].
func NewGemini(tb testing.TB) *Fake {
	return New(tb, serveGemini)
}

func serveGemini(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
	if r.Method != http.MethodPost {
		geminiError(w, http.StatusNotFound, geminiwire.StatusNotFound, "Method not found.")
		return
	}
	if r.Header.Get("x-goog-api-key") == "" && r.URL.Query().Get("key") == "" {
		geminiError(w, http.StatusForbidden, geminiwire.StatusPermissionDenied,
			"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	model, method, found := strings.Cut(rest, ":")
	if !ok || !found || model == "" || strings.Contains(model, "/") {
		geminiError(w, http.StatusNotFound, geminiwire.StatusNotFound, fmt.Sprintf("models/%s is not found for API version v1beta.", model))
		return
	}
	switch method {
	case "generateContent":
		geminiGenerate(w, model, body, fail, false)
	case "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			// The real API answers with one JSON array; no adapter here
			// should ask for that.
			geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "the fake serves streamGenerateContent only with alt=sse")
			return
		}
		geminiGenerate(w, model, body, fail, true)
	case "batchEmbedContents":
		geminiEmbed(w, model, body, fail)
	case "countTokens":
		geminiCount(w, body)
	default:
		geminiError(w, http.StatusNotFound, geminiwire.StatusNotFound, fmt.Sprintf("Method %q not found.", method))
	}
}

// geminiError writes Google's error body.
func geminiError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(geminiwire.ErrorResponse{Error: &geminiwire.Status{Code: status, Message: msg, Status: code}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// geminiDecode decodes body strictly: the real API rejects unknown field
// names with 400 "Invalid JSON payload received. Unknown name …".
func geminiDecode(w http.ResponseWriter, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "Invalid JSON payload received. "+err.Error())
		return false
	}
	return true
}

func geminiGenerate(w http.ResponseWriter, model string, body []byte, fail *Failure, stream bool) {
	var req geminiwire.GenerateContentRequest
	if !geminiDecode(w, body, &req) {
		return
	}
	if msg := geminiCheck(&req); msg != "" {
		geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, msg)
		return
	}
	turns, firstTool := geminiTurns(&req)
	a := Reply(turns, firstTool)
	if !stream {
		if fail != nil {
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(geminiEvents(model, a, false)[0])
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	events := geminiEvents(model, a, true)
	for i, ev := range events {
		if fail != nil && i == fail.AfterChunks {
			break
		}
		b, _ := json.Marshal(ev)
		// The real API ends every event with CRLF CRLF.
		fmt.Fprintf(w, "data: %s\r\n\r\n", b)
		Flush(w)
	}
	if fail != nil {
		if fail.Body != "" {
			// An error event, as the API sends when it fails mid-stream.
			fmt.Fprintf(w, "data: %s\r\n\r\n", fail.Body)
			Flush(w)
		}
		panic(http.ErrAbortHandler)
	}
}

// geminiCheck reports a missing required field the way the API words it.
func geminiCheck(req *geminiwire.GenerateContentRequest) string {
	if len(req.Contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified\n"
	}
	for i, c := range req.Contents {
		if c.Role != "" && c.Role != geminiwire.RoleUser && c.Role != geminiwire.RoleModel {
			return fmt.Sprintf("Please use a valid role: user, model. (contents[%d].role %q)", i, c.Role)
		}
		if len(c.Parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
		for j, p := range c.Parts {
			if p == (geminiwire.Part{Thought: p.Thought, ThoughtSignature: p.ThoughtSignature}) {
				return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts[%d].data: required oneof field 'data' must have one initialized field\n", i, j)
			}
			if fc := p.FunctionCall; fc != nil && fc.Name == "" {
				return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts[%d].function_call.name: Name cannot be empty.\n", i, j)
			}
			if fr := p.FunctionResponse; fr != nil && fr.Name == "" {
				return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts[%d].function_response.name: Name cannot be empty.\n", i, j)
			}
		}
	}
	for i, t := range req.Tools {
		for j, d := range t.FunctionDeclarations {
			if d.Name == "" {
				return fmt.Sprintf("* GenerateContentRequest.tools[%d].function_declarations[%d].name: Name cannot be empty.\n", i, j)
			}
			if len(d.Parameters) > 0 && len(d.ParametersJSONSchema) > 0 {
				return fmt.Sprintf("* GenerateContentRequest.tools[%d].function_declarations[%d]: parameters and parameters_json_schema are mutually exclusive\n", i, j)
			}
		}
	}
	return ""
}

// geminiTurns maps the request to the provider-neutral turns of Reply.
func geminiTurns(req *geminiwire.GenerateContentRequest) ([]Turn, string) {
	var turns []Turn
	if si := req.SystemInstruction; si != nil {
		turns = append(turns, Turn{Role: "system", Text: geminiText(si.Parts)})
	}
	for _, c := range req.Contents {
		role := "user"
		if c.Role == geminiwire.RoleModel {
			role = "assistant"
		}
		var results []string
		for _, p := range c.Parts {
			if fr := p.FunctionResponse; fr != nil {
				results = append(results, geminiResult(fr.Response))
			}
		}
		if len(results) > 0 && role == "user" {
			for _, r := range results {
				turns = append(turns, Turn{Role: "tool", Text: r})
			}
			continue
		}
		turns = append(turns, Turn{Role: role, Text: geminiText(c.Parts)})
	}
	var firstTool string
	if len(req.Tools) > 0 && len(req.Tools[0].FunctionDeclarations) > 0 {
		firstTool = req.Tools[0].FunctionDeclarations[0].Name
	}
	return turns, firstTool
}

func geminiText(parts []geminiwire.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if !p.Thought {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// geminiResult reads a functionResponse back into the tool's text: the
// {"result": text} wrapper adapters put around plain text is undone.
func geminiResult(resp json.RawMessage) string {
	var wrapped map[string]json.RawMessage
	if json.Unmarshal(resp, &wrapped) == nil && len(wrapped) == 1 {
		var s string
		if json.Unmarshal(wrapped["result"], &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, resp) != nil {
		return string(resp)
	}
	return b.String()
}

// geminiEvents renders an answer as GenerateContentResponses: one for a
// whole answer, or one per word for a stream. Every event has the running
// usage, as the real API sends; the last has the finish reason and totals.
func geminiEvents(model string, a Answer, stream bool) []geminiwire.GenerateContentResponse {
	id := "fake-response-1"
	var pieces []geminiwire.Part
	switch {
	case a.ToolCall != nil:
		// Gemini sends a call whole, without an id, and finishes with STOP.
		pieces = []geminiwire.Part{{FunctionCall: &geminiwire.FunctionCall{Name: a.ToolCall.Name, Args: json.RawMessage(a.ToolCall.Arguments)}}}
	case stream:
		for _, w := range Words(a.Text) {
			pieces = append(pieces, geminiwire.Part{Text: w})
		}
	default:
		pieces = []geminiwire.Part{{Text: a.Text}}
	}
	if len(pieces) == 0 {
		pieces = []geminiwire.Part{{Text: " "}}
	}
	events := make([]geminiwire.GenerateContentResponse, len(pieces))
	for i, p := range pieces {
		ev := geminiwire.GenerateContentResponse{
			Candidates: []geminiwire.Candidate{{
				Content: &geminiwire.Content{Role: geminiwire.RoleModel, Parts: []geminiwire.Part{p}},
			}},
			UsageMetadata: &geminiwire.UsageMetadata{PromptTokenCount: a.PromptTokens, TotalTokenCount: a.PromptTokens},
			ModelVersion:  model,
			ResponseID:    id,
		}
		if i == len(pieces)-1 {
			ev.Candidates[0].FinishReason = geminiwire.FinishStop
			ev.UsageMetadata.CandidatesTokenCount = a.CompletionTokens
			ev.UsageMetadata.TotalTokenCount = a.PromptTokens + a.CompletionTokens
		}
		events[i] = ev
	}
	return events
}

func geminiEmbed(w http.ResponseWriter, model string, body []byte, fail *Failure) {
	var req geminiwire.BatchEmbedContentsRequest
	if !geminiDecode(w, body, &req) {
		return
	}
	if len(req.Requests) == 0 {
		geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "* BatchEmbedContentsRequest.requests: requests is not specified\n")
		return
	}
	out := geminiwire.BatchEmbedContentsResponse{Embeddings: make([]geminiwire.ContentEmbedding, len(req.Requests))}
	for i, r := range req.Requests {
		if r.Model != "models/"+model {
			geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument,
				fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d].model: The model in the request (%s) must match the model in the URL (models/%s).\n", i, r.Model, model))
			return
		}
		if len(r.Content.Parts) == 0 {
			geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d].content.parts: contents.parts must not be empty.\n", i))
			return
		}
		t := geminiText(r.Content.Parts)
		v := []float32{float32(len(t)), float32(len(strings.Fields(t))), 1}
		if d := r.OutputDimensionality; d != nil && *d > 0 && *d < len(v) {
			v = v[:*d]
		}
		out.Embeddings[i] = geminiwire.ContentEmbedding{Values: v}
	}
	if fail != nil {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(out)
}

// geminiCount answers countTokens with one token per word of the text
// parts (system instruction included), as {"totalTokens": n}.
// https://ai.google.dev/api/tokens#method:-models.counttokens
func geminiCount(w http.ResponseWriter, body []byte) {
	var req struct {
		Contents               []geminiwire.Content               `json:"contents"`
		GenerateContentRequest *geminiwire.GenerateContentRequest `json:"generateContentRequest"`
	}
	if !geminiDecode(w, body, &req) {
		return
	}
	contents := req.Contents
	if g := req.GenerateContentRequest; g != nil {
		contents = g.Contents
		if g.SystemInstruction != nil {
			contents = append(contents, *g.SystemInstruction)
		}
	}
	if len(contents) == 0 {
		geminiError(w, http.StatusBadRequest, geminiwire.StatusInvalidArgument, "* CountTokensRequest.contents: contents is not specified")
		return
	}
	n := 0
	for _, c := range contents {
		n += len(Words(geminiText(c.Parts)))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fmt.Fprintf(w, `{"totalTokens":%d,"promptTokensDetails":[{"modality":"TEXT","tokenCount":%d}]}`, n, n)
}

// GeminiFake is the Gemini fake that also keeps the bytes of each answer,
// for tests of the pass-through lane.
type GeminiFake struct {
	*Fake
	mu   sync.Mutex
	sent [][]byte
}

// NewGeminiAgent starts a Gemini fake that records what it sends.
func NewGeminiAgent(tb testing.TB) *GeminiFake {
	g := &GeminiFake{}
	g.Fake = New(tb, func(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			g.mu.Lock()
			g.sent = append(g.sent, rec.buf.Bytes())
			g.mu.Unlock()
		}()
		serveGemini(rec, r, body, fail)
	})
	return g
}

// Sent returns the answer bodies sent so far, in order.
func (g *GeminiFake) Sent() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.sent...)
}

type recorder struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() { Flush(r.ResponseWriter) }

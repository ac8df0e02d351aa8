package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// OllamaKey is a key for NewOllamaWithKey.
const OllamaKey = "ollama-test-key"

// OllamaMissingModel is a model name the Ollama fake answers with Ollama's
// 404 "not found, try pulling it first".
const OllamaMissingModel = "missing-model"

// ollamaCreatedAt is the fixed timestamp of every fake answer.
const ollamaCreatedAt = "2025-01-02T03:04:05.123456Z"

// NewOllama starts a fake local Ollama server (https://docs.ollama.com/api):
// POST /api/chat, streamed as NDJSON unless "stream" is false (Ollama's
// default is to stream), POST /api/embed and GET /api/tags. Like a local
// Ollama it needs no key; NewOllamaWithKey demands one.
//
// A queued Failure with AfterChunks sends that many stream lines, then
// either writes Body as one more line (an Ollama mid-stream error such as
// {"error":"..."}) or, with no Body, breaks the connection.
func NewOllama(tb testing.TB) *Fake {
	return newOllama(tb, "")
}

// NewOllamaWithKey is NewOllama for a server that, like ollama.com or one
// behind an authenticating proxy, answers 401 {"error":"unauthorized"} to
// any request without "Authorization: Bearer " + key.
func NewOllamaWithKey(tb testing.TB, key string) *Fake {
	return newOllama(tb, key)
}

func newOllama(tb testing.TB, key string) *Fake {
	return New(tb, func(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
		if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
			ollamaError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		switch {
		case r.URL.Path == "/api/chat" && r.Method == http.MethodPost:
			ollamaChat(w, body, fail)
		case r.URL.Path == "/api/embed" && r.Method == http.MethodPost:
			ollamaEmbed(w, body)
		case r.URL.Path == "/api/tags" && r.Method == http.MethodGet:
			ollamaJSON(w, map[string]any{"models": []map[string]any{{
				"name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": ollamaCreatedAt,
				"size": 2019393189, "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
				"details": map[string]any{"format": "gguf", "family": "llama", "families": []string{"llama"}, "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
			}}})
		default:
			// Ollama's router answers unknown routes in plain text.
			http.Error(w, "404 page not found", http.StatusNotFound)
		}
	})
}

// ollamaChatRequest mirrors the documented request, independently of the
// adapter's wire types so that a misnamed field there fails the tests.
type ollamaChatRequest struct {
	Model    string          `json:"model"`
	Messages []ollamaMessage `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Format json.RawMessage `json:"format"`
	Stream *bool           `json:"stream"`
}

type ollamaMessage struct {
	Role      string   `json:"role"`
	Content   string   `json:"content"`
	Images    []string `json:"images"`
	ToolCalls []struct {
		Function struct {
			Name string `json:"name"`
			// Ollama decodes arguments into a map: a JSON string here is a 400.
			Arguments map[string]any `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolName string `json:"tool_name"`
}

func ollamaChat(w http.ResponseWriter, body []byte, fail *Failure) {
	var req ollamaChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg, status := ollamaCheckChat(&req); msg != "" {
		ollamaError(w, status, msg)
		return
	}
	turns := make([]Turn, len(req.Messages))
	for i, m := range req.Messages {
		turns[i] = Turn{Role: m.Role, Text: m.Content}
	}
	firstTool := ""
	if len(req.Tools) > 0 {
		firstTool = req.Tools[0].Function.Name
	}
	a := Reply(turns, firstTool)
	if req.Stream != nil && !*req.Stream {
		final := ollamaLine(req.Model, a.Text, true)
		if a.ToolCall != nil {
			final["message"].(map[string]any)["tool_calls"] = ollamaToolCalls(a.ToolCall)
		}
		ollamaFinish(final, a)
		ollamaJSON(w, final)
		return
	}
	var lines []map[string]any
	for _, piece := range Words(a.Text) {
		lines = append(lines, ollamaLine(req.Model, piece, false))
	}
	if a.ToolCall != nil {
		l := ollamaLine(req.Model, "", false)
		l["message"].(map[string]any)["tool_calls"] = ollamaToolCalls(a.ToolCall)
		lines = append(lines, l)
	}
	final := ollamaLine(req.Model, "", true)
	ollamaFinish(final, a)
	lines = append(lines, final)
	ollamaStream(w, lines, fail)
}

// ollamaCheckChat answers what Ollama rejects, with its status and message.
func ollamaCheckChat(req *ollamaChatRequest) (string, int) {
	if req.Model == "" {
		return "model is required", http.StatusBadRequest
	}
	if req.Model == OllamaMissingModel {
		return fmt.Sprintf("model %q not found, try pulling it first", req.Model), http.StatusNotFound
	}
	if f := bytes.TrimSpace(req.Format); len(f) > 0 && string(f) != `"json"` && string(f) != `""` && f[0] != '{' {
		return fmt.Sprintf("invalid format: %q; expected \"json\" or a valid JSON Schema", f), http.StatusBadRequest
	}
	return "", 0
}

func ollamaStream(w http.ResponseWriter, lines []map[string]any, fail *Failure) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	for i, l := range lines {
		if fail != nil && i == fail.AfterChunks {
			if fail.Body != "" {
				_, _ = io.WriteString(w, strings.TrimSpace(fail.Body)+"\n")
				Flush(w)
				return
			}
			Flush(w)
			panic(http.ErrAbortHandler)
		}
		b, _ := json.Marshal(l)
		_, _ = w.Write(append(b, '\n'))
		Flush(w)
	}
}

func ollamaLine(model, content string, done bool) map[string]any {
	return map[string]any{
		"model":      model,
		"created_at": ollamaCreatedAt,
		"message":    map[string]any{"role": "assistant", "content": content},
		"done":       done,
	}
}

func ollamaToolCalls(tc *ToolCall) []map[string]any {
	var args map[string]any
	_ = json.Unmarshal([]byte(tc.Arguments), &args)
	// Ollama sends no call ID; clients name calls themselves.
	return []map[string]any{{"function": map[string]any{"index": 0, "name": tc.Name, "arguments": args}}}
}

func ollamaFinish(l map[string]any, a Answer) {
	l["done_reason"] = "stop"
	l["total_duration"] = 1_500_000_000
	l["load_duration"] = 100_000_000
	l["prompt_eval_count"] = a.PromptTokens
	l["prompt_eval_duration"] = 200_000_000
	l["eval_count"] = a.CompletionTokens
	l["eval_duration"] = 1_000_000_000
}

func ollamaEmbed(w http.ResponseWriter, body []byte) {
	var req struct {
		Model      string          `json:"model"`
		Input      json.RawMessage `json:"input"`
		Dimensions int             `json:"dimensions"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	if req.Model == OllamaMissingModel {
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	// input is one string or a list of strings.
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			ollamaError(w, http.StatusBadRequest, "invalid input type")
			return
		}
		inputs = []string{one}
	}
	vecs := make([][]float64, len(inputs))
	tokens := 0
	for i, t := range inputs {
		vecs[i] = []float64{float64(len(t)), float64(len(strings.Fields(t))), 1}
		if req.Dimensions > 0 && req.Dimensions < len(vecs[i]) {
			vecs[i] = vecs[i][:req.Dimensions]
		}
		tokens += len(strings.Fields(t))
	}
	ollamaJSON(w, map[string]any{
		"model": req.Model, "embeddings": vecs,
		"total_duration": 14_143_917, "load_duration": 1_019_500, "prompt_eval_count": tokens,
	})
}

// ollamaError writes Ollama's error body: {"error": "..."}.
func ollamaError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	_, _ = w.Write(b)
}

func ollamaJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(v)
	_, _ = w.Write(b)
}

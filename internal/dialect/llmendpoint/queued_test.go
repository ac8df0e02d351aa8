package llmendpoint

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
)

func TestCreditsNeeded(t *testing.T) {
	cases := []struct {
		model      string
		chars, out int
		want       int64
		ok         bool
	}{
		// "How does quantum computing work?" is 32 characters: 32×0.01 +
		// 100×0.02 = 2.32 cents = 23,200 credits.
		{"llama3.1", 32, 100, 23200, true},
		{"llama2", 1, 1, 500, true},             // 0.02 + 0.03 = 0.05 cents
		{"mistral-nemo", 10, 0, 1100, true},     // 10×0.011 = 0.11 cents
		{"owl_t-lite", 0, 1000, 240000, true},   // 1000×0.024 = 24 cents
		{"llama2-uncensored", 3, 3, 1200, true}, // 3×0.015 + 3×0.025 = 0.12 cents
		{"gpt-4", 10, 10, 0, false},
		{"Llama3.1", 10, 10, 0, false}, // names are exact, as in the seed's table
	}
	for _, tc := range cases {
		got, ok := CreditsNeeded(tc.model, tc.chars, tc.out)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CreditsNeeded(%q, %d, %d) = %d, %v; want %d, %v", tc.model, tc.chars, tc.out, got, ok, tc.want, tc.ok)
		}
	}
	for name := range rates {
		if _, ok := CreditsNeeded(name, 1, 1); !ok {
			t.Errorf("model %s of the rate table has no price", name)
		}
	}
	if len(rates) != 18 {
		t.Errorf("rate table has %d models; the seed lists 18", len(rates))
	}
}

func TestUserCharsCountsOnlyUserCodePoints(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "héllo"}, {Role: "assistant", Content: "hi"}, {Role: "user", Content: "日本"}}
	if got := UserChars(msgs); got != 7 {
		t.Errorf("UserChars = %d; want 7 (5 + 2 code points, user turns only)", got)
	}
}

func TestParseCompletion(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		wantMsg   string
		wantParam string
	}{
		{"NotJSON", `{"messages":`, MsgInvalidRequest, ""},
		{"Empty", ``, MsgInvalidRequest, ""},
		{"NotAnObject", `[1]`, MsgInvalidRequest, ""},
		{"MessagesWrongType", `{"messages":"hi","model":"llama3.1","max_tokens":5}`, MsgInvalidRequest, "messages"},
		{"MaxTokensString", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":"5"}`, MsgInvalidRequest, "max_tokens"},
		{"MissingAll", `{}`, MsgRequired, "messages"},
		{"MissingModel", `{"messages":[{"role":"user","content":"x"}],"max_tokens":5}`, MsgRequired, "model"},
		{"MissingMaxTokens", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1"}`, MsgRequired, "max_tokens"},
		{"EmptyMessages", `{"messages":[],"model":"llama3.1","max_tokens":5}`, MsgRequired, "messages"},
		{"BadRole", `{"messages":[{"role":"robot","content":"x"}],"model":"llama3.1","max_tokens":5}`, MsgInvalidRequest, "messages"},
		{"ZeroMaxTokens", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":0}`, MsgInvalidRequest, "max_tokens"},
		{"HotTemperature", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":5,"temperature":3}`, MsgInvalidRequest, "temperature"},
		{"BadNumContext", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":5,"num_context":0}`, MsgInvalidRequest, "num_context"},
		{"BadOutputFormat", `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":5,"output_format":"xml"}`, MsgInvalidRequest, "output_format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCompletion([]byte(tc.body))
			e := llmservice.AsError(err)
			if e.Kind != llmservice.Invalid || e.Message != tc.wantMsg || e.Param != tc.wantParam {
				t.Errorf("ParseCompletion(%s) = %v (param %q); want %q naming %q", tc.body, err, e.Param, tc.wantMsg, tc.wantParam)
			}
		})
	}
}

func TestParseCompletionDefaults(t *testing.T) {
	req, err := ParseCompletion([]byte(`{"messages":[{"role":"user","content":"What is the meaning of life?"}],"model":"llama3.1","max_tokens":100}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Temperature != 0.7 || req.NumContext != 2048 || req.OutputFormat != "default" {
		t.Errorf("defaults = temperature %v, num_context %d, output_format %q; want 0.7, 2048, default", req.Temperature, req.NumContext, req.OutputFormat)
	}
	lr := req.ChatRequest("ollama/llama3.1")
	if lr.Model != "ollama/llama3.1" || *lr.NumCtx != 2048 || *lr.MaxTokens != 100 || *lr.Temperature != 0.7 || lr.Messages[0].Text() != "What is the meaning of life?" {
		t.Errorf("ChatRequest = %+v", lr)
	}
	req, _ = ParseCompletion([]byte(`{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":1,"num_context":8192,"temperature":0,"output_format":"json"}`))
	if lr := req.ChatRequest("m"); *lr.NumCtx != 8192 || *lr.Temperature != 0 || lr.ResponseFormat == nil || lr.ResponseFormat.Type != "json_object" {
		t.Errorf("explicit values not kept: %+v", lr)
	}
}

func TestWriteErrorUsesTheSeedsWords(t *testing.T) {
	cases := []struct {
		err        *llmservice.Error
		wantStatus int
		wantMsg    string
	}{
		{Error(llmservice.Invalid, MsgInvalidRequest, "x", "detail"), 400, MsgInvalidRequest},
		{&llmservice.Error{Kind: llmservice.PaymentRequired, Message: "balance too low"}, 402, MsgNoCredits},
		{&llmservice.Error{Kind: llmservice.Unavailable, Message: "all hosts down"}, 400, MsgNoHosts},
		{Error(llmservice.NotFound, MsgTaskNotFound, "task_id", ""), 404, MsgTaskNotFound},
		{Error(llmservice.Unauthenticated, MsgUnauthorizedIP, "", ""), 401, MsgUnauthorizedIP},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), tc.err.Kind.HTTPStatus(), tc.err)
		var body struct {
			Success *bool  `json:"success"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != tc.wantStatus || body.Success == nil || *body.Success || body.Message != tc.wantMsg {
			t.Errorf("WriteError(%v) = %d %s; want %d with success false and %q", tc.err, w.Code, w.Body, tc.wantStatus, tc.wantMsg)
		}
	}
}

func TestNewTaskIDIsAUUID(t *testing.T) {
	id := newTaskID()
	if len(id) != 36 || id[14] != '4' || id[8] != '-' || id == newTaskID() {
		t.Errorf("newTaskID = %s; want a random version 4 UUID", id)
	}
}

// FuzzParseCompletion: any body gives a request that passes validation or
// an Invalid error with one of the seed's messages, never a panic.
func FuzzParseCompletion(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"How does quantum computing work?"}],"model":"llama3.1","max_tokens":100,"temperature":0.7}`))
	f.Add([]byte(`{"messages":[{"role":"user"}],"model":"","max_tokens":-1,"num_context":1e400}`))
	f.Add([]byte(`{"messages":null,"stream":"yes"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseCompletion(body)
		if err != nil {
			e := llmservice.AsError(err)
			if e.Kind != llmservice.Invalid || (e.Message != MsgInvalidRequest && e.Message != MsgRequired) {
				t.Fatalf("ParseCompletion error = %v; want Invalid with a seed message", err)
			}
			return
		}
		if req.validate() != nil || req.MaxTokens < 1 || len(req.Messages) == 0 || req.Model == "" {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		_ = req.ChatRequest(req.Model)
	})
}

// A task keeps the client's cache directives under names of its own; a
// task queued before it kept them runs without the cache.
func TestQueuedPayloadCache(t *testing.T) {
	ask := &gateway.CacheAsk{NoCache: true, TTL: 10 * time.Minute}
	for _, tc := range []struct {
		name    string
		payload string
		want    *gateway.CacheAsk
	}{
		{"before the cache", `{"request":{"model":"llama3.1"},"model":"ollama/llama3.1","credits":5}`, nil},
		{"no directives", `{"request":{"model":"llama3.1"},"credits":5,"cache":{}}`, &gateway.CacheAsk{}},
		{"directives", `{"request":{"model":"llama3.1"},"credits":5,"cache":{"no_cache":true,"ttl":600000000000}}`, ask},
	} {
		p, err := decodePayload(&llmservice.Task{ID: "t", Payload: []byte(tc.payload)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := p.Cache.ask(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ask %+v; want %+v", tc.name, got, tc.want)
		}
	}
	b, _ := json.Marshal(queuedPayload{Cache: newQueuedCache(ask)})
	if !strings.Contains(string(b), `"cache":{"no_cache":true,"ttl":600000000000}`) {
		t.Errorf("payload %s", b)
	}
}

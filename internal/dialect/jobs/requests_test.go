package jobs

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
)

// problems returns the field errors of err as "loc|msg|type" lines.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v; want a *ValidationError", err)
	}
	if k := llmservice.ErrorKind(err); k != llmservice.Invalid {
		t.Fatalf("kind = %v; want invalid", k)
	}
	var out []string
	for _, f := range ve.Errors {
		loc, _ := json.Marshal(f.Loc)
		out = append(out, string(loc)+"|"+f.Msg+"|"+f.Type)
	}
	return out
}

func TestDecodeCallRequestRejects(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"empty body", ``, []string{`["body"]|field required|value_error.missing`}},
		{"missing both", `{}`, []string{
			`["body","model_group"]|field required|value_error.missing`,
			`["body","messages"]|field required|value_error.missing`}},
		{"not an object", `[1,2]`, []string{`["body"]|value is not a valid dict|type_error.dict`}},
		{"null group", `{"model_group":null,"messages":[{"role":"user","content":"hi"}]}`, []string{
			`["body","model_group"]|none is not an allowed value|type_error.none.not_allowed`}},
		{"group type", `{"model_group":5,"messages":[{"role":"user","content":"hi"}]}`, []string{
			`["body","model_group"]|str type expected|type_error.str`}},
		{"empty group", `{"model_group":"","messages":[{"role":"user","content":"hi"}]}`, []string{
			`["body","model_group"]|ensure this value has at least 1 characters|value_error.any_str.min_length`}},
		{"messages not a list", `{"model_group":"g","messages":"hi"}`, []string{
			`["body","messages"]|value is not a valid list|type_error.list`}},
		{"no messages", `{"model_group":"g","messages":[]}`, []string{
			`["body","messages"]|ensure this value has at least 1 items|value_error.list.min_items`}},
		{"bad messages", `{"model_group":"g","messages":[{"role":"robot","content":"x"},{"content":"y"},{"role":"user","content":[1]},7]}`, []string{
			`["body","messages",0,"role"]|value is not a valid enumeration member; permitted: 'system', 'user', 'assistant'|type_error.enum`,
			`["body","messages",1,"role"]|field required|value_error.missing`,
			`["body","messages",2,"content"]|str type expected|type_error.str`,
			`["body","messages",3]|value is not a valid dict|type_error.dict`}},
		{"temperature range", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"temperature":2.5}`, []string{
			`["body","temperature"]|ensure this value is less than or equal to 2.0|value_error.number.not_le`}},
		{"temperature negative", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"temperature":-0.1}`, []string{
			`["body","temperature"]|ensure this value is greater than or equal to 0.0|value_error.number.not_ge`}},
		{"temperature type", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"temperature":true}`, []string{
			`["body","temperature"]|value is not a valid float|type_error.float`}},
		{"max_tokens zero", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"max_tokens":0}`, []string{
			`["body","max_tokens"]|ensure this value is greater than 0|value_error.number.not_gt`}},
		{"max_tokens fraction", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`, []string{
			`["body","max_tokens"]|value is not a valid integer|type_error.integer`}},
		{"max_tokens huge", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"max_tokens":99999999999}`, []string{
			`["body","max_tokens"]|ensure this value is less than or equal to 2147483647|value_error.number.not_le`}},
		{"purpose type", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"purpose":["a"]}`, []string{
			`["body","purpose"]|str type expected|type_error.str`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCallRequest([]byte(tt.body))
			if diff := cmp.Diff(tt.want, problems(t, err)); diff != "" {
				t.Errorf("DecodeCallRequest(%s) problems (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecodeCallRequestBadJSON(t *testing.T) {
	for _, body := range []string{`{`, `{"model_group":}`, `{} {}`, `{}x`, `nul`} {
		_, err := DecodeCallRequest([]byte(body))
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Type != "value_error.jsondecode" || ve.Errors[0].Loc[0] != "body" {
			t.Errorf("DecodeCallRequest(%q) = %v; want one value_error.jsondecode at [body, pos]", body, err)
		}
	}
}

func TestDecodeCallRequestAccepts(t *testing.T) {
	tests := []struct {
		name, body string
		want       CallRequest
	}{
		{"defaults", `{"model_group":"ChatAgent","messages":[{"role":"user","content":"Tell me a story"}]}`,
			CallRequest{ModelGroup: "ChatAgent", Messages: []Message{{"user", "Tell me a story"}}, Temperature: 0.7}},
		{"every field", `{"model_group":"ResumeAgent","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":""}],
			"purpose":"resume_parsing","temperature":0.3,"max_tokens":1000,"unknown":{"ignored":true}}`,
			CallRequest{ModelGroup: "ResumeAgent", Messages: []Message{{"system", "s"}, {"user", "u"}, {"assistant", ""}},
				Purpose: "resume_parsing", Temperature: 0.3, MaxTokens: ptr(1000)}},
		{"nulls are defaults", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"purpose":null,"temperature":null,"max_tokens":null}`,
			CallRequest{ModelGroup: "g", Messages: []Message{{"user", "x"}}, Temperature: 0.7}},
		{"numeric strings and integral floats", `{"model_group":"g","messages":[{"role":"user","content":"x"}],"temperature":"0","max_tokens":150.0}`,
			CallRequest{ModelGroup: "g", Messages: []Message{{"user", "x"}}, Temperature: 0, MaxTokens: ptr(150)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCallRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("DecodeCallRequest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallRequestToLLM(t *testing.T) {
	r := &CallRequest{ModelGroup: "g", Messages: []Message{{"system", "s"}, {"user", "u"}}, Temperature: 0.3, MaxTokens: ptr(10)}
	lr := r.ToLLM()
	if len(lr.Messages) != 2 || lr.Messages[1].Text() != "u" || lr.Messages[0].Role != "system" || *lr.Temperature != 0.3 || *lr.MaxTokens != 10 {
		t.Errorf("ToLLM() = %+v", lr)
	}
}

func TestDecodeCreateAndComplete(t *testing.T) {
	c, err := DecodeCreateRequest([]byte(`{"team_id":"acme-corp","job_type":"document_analysis","user_id":"john@acme.com","metadata":{"doc":"d1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TeamID != "acme-corp" || c.JobType != "document_analysis" || c.UserID != "john@acme.com" || string(c.Metadata) != `{"doc":"d1"}` {
		t.Errorf("DecodeCreateRequest = %+v", c)
	}
	_, err = DecodeCreateRequest([]byte(`{"metadata":[1]}`))
	want := []string{
		`["body","team_id"]|field required|value_error.missing`,
		`["body","job_type"]|field required|value_error.missing`,
		`["body","metadata"]|value is not a valid dict|type_error.dict`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("create problems (-want +got):\n%s", diff)
	}

	done, err := DecodeCompleteRequest([]byte(`{"status":"failed","error_message":"parse error","metadata":{"k":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != llmservice.CreditJobFailed || done.ErrorMessage != "parse error" || string(done.Metadata) != `{"k":1}` {
		t.Errorf("DecodeCompleteRequest = %+v", done)
	}
	_, err = DecodeCompleteRequest([]byte(`{"status":"cancelled"}`))
	want = []string{`["body","status"]|value is not a valid enumeration member; permitted: 'completed', 'failed'|type_error.enum`}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("complete problems (-want +got):\n%s", diff)
	}
}

func TestErrorBodyAndStatus(t *testing.T) {
	_, verr := DecodeCallRequest([]byte(`{"messages":[{"role":"user","content":"x"}]}`))
	tests := []struct {
		name   string
		err    *llmservice.Error
		status int
		body   string
	}{
		{"validation", llmservice.AsError(verr), 422, `{"detail":[{"loc":["body","model_group"],"msg":"field required","type":"value_error.missing"}]}`},
		{"invalid param", llmservice.InvalidParam("metadata", "metadata must be a JSON object"), 422, `{"detail":[{"loc":["body","metadata"],"msg":"metadata must be a JSON object","type":"value_error"}]}`},
		{"invalid", llmservice.Errorf(llmservice.Invalid, "bad"), 422, `{"detail":"bad"}`},
		{"unauthenticated", llmservice.Errorf(llmservice.Unauthenticated, "Incorrect API key provided"), 401, `{"detail":"Incorrect API key provided"}`},
		{"forbidden", llmservice.Errorf(llmservice.Forbidden, "Team 'acme-corp' does not have access to model group 'GPT4Agent'"), 403, `{"detail":"Team 'acme-corp' does not have access to model group 'GPT4Agent'"}`},
		{"not found", llmservice.Errorf(llmservice.NotFound, "Job not found"), 404, `{"detail":"Job not found"}`},
		{"conflict", llmservice.Errorf(llmservice.Conflict, "Job is already completed"), 409, `{"detail":"Job is already completed"}`},
		{"payment", llmservice.Errorf(llmservice.PaymentRequired, "Insufficient credits"), 402, `{"detail":"Insufficient credits"}`},
		{"rate", llmservice.Errorf(llmservice.RateLimited, "Rate limit exceeded"), 429, `{"detail":"Rate limit exceeded"}`},
		{"budget", llmservice.Errorf(llmservice.BudgetExceeded, "Budget exceeded"), 429, `{"detail":"Budget exceeded"}`},
		{"too large", llmservice.Errorf(llmservice.TooLarge, "too big"), 413, `{"detail":"too big"}`},
		{"upstream", llmservice.Errorf(llmservice.Upstream, "provider said no"), 500, `{"detail":"LLM call failed: provider said no"}`},
		{"timeout", llmservice.Errorf(llmservice.UpstreamTimeout, "timed out"), 500, `{"detail":"LLM call failed: timed out"}`},
		{"unavailable", llmservice.Errorf(llmservice.Unavailable, "no deployment"), 500, `{"detail":"LLM call failed: no deployment"}`},
		{"internal", llmservice.AsError(errors.New("disk on fire")), 500, `{"detail":"Internal server error"}`},
		{"exhausted", &llmservice.Error{Kind: llmservice.Unavailable, Message: "Max attempts reached - no available hosts",
			Err: &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream returned 500"}}, 500,
			`{"detail":"LLM call failed: Max attempts reached - no available hosts (last error: upstream returned 500)"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorStatus(tt.err.Kind); got != tt.status {
				t.Errorf("errorStatus(%v) = %d; want %d", tt.err.Kind, got, tt.status)
			}
			b, _ := json.Marshal(ErrorBody(tt.err))
			if string(b) != tt.body {
				t.Errorf("ErrorBody = %s; want %s", b, tt.body)
			}
		})
	}
}

func TestStreamErrorChunk(t *testing.T) {
	tests := []struct {
		err  *llmservice.Error
		want string
	}{
		{&llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "Model timeout exceeded", Code: "x"},
			`{"error":{"message":"Model timeout exceeded","type":"timeout_error","code":"model_timeout"}}`},
		{&llmservice.Error{Kind: llmservice.Upstream, Message: "connection reset"},
			`{"error":{"message":"connection reset","type":"api_error","code":"upstream_error"}}`},
		{&llmservice.Error{Kind: llmservice.RateLimited, Message: "slow down"},
			`{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}`},
		{llmservice.AsError(errors.New("secret detail")),
			`{"error":{"message":"Internal server error","type":"server_error","code":"internal_error"}}`},
	}
	for _, tt := range tests {
		b, _ := json.Marshal(StreamErrorChunk(tt.err))
		if string(b) != tt.want {
			t.Errorf("StreamErrorChunk(%v) = %s; want %s", tt.err, b, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

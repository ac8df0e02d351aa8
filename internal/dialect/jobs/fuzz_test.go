package jobs

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/llmservice/llmservice"
)

// FuzzDecodeCallRequest checks that no body crashes the decoder, that every
// refusal is a validation error naming where it is (never a 500), and that
// what it accepts is within the documented bounds.
func FuzzDecodeCallRequest(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"model_group":"g","messages":[{"role":"user","content":"hi"}]}`,
		`{"model_group":"ResumeAgent","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"purpose":"p","temperature":0.3,"max_tokens":1000}`,
		`{"model_group":"g","messages":[{"role":"user","content":"x"}],"temperature":"1e309"}`,
		`{"model_group":"g","messages":[{"role":"robot"}, 5, null],"max_tokens":-1}`,
		`{"model_group":1,"messages":{},"temperature":[],"max_tokens":"12"}`,
		`{"model_group":"g"} trailing`, "{\"model_group\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeCallRequest(body)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("DecodeCallRequest(%q) = %v; want a *ValidationError", body, err)
			}
			for _, fe := range ve.Errors {
				if len(fe.Loc) == 0 || fe.Loc[0] != "body" || fe.Msg == "" || fe.Type == "" {
					t.Fatalf("field error %+v does not say where and what", fe)
				}
			}
			if _, err := json.Marshal(ErrorBody(llmservice.AsError(err))); err != nil {
				t.Fatalf("error body does not encode: %v", err)
			}
			return
		}
		if req.ModelGroup == "" || len(req.Messages) == 0 {
			t.Fatalf("accepted %q without model_group or messages", body)
		}
		if req.Temperature < 0 || req.Temperature > 2 {
			t.Fatalf("accepted temperature %v", req.Temperature)
		}
		if req.MaxTokens != nil && *req.MaxTokens <= 0 {
			t.Fatalf("accepted max_tokens %d", *req.MaxTokens)
		}
		for _, m := range req.Messages {
			if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
				t.Fatalf("accepted role %q", m.Role)
			}
		}
		_ = req.ToLLM()
	})
}

package openai

import (
	"testing"

	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// scanSeeds are bodies the one-pass reader accepts and declines.
var scanSeeds = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a\nb \u00e9\ud83d\ude00"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}}]}],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
	`{"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u","name":"n"}],"max_tokens":1,"max_completion_tokens":2,"temperature":2,"top_p":0,"frequency_penalty":-2,"presence_penalty":2,"stop":["a","b","c","d"],"seed":-1,"n":128,"user":"u","response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{},"strict":false}},"logit_bias":{"1":-100}}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"tool_choice":"none","stop":"x","stream":false}`,
	` {"model" : "m" , "messages" : [ {"role":"user","content":"hi"} ] , "reasoning_effort":"low", "x":[1,-2.5e3,true,null,{"a":"b"}]} `,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":false}}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}]}`,
	`{"model":"m","messages":[{"role":"assistant","content":"a","refusal":null}]}`,
	`{"model":"m","messages":[{"role":"robot","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"tool","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"temperature":1e999,"n":0.5,"seed":99999999999999999999}`,
	`{"model":"m","messages":[{"role":"user","content":"\ud800\u0000"}],"stream":null,"tool_choice":null}`,
	`{"model":"m","model":"n","messages":[{"role":"user","content":"a"}]}`,
	`{"mod\u0065l":"m","messages":[{"role":"user","content":"a"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}]}x`,
	`{"messages":[{"role":"user","content":""}]}`,
	`{"model":"0","messages":[{"role":"developer","content":"0","content":"0"}]}`,
	`[]`, `null`, `{`, ``, `{"model":"m",`, "\xff\xfe{}", `{"model":"m","messages":[{"role":"user","content":"\xff"}]}`,
}

// FuzzScanChat holds the one-pass reader to the decoder it stands in for:
// whatever it accepts, the full decode accepts too, with the same model,
// stream flags, answer length and prompt estimate.
func FuzzScanChat(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := scanChat(body)
		if !ok {
			return
		}
		var req wire.ChatRequest
		if err := httpx.Unmarshal(body, &req); err != nil {
			t.Fatalf("scanChat accepted a body the decoder refuses: %v\n%s", err, body)
		}
		lr, err := req.ToLLM()
		if err != nil {
			t.Fatalf("scanChat accepted a body ToLLM refuses: %v\n%s", err, body)
		}
		if got.Model != lr.Model || got.Stream != lr.Stream || got.IncludeUsage != lr.IncludeUsage {
			t.Fatalf("scanChat read model %q stream %v usage %v, the decoder %q %v %v", got.Model, got.Stream, got.IncludeUsage, lr.Model, lr.Stream, lr.IncludeUsage)
		}
		if (got.MaxTokens == nil) != (lr.MaxTokens == nil) || got.MaxTokens != nil && *got.MaxTokens != *lr.MaxTokens {
			t.Fatalf("scanChat read max tokens %v, the decoder %v", got.MaxTokens, lr.MaxTokens)
		}
		if want := estimate(lr.Messages); got.Prompt != want {
			t.Fatalf("scanChat estimated %d prompt tokens, the decoder's messages %d\n%s", got.Prompt, want, body)
		}
	})
}

// estimate is the gateway's admission estimate of decoded messages.
func estimate(msgs []llm.Message) int64 {
	if len(msgs) == 0 {
		return 0
	}
	n := int64(3)
	for _, m := range msgs {
		for _, p := range m.Content {
			n += int64(tokens.Estimate(p.Text))
		}
		n += 4
	}
	return n
}

func TestScanChat(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{scanSeeds[0], true},
		{scanSeeds[1], true},
		{scanSeeds[2], true},
		{scanSeeds[3], true},
		{scanSeeds[4], true},
		{scanSeeds[5], true},
		{scanSeeds[6], false}, // include_usage false: the gateway rewrites it
		{scanSeeds[7], false}, // stream_options without a stream
		{scanSeeds[8], false}, // cache_control is dropped by translation
		{scanSeeds[9], false}, // a message key the wire types do not name
		{scanSeeds[10], false},
		{scanSeeds[11], false},
		{scanSeeds[12], false},
		{scanSeeds[13], false}, // a lone surrogate
		{scanSeeds[14], false}, // a duplicate key
		{scanSeeds[15], false}, // an escaped key
		{scanSeeds[16], false},
	} {
		f, ok := scanChat([]byte(tc.body))
		if ok != tc.ok {
			t.Errorf("scanChat(%s) ok = %v, want %v", tc.body, ok, tc.ok)
		}
		if ok && f.Model != "m" {
			t.Errorf("scanChat(%s) model = %q", tc.body, f.Model)
		}
	}
	f, _ := scanChat([]byte(scanSeeds[3]))
	if f.MaxTokens == nil || *f.MaxTokens != 2 {
		t.Errorf("max_completion_tokens should win over max_tokens, got %v", f.MaxTokens)
	}
	f, _ = scanChat([]byte(scanSeeds[1]))
	if !f.Stream || !f.IncludeUsage {
		t.Errorf("stream flags not read: %+v", f)
	}
}

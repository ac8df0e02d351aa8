package batches

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

const chatURL = "/v1/chat/completions"

func chatLine(id, model, text string) string {
	return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":%q}]}}`, id, model, text)
}

func TestParseInputAcceptsValidFiles(t *testing.T) {
	cases := []struct {
		name     string
		content  string
		endpoint string
		wantIDs  []string
	}{
		{"TwoLines", chatLine("a", "m", "x") + "\n" + chatLine("b", "m", "y") + "\n", chatURL, []string{"a", "b"}},
		{"NoTrailingNewline", chatLine("a", "m", "x"), chatURL, []string{"a"}},
		{"CRLFAndBlankLines", "\r\n" + chatLine("a", "m", "x") + "\r\n\r\n" + chatLine("b", "m", "y") + "\r\n", chatURL, []string{"a", "b"}},
		{"Embeddings", `{"custom_id":"e","method":"POST","url":"/v1/embeddings","body":{"model":"emb","input":["a","b"]}}`, "/v1/embeddings", []string{"e"}},
		{"LegacyCompletions", `{"custom_id":"c","method":"POST","url":"/v1/completions","body":{"model":"m","prompt":"say hi"}}`, "/v1/completions", []string{"c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, errs := parseInput([]byte(tc.content), tc.endpoint)
			if len(errs) > 0 {
				t.Fatalf("parseInput errors: %+v", errs)
			}
			var ids []string
			for i, it := range items {
				ids = append(ids, it.CustomID)
				if it.Seq != i || it.URL != tc.endpoint || it.Model == "" || !json.Valid(it.Body) {
					t.Errorf("item %d = %+v", i, it)
				}
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("custom_ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInputNamesEveryProblem(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    llmservice.BatchError
	}{
		{"NotJSON", "this is not json", llmservice.BatchError{Code: "invalid_json_line", Line: 1}},
		{"Truncated", `{"custom_id":"a"`, llmservice.BatchError{Code: "invalid_json_line", Line: 1}},
		{"Array", `[1,2]`, llmservice.BatchError{Code: "invalid_json_line", Line: 1}},
		{"NoCustomID", `{"method":"POST","url":"/v1/chat/completions","body":{}}`, llmservice.BatchError{Code: "missing_required_parameter", Param: "custom_id", Line: 1}},
		{"CustomIDNotString", `{"custom_id":7,"method":"POST","url":"/v1/chat/completions","body":{}}`, llmservice.BatchError{Code: "invalid_json_line", Line: 1}},
		{"GetMethod", `{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}}`, llmservice.BatchError{Code: "invalid_value", Param: "method", Line: 1}},
		{"OtherURL", `{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{}}`, llmservice.BatchError{Code: "invalid_url", Param: "url", Line: 1}},
		{"NoBody", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions"}`, llmservice.BatchError{Code: "missing_required_parameter", Param: "body", Line: 1}},
		{"NoModel", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}`, llmservice.BatchError{Code: "invalid_request", Param: "body.model", Line: 1}},
		{"BadMessages", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":"x"}}`, llmservice.BatchError{Code: "invalid_request", Param: "body.messages", Line: 1}},
		{"Stream", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}}`, llmservice.BatchError{Code: "invalid_request", Param: "body.stream", Line: 1}},
		{"DuplicateCustomID", chatLine("a", "m", "x") + "\n\n" + chatLine("a", "m", "y"), llmservice.BatchError{Code: "duplicate_custom_id", Param: "custom_id", Line: 3}},
		{"Empty", "\n\n", llmservice.BatchError{Code: "empty_file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, errs := parseInput([]byte(tc.content), chatURL)
			if len(items) != 0 || len(errs) != 1 {
				t.Fatalf("parseInput = %d items, errors %+v; want one error", len(items), errs)
			}
			got := errs[0]
			if got.Message == "" {
				t.Error("the error has no message")
			}
			got.Message = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInputCapsErrors(t *testing.T) {
	content := strings.Repeat("nope\n", 1000)
	_, errs := parseInput([]byte(content), chatURL)
	if len(errs) != maxErrors {
		t.Errorf("errors = %d; want the cap %d", len(errs), maxErrors)
	}
}

// FuzzParseInput feeds arbitrary files to the line decoder: it must never
// panic, and what it accepts must be requests a worker can run.
func FuzzParseInput(f *testing.F) {
	f.Add([]byte(chatLine("a", "m", "x") + "\n" + chatLine("b", "m", "y")))
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":5,"tools":[{"type":"function","function":{"name":"f"}}]}}`))
	f.Add([]byte("{}\n[]\nnull\n\"x\"\n{\"custom_id\":\"\"}"))
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"tool"}],"temperature":"hot"}}`))
	f.Fuzz(func(t *testing.T, content []byte) {
		items, errs := parseInput(content, chatURL)
		if (len(items) == 0) == (len(errs) == 0) {
			t.Fatalf("parseInput = %d items and %d errors; want exactly one of them", len(items), len(errs))
		}
		seen := map[string]bool{}
		for i, it := range items {
			if seen[it.CustomID] || it.CustomID == "" || it.Seq != i {
				t.Fatalf("item %d: custom_id %q seq %d (seen %v)", i, it.CustomID, it.Seq, seen[it.CustomID])
			}
			seen[it.CustomID] = true
			if _, err := decodeRequest(it.URL, it.Body); err != nil {
				t.Fatalf("accepted item %d does not decode again: %v", i, err)
			}
		}
		for _, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("error without code or message: %+v", e)
			}
		}
	})
}

func TestSFDItemsNameTheField(t *testing.T) {
	msgs := json.RawMessage(`[{"role":"user","content":"hi"}]`)
	cases := []struct {
		name      string
		req       sfdCreateRequest
		wantParam string
	}{
		{"NoRequests", sfdCreateRequest{}, "requests"},
		{"NoCustomID", sfdCreateRequest{Requests: []sfdRequest{{Model: "m", Messages: msgs}}}, "requests[0].custom_id"},
		{"NoModel", sfdCreateRequest{Requests: []sfdRequest{{CustomID: "a", Messages: msgs}}}, "requests[0].model"},
		{"NoMessages", sfdCreateRequest{Requests: []sfdRequest{{CustomID: "a", Model: "m"}}}, "requests[0].messages"},
		{"BadRole", sfdCreateRequest{Requests: []sfdRequest{{CustomID: "a", Model: "m", Messages: json.RawMessage(`[{"role":"robot","content":"x"}]`)}}}, "requests[0].messages[0].role"},
		{"BadTemperature", sfdCreateRequest{Requests: []sfdRequest{{CustomID: "a", Model: "m", Messages: msgs, Temperature: ptr(9.0)}}}, "requests[0].temperature"},
		{"Duplicate", sfdCreateRequest{Requests: []sfdRequest{{CustomID: "a", Model: "m", Messages: msgs}, {CustomID: "a", Model: "m", Messages: msgs}}}, "requests[1].custom_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sfdItems(&tc.req)
			e := llmservice.AsError(err)
			if e.Kind != llmservice.Invalid || e.Param != tc.wantParam {
				t.Errorf("sfdItems error = %v (param %q); want Invalid naming %q", err, e.Param, tc.wantParam)
			}
		})
	}
	items, err := sfdItems(&sfdCreateRequest{Requests: []sfdRequest{{CustomID: "request-1", Model: "gpt-4", Messages: msgs, MaxTokens: ptr(50)}}})
	if err != nil || len(items) != 1 {
		t.Fatalf("valid request: %v", err)
	}
	r, err := decodeRequest(items[0].URL, items[0].Body)
	if err != nil || r.Model != "gpt-4" || *r.Chat.MaxTokens != 50 {
		t.Errorf("the item's body decodes to %+v, %v", r, err)
	}
}

func ptr[T any](v T) *T { return &v }

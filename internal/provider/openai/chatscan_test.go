package openai

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// The oracle: the pass-through scanners as they were before they read by
// hand (json.Valid, a structural topLevel, encoding/json for the usage and
// the text). FuzzChunkScan holds the new ones to every result of these.

func oldTopLevel(doc []byte, sp *spans) error {
	sp.reset()
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return errNotJSONObject
	}
	i++
	sp.open = i
	for {
		i = skipWS(doc, i)
		if i < len(doc) && doc[i] == '}' {
			return nil
		}
		if i >= len(doc) || doc[i] != '"' {
			return errNotJSONObject
		}
		ks := i
		i = oldSkipString(doc, i)
		if i < 0 {
			return errNotJSONObject
		}
		key := doc[ks+1 : i-1]
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ':' {
			return errNotJSONObject
		}
		vs := skipWS(doc, i+1)
		ve := oldSkipValue(doc, vs)
		if ve < 0 {
			return errNotJSONObject
		}
		s := [2]int{vs, ve}
		name := string(key)
		for _, k := range answerKeys {
			if strings.EqualFold(name, k) {
				name = k
			}
		}
		switch name {
		case "model":
			if doc[vs] == '"' {
				sp.model = append(sp.model, s)
			}
		case "max_tokens":
			sp.maxTokens = append(sp.maxTokens, s)
		case "max_completion_tokens":
			sp.maxCompletion = append(sp.maxCompletion, s)
		case "stream_options":
			sp.streamOptions = append(sp.streamOptions, s)
		case "usage":
			sp.usage = append(sp.usage, s)
			sp.usageNull = doc[vs] == 'n'
		case "choices":
			sp.choices = append(sp.choices, s)
		case "error":
			if doc[vs] != 'n' {
				sp.errorField = append(sp.errorField, s)
			}
		}
		i = skipWS(doc, ve)
		if i < len(doc) && doc[i] == ',' {
			i++
			continue
		}
		if i < len(doc) && doc[i] == '}' {
			return nil
		}
		return errNotJSONObject
	}
}

func oldSkipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func oldSkipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return oldSkipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = oldSkipString(b, i)
				if i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(" \t\r\n,}]", rune(b[j])) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func oldNewChatJSON(ctx context.Context, b []byte, reply string) (*chatJSON, error) {
	if !json.Valid(b) {
		return nil, upstream.DecodeError(ctx, json.NewDecoder(bytes.NewReader(b)).Decode(new(json.RawMessage)))
	}
	sp := new(spans)
	if err := oldTopLevel(b, sp); err != nil {
		return nil, upstream.Unreadable("response", err)
	}
	j := &chatJSON{raw: b}
	if len(sp.choices) > 0 {
		cs := sp.choices[len(sp.choices)-1]
		j.reasons = appendFinishReasons(nil, b[cs[0]:cs[1]])
	}
	if len(sp.usage) > 0 && !sp.usageNull {
		var u wire.Usage
		s := sp.usage[len(sp.usage)-1]
		if err := json.Unmarshal(b[s[0]:s[1]], &u); err != nil {
			return nil, upstream.Unreadable("response", err)
		}
		j.u, j.seen = wire.UsageToLLM(&u), true
	}
	if reply != "" && len(sp.model) > 0 {
		m := jsonString(reply)
		var edits []edit
		for _, s := range sp.model {
			edits = append(edits, edit{s[0], s[1], m})
		}
		b = apply(b, edits)
	}
	j.Reader.Reset(b)
	return j, nil
}

// oldChatSSE is chatSSE's state that frame reads and writes.
type oldChatSSE struct {
	reply   []byte
	hide    bool
	u       llm.Usage
	seen    bool
	text    strings.Builder
	tmp     chatText
	sp      spans
	done    bool
	reasons []string
	out     []byte
	buf     []byte
}

func (s *oldChatSSE) frame(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		s.done = true
		s.out = append(s.buf[:0], "data: [DONE]\n\n"...)
		return nil
	}
	if !json.Valid(data) {
		return upstream.Unreadable("stream chunk", json.Unmarshal(data, new(json.RawMessage)))
	}
	sp := &s.sp
	if err := oldTopLevel(data, sp); err != nil {
		return upstream.Unreadable("stream chunk", err)
	}
	if len(sp.errorField) > 0 {
		var e struct {
			Message string `json:"message"`
		}
		es := sp.errorField[0]
		_ = json.Unmarshal(data[es[0]:es[1]], &e)
		return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: " + e.Message}
	}
	usageOnly := false
	if len(sp.usage) > 0 && !sp.usageNull {
		var u wire.Usage
		us := sp.usage[len(sp.usage)-1]
		if err := json.Unmarshal(data[us[0]:us[1]], &u); err != nil {
			return upstream.Unreadable("stream chunk", err)
		}
		s.u, s.seen = wire.UsageToLLM(&u), true
		usageOnly = len(sp.choices) == 0 || emptyArray(data[sp.choices[0][0]:sp.choices[0][1]])
	}
	if len(sp.choices) > 0 {
		cs := sp.choices[0]
		s.reasons = appendFinishReasons(s.reasons, data[cs[0]:cs[1]])
	}
	if len(sp.choices) > 0 && s.text.Len() < maxChatText {
		cs := sp.choices[0]
		s.tmp.Choices = s.tmp.Choices[:cap(s.tmp.Choices)]
		clear(s.tmp.Choices)
		s.tmp.Choices = s.tmp.Choices[:0]
		if json.Unmarshal(data[cs[0]:cs[1]], &s.tmp.Choices) != nil {
			return upstream.Unreadable("stream chunk", errors.New("choices is not an array"))
		}
		s.tmp.appendTo(&s.text, maxChatText)
	}
	if usageOnly && s.hide {
		return nil
	}
	out := append(s.buf[:0], "data: "...)
	prev := 0
	if len(s.reply) > 0 {
		for _, m := range sp.model {
			out = append(append(out, data[prev:m[0]]...), s.reply...)
			prev = m[1]
		}
	}
	out = append(append(out, data[prev:]...), "\n\n"...)
	s.buf, s.out = out, out
	return nil
}

// sameError reports whether two errors read the same to a caller.
func sameError(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	var ea, eb *llmservice.Error
	if errors.As(a, &ea) != errors.As(b, &eb) {
		return false
	}
	if ea != nil && (ea.Kind != eb.Kind || ea.Code != eb.Code || ea.Status != eb.Status) {
		return false
	}
	return a.Error() == b.Error()
}

// chunkSeeds are chunks and answers in the shapes upstreams send, and odd
// ones. A seed of several chunks separates them with NUL, which no valid
// chunk holds.
var chunkSeeds = []string{
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-up","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"c","model":"gpt-up","choices":[{"index":0,"delta":{"content":"Hello \u00e9\ud83d\ude00 \"q\" \n"},"finish_reason":null}]}` + "\x00" +
		`{"id":"c","model":"gpt-up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\x00" +
		`{"id":"c","model":"gpt-up","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}}}` + "\x00[DONE]",
	`{"id":"c","model":"gpt-up","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"finish_reason":null}],"usage":null}` + "\x00" +
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"lo"}}]},"finish_reason":null}]}` + "\x00" +
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	`{"id":"c","object":"chat.completion","model":"gpt-up","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
	`{"error":{"message":"boom","type":"server_error"}}`,
	`{"error":null,"choices":[{"delta":{"content":"x"}}]}`,
	`{"choices":[{"delta":{"content":"\ud800"}},{"delta":{"content":"\udc00\ud800\u0041"}},{"delta":{"content":"a` + "\xff\xc3" + `b"}}]}`,
	`{"choices":[null,{"delta":null},{"message":null,"delta":{"content":null,"tool_calls":null}},{"delta":{"tool_calls":[null,{"function":null},{"index":null,"id":null}]}}]}`,
	`{"choices":[{"Delta":{"CONTENT":"case"}}],"Usage":{"Prompt_Tokens":1,"PROMPT_TOKENS_DETAILS":{"Cached_Tokens":1}}}`,
	`{"choices":[{"delta":{"content":"a","content":"b"}}]}`,
	`{"choiceſ":[{"delta":{"content":"x"}}],"uſage":{"prompt_tokens":1},"ERROR":null,"CHOICES":[],"Usage":null}`,
	`{"ChoiceS":[{"delta":{"content":"x"}}],"usagE":{"prompt_tokens":1},"Error":{"message":"m"}}`,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"A","name":"N"},"id":"i"}],"content":"C"},"index":0,"message":{"content":"M","tool_calls":[{"function":{"name":"n2"}}]}},{"message":{"content":"M2"},"delta":{"content":"D2"}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"name":"a","name":"b"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"id":"a","ID":"b","function":{"name":"x"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"name":"x"},"function":{"arguments":"y"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":1,"index":2,"function":{"name":"x"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"type":5}]}}]}`, `{"choices":[{"delta":{"tool_calls":{}}}]}`, `{"choices":[{"delta":{"tool_calls":[5]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"function":{"name":null,"arguments":7}}]}}]}`,
	`{"choices":[{"delta":{"content":"a"},"Delta":{"content":"b"}}]}`, `{"choices":[{"message":"x"}]}`,
	`{"choices":[{"delta":{"content":5}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":1.5}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"index":"x","function":{"name":"n"}}]}}]}`,
	`{"choices":{"delta":{}}}`, `{"choices":null}`, `{"choices":[1]}`, `{"choices":[{"d\u0065lta":{"content":"esc"}}]}`,
	`{"usage":{"prompt_tokens":12.0}}`, `{"usage":{"prompt_tokens":-3,"completion_tokens":null}}`, `{"usage":{"prompt_tokens":"3"}}`,
	`{"usage":{"prompt_tokens":123456789012345678901}}`, `{"usage":{"total_tokens":1e2}}`, `{"usage":5}`, `{"usage":[]}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":{}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":null,"prompt_tokens_details":{}}}`,
	`{"usage":{"prompt_tokens_details":5}}`, `{"usage":{"pr\u006fmpt_tokens":4}}`, `{"usage":{"prompt_tokenſ":4}}`,
	`{"usage":{"prompt_tokens":1},"usage":null}`, `{"usage":null,"usage":{"prompt_tokens":1}}`,
	`{"model":1,"model":"x","nested":{"model":"y"}}`, `[DONE]`, ` [DONE] `, `{`, `{"a":"\"}`, ``, `null`, `[]`, `"x"`,
	`{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":tru}`, `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":"\x"}`, `{"a":"\u12G4"}`,
	`{"a":"` + "\x01" + `"}`, `{"a":1} x`, `{"a":1}}`, `{} `, "\t{}\n", `{"a":[[[[{}]]]]}`, `{"a":1e+5,"b":-0.5E-3}`,
	`{"choices":[{"delta":{"content":"<html>"}}]}`, `<html>`,
}

// FuzzChunkScan holds frame and newChatJSON to the oracle above: for every
// input, the same bytes out, usage, finish reasons, text and error.
func FuzzChunkScan(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s), true)
	}
	for _, name := range []string{"text_usage.sse", "tool_calls.sse", "two_choices.sse", "reasoning.sse", "error_midstream.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		var chunks [][]byte
		for _, line := range bytes.Split(b, []byte("\n")) {
			if d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:")); ok {
				chunks = append(chunks, d)
			}
		}
		f.Add(bytes.Join(chunks, []byte{0}), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, hide bool) {
		checkChunkScan(t, in, hide)
	})
}

func checkChunkScan(t *testing.T, in []byte, hide bool) {
	t.Helper()
	ctx := context.Background()
	for _, b := range append(bytes.Split(in, []byte{0}), in) {
		j, err := newChatJSON(ctx, b, "alias")
		oj, oerr := oldNewChatJSON(ctx, b, "alias")
		if !sameError(err, oerr) {
			t.Fatalf("answer %q: error %v; was %v", b, err, oerr)
		}
		if err != nil {
			continue
		}
		u, seen := j.Usage()
		ou, oseen := oj.Usage()
		out, oout := make([]byte, j.Len()), make([]byte, oj.Len())
		j.Read(out)
		oj.Read(oout)
		if !bytes.Equal(out, oout) || u != ou || seen != oseen || !slices.Equal(j.FinishReasons(), oj.FinishReasons()) || j.Text() != oj.Text() {
			t.Fatalf("answer %q: %q %+v %v %q %q; was %q %+v %v %q %q", b, out, u, seen, j.FinishReasons(), j.Text(),
				oout, ou, oseen, oj.FinishReasons(), oj.Text())
		}
	}
	for _, reply := range []string{`"alias"`, ""} {
		s := &chatSSE{reply: []byte(reply), hide: hide}
		o := &oldChatSSE{reply: []byte(reply), hide: hide}
		for _, b := range bytes.Split(in, []byte{0}) {
			err, oerr := s.frame(b), o.frame(b)
			if !sameError(err, oerr) {
				t.Fatalf("chunk %q: error %v; was %v", b, err, oerr)
			}
			if err != nil {
				break // the stream ends there
			}
			if !bytes.Equal(s.out, o.out) || s.done != o.done || s.u != o.u || s.seen != o.seen ||
				!slices.Equal(s.reasons, o.reasons) || s.text.String() != o.text.String() {
				t.Fatalf("chunk %q: out %q done %v usage %+v %v reasons %q text %q; was %q %v %+v %v %q %q", b,
					s.out, s.done, s.u, s.seen, s.reasons, s.text.String(), o.out, o.done, o.u, o.seen, o.reasons, o.text.String())
			}
		}
	}
}

// TestChunkScanSeeds runs the differential check on the seeds without the
// fuzzing engine, and on documents too deep or too long for it to find.
func TestChunkScanSeeds(t *testing.T) {
	for _, s := range chunkSeeds {
		checkChunkScan(t, []byte(s), true)
		checkChunkScan(t, []byte(s), false)
	}
	for _, n := range []int{maxDepth - 2, maxDepth - 1, maxDepth, maxDepth + 1} {
		// The top-level object and n arrays in it: json.Valid's bound
		// is 10000 in all.
		doc := `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
		checkChunkScan(t, []byte(doc), true)
		doc = `{"a":` + strings.Repeat(`{"b":`, n) + "1" + strings.Repeat("}", n) + `}`
		checkChunkScan(t, []byte(doc), true)
	}
}

// The text a stream keeps stops at maxChatText, if need be inside a rune,
// as it did.
func TestChunkScanTextLimit(t *testing.T) {
	for _, chunk := range []string{
		`{"choices":[{"delta":{"content":"\u00e9\u00e9\u00e9"}}]}`,
		`{"choices":[{"delta":{"content":"ééé"}}]}`,
		`{"choices":[{"delta":{"content":"abc","tool_calls":[{"function":{"name":"n","arguments":"{}"}}]}}]}`,
	} {
		for _, fill := range []int{maxChatText - 1, maxChatText - 2, maxChatText - 4, maxChatText - 9} {
			s := &chatSSE{}
			o := &oldChatSSE{}
			s.text.WriteString(strings.Repeat("x", fill))
			o.text.WriteString(strings.Repeat("x", fill))
			err, oerr := s.frame([]byte(chunk)), o.frame([]byte(chunk))
			if err != nil || oerr != nil || s.text.String() != o.text.String() {
				t.Errorf("%s after %d bytes: %v, text ends %q; was %v, %q", chunk, fill, err, s.text.String()[fill-1:], oerr, o.text.String()[fill-1:])
			}
		}
	}
}

func TestUsageOf(t *testing.T) {
	for _, c := range []struct {
		name, usage string
		want        llm.Usage
		ok          bool // read by hand; else left to encoding/json
	}{
		{"openai", `{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0}}`,
			llm.Usage{PromptTokens: 19, CompletionTokens: 10, CachedTokens: 3, ReasoningTokens: 2}, true},
		{"empty", `{}`, llm.Usage{}, true},
		{"spaces", ` { "prompt_tokens" : 1 , "completion_tokens" : 2 } `[1:], llm.Usage{PromptTokens: 1, CompletionTokens: 2}, true},
		{"case", `{"Prompt_Tokens":1,"COMPLETION_TOKENS_DETAILS":{"Reasoning_Tokens":4}}`, llm.Usage{PromptTokens: 1, ReasoningTokens: 4}, true},
		{"null counts", `{"prompt_tokens":null,"completion_tokens":2}`, llm.Usage{CompletionTokens: 2}, true},
		{"negative", `{"prompt_tokens":-3}`, llm.Usage{PromptTokens: -3}, true},
		{"repeated: the last", `{"prompt_tokens":1,"prompt_tokens":2}`, llm.Usage{PromptTokens: 2}, true},
		{"details merged", `{"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":{"audio_tokens":1}}`, llm.Usage{CachedTokens: 3}, true},
		{"details nulled", `{"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":null}`, llm.Usage{}, true},
		{"details nulled, then given", `{"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":null,"prompt_tokens_details":{}}`, llm.Usage{}, true},
		{"18 digits", `{"prompt_tokens":999999999999999999}`, llm.Usage{PromptTokens: 999999999999999999}, true},
		{"19 digits", `{"prompt_tokens":1000000000000000000}`, llm.Usage{}, false},
		{"float", `{"prompt_tokens":12.0}`, llm.Usage{}, false},
		{"exponent", `{"total_tokens":1e2}`, llm.Usage{}, false},
		{"string", `{"completion_tokens":"3"}`, llm.Usage{}, false},
		{"bool", `{"prompt_tokens":true}`, llm.Usage{}, false},
		{"details not an object", `{"prompt_tokens_details":[]}`, llm.Usage{}, false},
		{"escaped key", `{"prompt\u005ftokens":1}`, llm.Usage{}, false},
		{"key beyond ASCII", `{"prompt_tokenſ":1}`, llm.Usage{}, false},
		{"not an object", `[1]`, llm.Usage{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := usageOf([]byte(c.usage))
			if ok != c.ok || ok && got != c.want {
				t.Fatalf("usageOf(%s) = %+v, %v; want %+v, %v", c.usage, got, ok, c.want, c.ok)
			}
			// Read by hand or not, readUsage gives what encoding/json gives.
			var w wire.Usage
			werr := json.Unmarshal([]byte(c.usage), &w)
			u, err := readUsage([]byte(c.usage))
			if (err != nil) != (werr != nil) || err == nil && u != wire.UsageToLLM(&w) {
				t.Errorf("readUsage(%s) = %+v, %v; encoding/json reads %+v, %v", c.usage, u, err, wire.UsageToLLM(&w), werr)
			}
		})
	}
}

func TestAppendUnquoted(t *testing.T) {
	for _, c := range []struct{ name, in string }{
		{"plain", `"hello"`},
		{"empty", `""`},
		{"escapes", `"\"\\\/\b\f\n\r\t"`},
		{"unicode", `"\u00e9\u20AC\u0000"`},
		{"pair", `"\ud83d\ude00"`},
		{"lone high", `"\ud83dx"`},
		{"lone high at the end", `"\ud83d"`},
		{"high, then not a low", `"\ud83d\u0041"`},
		{"two highs", `"\ud83d\ud83d\ude00"`},
		{"lone low", `"\ude00\ud83d"`},
		{"high, then a plain escape", `"\ud83d\n"`},
		{"UTF-8", `"é😀"`},
		{"not UTF-8", "\"a\xffb\xc3\""},
		{"cut rune", "\"\xe2\x82\""},
		{"encoded surrogate", "\"\xed\xa0\x80\""},
		{"replacement char", "\"\xef\xbf\xbd\""},
		{"DEL", "\"\x7f\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if scanString([]byte(c.in), 0) != len(c.in) {
				t.Fatalf("scanString(%q) does not read the whole string", c.in)
			}
			var want string
			if err := json.Unmarshal([]byte(c.in), &want); err != nil {
				t.Fatal(err)
			}
			if got := string(appendUnquoted([]byte("pre"), []byte(c.in))); got != "pre"+want {
				t.Errorf("appendUnquoted(%q) = %q; want %q", c.in, got, "pre"+want)
			}
			if plainString([]byte(c.in)) && want != c.in[1:len(c.in)-1] {
				t.Errorf("plainString(%q), but it decodes to %q", c.in, want)
			}
		})
	}
}

// scanString, scanNumber and skipValue accept what json.Valid accepts.
func TestSkipValue(t *testing.T) {
	for _, v := range []string{
		`""`, `"a\"b"`, `"\u00e9"`, `"\u00G9"`, `"\x"`, `"` + "\x1f" + `"`, "\"\xff\"", `"abc`, `"\`, `"\u12`,
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `-12.5e10`, `+1`, `1x`,
		`true`, `false`, `null`, `tru`, `nul`, `nulls`, `True`,
		`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,[2,[3]]]`, `[`, `]`,
		`{}`, `{ }`, `{"a":1}`, `{"a" : [ 1 , { } ] }`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":1]`, `[1}`,
		`{"a":[{"b":[{"c":"}"}]}]}`, ``, ` 1`,
	} {
		end := skipValue([]byte(v), 0, 0)
		if got, want := end == len(v), json.Valid([]byte(v)) && !strings.HasPrefix(v, " "); got != want {
			t.Errorf("skipValue(%q) = %d (len %d); json.Valid: %v", v, end, len(v), want)
		}
	}
}

// plain8 agrees with plainInString on every byte at every position, among
// plain bytes and next to other special ones.
func TestPlain8(t *testing.T) {
	for _, fill := range []byte{'a', 0x20, 0xff, 0x80, '"' + 1, '\\' - 1} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(c)
				want := true
				for _, x := range w {
					want = want && plainInString[x]
				}
				if got := plain8(binary.LittleEndian.Uint64(w)); got != want {
					t.Errorf("plain8(%q) = %v", w, got)
				}
			}
		}
	}
}

// topKey names the keys the former topLevel named: strings.EqualFold
// against answerKeys, then the exact names.
func TestTopKey(t *testing.T) {
	old := func(key []byte) string {
		name := string(key)
		for _, k := range answerKeys {
			if strings.EqualFold(name, k) {
				name = k
			}
		}
		switch name {
		case "model", "max_tokens", "max_completion_tokens", "stream_options", "usage", "choices", "error":
			return name
		}
		return ""
	}
	keys := []string{"usage", "Usage", "USAGE", "uſage", "uſagE", "choices", "choiceſ", "CHOICES", "error", "ERROR", "Error",
		"model", "Model", "max_tokens", "MAX_TOKENS", "stream_options", "id", "", "usag", "usagee", "\xffsage", "u\xffage", "ſ",
		"usage\x00", "us\\u0061ge", "errorſ", "error\u212a"}
	// And keys of the letters that matter, in every case, some beyond ASCII.
	letters := []string{"u", "s", "a", "g", "e", "c", "h", "o", "i", "r", "U", "S", "E", "ſ", "K", "k", "\xc5", "_"}
	for n := uint64(0); n < 200000; n++ {
		var b strings.Builder
		for x := n*2654435761 + 1; x > 0 && b.Len() < 9; x /= uint64(len(letters)) {
			b.WriteString(letters[x%uint64(len(letters))])
		}
		keys = append(keys, b.String())
	}
	for _, k := range keys {
		if got, want := topKey([]byte(k)), old([]byte(k)); got != want {
			t.Errorf("topKey(%q) = %q; was %q", k, got, want)
		}
	}
}

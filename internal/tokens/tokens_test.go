package tokens

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
)

// TestConcurrentFirstUse runs first so that both encoders load under
// contention; -race checks the lazy loading.
func TestConcurrentFirstUse(t *testing.T) {
	models := []string{"gpt-4o", "gpt-4", "claude-sonnet-4", "o3-mini"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				m := models[(g+i)%len(models)]
				if got := Count(m, "hello world"); got != 2 {
					t.Errorf("Count(%q, hello world) = %d; want 2", m, got)
				}
			}
		})
	}
	wg.Wait()
}

// Expected counts for cl100k_base are those printed in OpenAI's cookbook
// "How to count tokens with tiktoken"; the o200k_base ones were checked
// with tiktoken-go itself.
func TestCount(t *testing.T) {
	tests := []struct {
		model, text string
		want        int
	}{
		{"gpt-4", "", 0},
		{"gpt-4", "hello world", 2},
		{"gpt-4", "tiktoken is great!", 6},
		{"gpt-4", "antidisestablishmentarianism", 6},
		{"gpt-4", "2 + 2 = 4", 7},
		{"gpt-4", "お誕生日おめでとう", 9},
		{"gpt-4o", "hello world", 2},
		{"gpt-4o", "お誕生日おめでとう", 8},
		{"gpt-4o", "Hello, world! 👋🌍", 8},
		{"gpt-3.5-turbo", "Hello, world! 👋🌍", 9},
		// Non-OpenAI models use cl100k_base as an approximation.
		{"claude-sonnet-4", "お誕生日おめでとう", 9},
		// Special tokens in user text are plain text, not a panic.
		{"gpt-4o", "<|endoftext|>", 7},
	}
	for _, tt := range tests {
		if got := Count(tt.model, tt.text); got != tt.want {
			t.Errorf("Count(%q, %q) = %d; want %d", tt.model, tt.text, got, tt.want)
		}
	}
}

func TestEncoderFor(t *testing.T) {
	tests := []struct {
		model string
		want  *encoder
	}{
		{"gpt-4o", o200k},
		{"gpt-4o-mini-2024-07-18", o200k},
		{"chatgpt-4o-latest", o200k},
		{"gpt-4.1-nano", o200k},
		{"gpt-4.5-preview", o200k},
		{"gpt-5", o200k},
		{"gpt-5-mini", o200k},
		{"GPT-4o", o200k},
		{"openai/gpt-4o", o200k},
		{"gpt-oss-120b", o200k},
		{"o1", o200k},
		{"o1-mini", o200k},
		{"o3-2025-04-16", o200k},
		{"o4-mini", o200k},
		{"gpt-4", cl100k},
		{"gpt-4-turbo", cl100k},
		{"gpt-3.5-turbo", cl100k},
		{"text-embedding-3-small", cl100k},
		{"o2", cl100k},
		{"o10", cl100k},
		{"ollama", cl100k},
		{"claude-sonnet-4", cl100k},
		{"gemini-2.0-flash", cl100k},
		{"", cl100k},
	}
	for _, tt := range tests {
		if got := encoderFor(tt.model); got != tt.want {
			t.Errorf("encoderFor(%q) = %s; want %s", tt.model, got.name, tt.want.name)
		}
	}
}

// cookbookMessages is the example of OpenAI's cookbook, for which the API
// reported 129 prompt tokens on gpt-3.5-turbo and gpt-4, and 124 on gpt-4o
// and gpt-4o-mini.
var cookbookMessages = []llm.Message{
	llm.TextMessage(llm.RoleSystem, "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
	named(llm.TextMessage(llm.RoleSystem, "New synergies will help drive top-line growth."), "example_user"),
	named(llm.TextMessage(llm.RoleSystem, "Things working well together will increase revenue."), "example_assistant"),
	named(llm.TextMessage(llm.RoleSystem, "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."), "example_user"),
	named(llm.TextMessage(llm.RoleSystem, "Let's talk later when we're less busy about how to do better."), "example_assistant"),
	llm.TextMessage(llm.RoleUser, "This late pivot means we don't have time to boil the ocean for the client deliverable."),
}

func named(m llm.Message, name string) llm.Message {
	m.Name = name
	return m
}

func TestCountMessages(t *testing.T) {
	user := func(parts ...llm.Part) []llm.Message {
		return []llm.Message{{Role: llm.RoleUser, Content: parts}}
	}
	text := func(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }
	image := llm.Part{Type: llm.PartImage, ImageURL: "https://example.com/cat.png"}
	tests := []struct {
		name  string
		model string
		msgs  []llm.Message
		want  int
	}{
		{"cookbook gpt-3.5-turbo", "gpt-3.5-turbo", cookbookMessages, 129},
		{"cookbook gpt-4", "gpt-4", cookbookMessages, 129},
		{"cookbook gpt-4o", "gpt-4o", cookbookMessages, 124},
		{"cookbook gpt-4o-mini", "gpt-4o-mini", cookbookMessages, 124},
		{"none", "gpt-4o", nil, 0},
		// 3 priming + 3 framing + 1 "user" + 2 "hello world".
		{"one message", "gpt-4o", user(text("hello world")), 9},
		{"text parts add up", "gpt-4o", user(text("hello"), text(" world")), 9},
		{"image is fixed", "gpt-4o", user(text("hello world"), image), 9 + 85},
		{"empty content", "gpt-4o", user(), 7},
		// 6 for priming and framing, then role, tool name and arguments.
		{"tool call", "gpt-4o", []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
			6 + Count("gpt-4o", "assistant") + Count("gpt-4o", "get_weather") + Count("gpt-4o", `{"city":"Paris"}`)},
		{"tool result", "gpt-4o", []llm.Message{{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{text("sunny")}}},
			6 + Count("gpt-4o", "tool") + Count("gpt-4o", "call_1") + Count("gpt-4o", "sunny")},
	}
	for _, tt := range tests {
		if got := CountMessages(tt.model, tt.msgs); got != tt.want {
			t.Errorf("%s: CountMessages(%q) = %d; want %d", tt.name, tt.model, got, tt.want)
		}
	}
}

func TestEstimate(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"hello world", 2},
		{"hello, world!", 4},
		{"internationalization", 4}, // 20 letters: 1 + 14/4
		{"2026-12-07", 6},           // 202, 6, -, 12, -, 07
		{"  indented\n\n", 3},
		{"{\"model\":\"gpt-4o\"}", 8},
		{"日本語のテキスト", 8},
		{"naïve café", 2},
		{"🙂 ok", 2},
		{"\xff\xfe", 2}, // not UTF-8: a piece per byte
		{strings.Repeat("x", 4000), 999},
	}
	for _, tt := range tests {
		if got := Estimate(tt.text); got != tt.want {
			t.Errorf("Estimate(%q) = %d; want %d", tt.text, got, tt.want)
		}
	}
}

// Samples of what prompts hold, for TestEstimateIsClose.
var (
	prose = `The gateway admits a call only when every limit it falls under has room for it. ` +
		`Before the call it cannot know how many tokens the answer will take, so it charges an estimate: ` +
		`the prompt, counted cheaply, plus the max_tokens the caller asked for. After the call, the ` +
		`real count replaces the estimate. An estimate far above the truth refuses calls that would fit; ` +
		`one far below lets a burst through that the true-up then has to pay back. Operators reading ` +
		`their dashboards expect "120 tokens per minute" to mean what it says, whatever language or ` +
		`vocabulary their users write in, and within a few percent for ordinary English prose.`
	code = `func (l *Local) Take(_ context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	if err := validate(rules, costs); err != nil {
		return nil, false, err
	}
	statuses := make([]Status, len(rules)) // allocated before locking
	ok := l.take(rules, costs, statuses, false)
	return statuses, ok, nil
}
`
	jsonText = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"Summarize the attached report in 3 bullet points, max 40 words each."}],` +
		`"temperature":0.2,"max_tokens":256,"response_format":{"type":"json_object"}}`
)

// The estimate stays close to both encodings' counts: never more than 25%
// below (what a burst could take beyond a TPM limit before the true-up) nor
// 35% above (what it refuses that would fit). Words that are rare in the
// encoding's vocabulary take more tokens than the estimate knows.
func TestEstimateIsClose(t *testing.T) {
	for _, tt := range []struct{ name, text string }{
		{"prose", prose}, {"code", code}, {"json", jsonText},
		{"40 words", strings.Repeat("gateways measure accurate estimates ", 10)},
	} {
		for _, model := range []string{"gpt-4", "gpt-4o"} {
			est, n := Estimate(tt.text), Count(model, tt.text)
			r := float64(est) / float64(n)
			t.Logf("%s, %s: estimate %d, count %d (%.2f)", tt.name, model, est, n, r)
			if r < 0.75 || r > 1.35 {
				t.Errorf("%s, %s: estimate %d for %d tokens (%.2f); want within -25%%/+35%%", tt.name, model, est, n, r)
			}
		}
	}
}

func FuzzEstimate(f *testing.F) {
	for _, s := range []string{"", "hello, world", code, jsonText, "日本語", "\xff", " 12 ab", "é\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := Estimate(s); n < 0 || n > len(s) || (n == 0) != (s == "") {
			t.Errorf("Estimate(%q) = %d; want in [1, %d] (0 only for empty text)", s, n, len(s))
		}
	})
}

// TestEncoderHeap reports what loading each encoder costs on the heap. It
// must run alone in a fresh process, before anything loads an encoder:
//
//	LLMSERVICE_TOKENS_HEAP=1 go test -run TestEncoderHeap -v ./internal/tokens
func TestEncoderHeap(t *testing.T) {
	if os.Getenv("LLMSERVICE_TOKENS_HEAP") == "" {
		t.Skip("set LLMSERVICE_TOKENS_HEAP=1 and run alone to measure")
	}
	const mib = 1 << 20
	for _, e := range []*encoder{cl100k, o200k} {
		before := memStats()
		e.get()
		after := memStats()
		t.Logf("%s: %.1f MiB live heap, %.1f MiB allocated while loading, heap from OS %.1f -> %.1f MiB",
			e.name, float64(after.HeapAlloc-before.HeapAlloc)/mib, float64(after.TotalAlloc-before.TotalAlloc)/mib,
			float64(before.HeapSys)/mib, float64(after.HeapSys)/mib)
	}
}

// memStats returns the stats after a full collection, so HeapAlloc is the
// live heap.
func memStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms
}

var sink int

func BenchmarkCount(b *testing.B) {
	short := "The quick brown fox jumps over the lazy dog."
	long := strings.Repeat(short+" ", 250) // about 11 KB
	for _, bb := range []struct{ name, model, text string }{
		{"cl100k/short", "gpt-4", short},
		{"o200k/short", "gpt-4o", short},
		{"cl100k/11KB", "gpt-4", long},
		{"o200k/11KB", "gpt-4o", long},
		// One 50 KB word: chunked, else quadratic (seconds).
		{"cl100k/50KB-run", "gpt-4", strings.Repeat("a", 50_000)},
	} {
		Count(bb.model, "warm up")
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.text)))
			for b.Loop() {
				sink = Count(bb.model, bb.text)
			}
		})
	}
}

func BenchmarkCountMessages(b *testing.B) {
	Count("gpt-4o", "warm up")
	for b.Loop() {
		sink = CountMessages("gpt-4o", cookbookMessages)
	}
}

// BenchmarkEstimate: one pass over the bytes, about 210 MB/s (5 ns a
// byte) on the shared 2-core test machine, no allocation: less than decoding
// the JSON body the text came in, and far less than a tokenizer.
func BenchmarkEstimate(b *testing.B) {
	for _, bb := range []struct{ name, text string }{
		{"prose-11KB", strings.Repeat(prose+" ", 16)},
		{"code-11KB", strings.Repeat(code, 40)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.text)))
			for b.Loop() {
				sink = Estimate(bb.text)
			}
		})
	}
}

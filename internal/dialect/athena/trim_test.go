package athena

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

func TestTrimHistory(t *testing.T) {
	// u/a: role; the number is the message's tokens.
	hist := func(spec string) []*llmservice.ConversationMessage {
		var out []*llmservice.ConversationMessage
		for i, f := range strings.Fields(spec) {
			var n int
			fmt.Sscanf(f[1:], "%d", &n)
			role := llm.RoleUser
			if f[0] == 'a' {
				role = llm.RoleAssistant
			}
			out = append(out, &llmservice.ConversationMessage{Seq: i + 1, Role: role, Tokens: n})
		}
		return out
	}
	tests := []struct {
		name     string
		hist     string
		budget   int
		wantSeqs []int
		dropped  int
	}{
		{"empty", "", 100, nil, 0},
		{"all fit", "u10 a10 u10 a10", 40, []int{1, 2, 3, 4}, 0},
		{"oldest turn dropped", "u10 a10 u10 a10", 39, []int{3, 4}, 2},
		{"cut inside a turn drops its reply too", "u10 a10 u10 a10", 30, []int{3, 4}, 2},
		{"only the last turn", "u10 a10 u10 a10", 20, []int{3, 4}, 2},
		{"last reply alone is dropped", "u10 a10 u10 a10", 19, nil, 4},
		{"no room", "u10 a10", 0, nil, 2},
		{"negative room", "u10 a10", -5, nil, 2},
		{"a big old turn goes, newer small ones stay", "u500 a500 u5 a5 u5 a5", 30, []int{3, 4, 5, 6}, 2},
		{"several user messages in a row", "u10 u10 a10", 20, []int{2, 3}, 1},
		{"history starting with a reply", "a10 u10 a10", 100, []int{2, 3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped := trimHistory(hist(tt.hist), tt.budget)
			var seqs []int
			for _, m := range kept {
				seqs = append(seqs, m.Seq)
			}
			if diff := cmp.Diff(tt.wantSeqs, seqs); diff != "" || dropped != tt.dropped {
				t.Errorf("trimHistory(%q, %d) dropped %d (want %d), kept (-want +got):\n%s", tt.hist, tt.budget, dropped, tt.dropped, diff)
			}
		})
	}
}

func TestPromptBudget(t *testing.T) {
	tests := []struct {
		window    int
		maxTokens *int
		want      int
		wantErr   bool
	}{
		{8192, nil, 6144, false},            // a quarter kept for the reply
		{128000, nil, 128000 - 4096, false}, // at most 4096
		{8192, ptr(500), 7692, false},
		{8192, ptr(8191), 1, false},
		{8192, ptr(8192), 0, true},
	}
	for _, tt := range tests {
		got, err := promptBudget(tt.window, tt.maxTokens)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("promptBudget(%d, %v) = %d, %v; want %d, error %v", tt.window, tt.maxTokens, got, err, tt.want, tt.wantErr)
		}
	}
}

// messageTokens must add up to what tokens.CountMessages says of the whole
// prompt, or trimming would let a prompt overflow.
func TestMessageTokensAddUp(t *testing.T) {
	msgs := []llm.Message{
		llm.TextMessage(llm.RoleSystem, "You are a helpful coding assistant."),
		llm.TextMessage(llm.RoleUser, "Review this Python function: def f(x): return x * 2"),
		llm.TextMessage(llm.RoleAssistant, "It doubles its argument. Consider a docstring."),
	}
	sum := replyPriming
	for _, m := range msgs {
		sum += messageTokens("gpt-5-mini", m)
	}
	if want := tokens.CountMessages("gpt-5-mini", msgs); sum != want {
		t.Errorf("sum of messageTokens = %d; CountMessages = %d", sum, want)
	}
}

// A long conversation is sent trimmed to the window: the system message
// first, the newest turns, the new message last, and the prompt within the
// budget.
func TestConversationTrimmedToWindow(t *testing.T) {
	e := newEnv(t)
	e.h.DefaultContextWindow = 400 // prompt budget 300, reply 100
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA,
		`{"model":"gpt-5-mini","system_message":"You are terse."}`), http.StatusCreated)
	path := "/api/v1/conversations/" + conv["id"].(string) + "/messages"
	words := strings.Repeat("lorem ipsum dolor sit amet ", 4) // about 20 tokens
	var last map[string]any
	for i := range 12 {
		last = decode[map[string]any](t, e.send("POST", path, keyA,
			fmt.Sprintf(`{"message":{"content":"turn %d %s"}}`, i, words)), http.StatusOK)
	}
	_, req := e.gw.last(t)
	if req.Messages[0].Role != llm.RoleSystem || req.Messages[0].Text() != "You are terse." {
		t.Fatalf("first message = %v; want the system message kept", req.Messages[0])
	}
	if got := req.Messages[len(req.Messages)-1].Text(); !strings.HasPrefix(got, "turn 11 ") {
		t.Errorf("last message = %q; want the new one", got)
	}
	if req.Messages[1].Role != llm.RoleUser {
		t.Errorf("history starts with %s; want a user turn", req.Messages[1].Role)
	}
	if strings.Contains(req.Messages[1].Text(), "turn 0 ") {
		t.Errorf("the oldest turn was not trimmed: %v", req.Messages)
	}
	if n := tokens.CountMessages("gpt-5-mini", req.Messages); n > 300 {
		t.Errorf("prompt has %d tokens; want at most the budget of 300", n)
	}
	sent := len(req.Messages) - 2 // without system and the new message
	if last["trimmed_messages"] != float64(22-sent) || last["context_window"] != 400.0 {
		t.Errorf("trimmed_messages = %v, context_window = %v; want %d and 400", last["trimmed_messages"], last["context_window"], 22-sent)
	}
	// Nothing is lost: the stored conversation keeps every message.
	detail := decode[map[string]any](t, e.send("GET", "/api/v1/conversations/"+conv["id"].(string), keyA, ""), http.StatusOK)
	if detail["message_count"] != 24.0 {
		t.Errorf("message_count = %v; want 24", detail["message_count"])
	}

	t.Run("MessageLongerThanWindow", func(t *testing.T) {
		got := decode[apiError](t, e.send("POST", path, keyA,
			`{"message":{"content":"`+strings.Repeat("word ", 400)+`"}}`), http.StatusBadRequest)
		if got.code() != "context_length_exceeded" || got.param() != "message.content" {
			t.Errorf("error = %+v; want context_length_exceeded on message.content", got)
		}
	})
}

func TestMetadataLabelsReadEachLabelOnItsOwn(t *testing.T) {
	for _, tc := range []struct {
		meta             string
		project, purpose string
	}{
		{`{"project":"p","purpose":"q"}`, "p", "q"},
		{`{"project":5,"purpose":"q"}`, "", "q"}, // one label of another type hid both before
		{`{"project":"p","purpose":{"x":1}}`, "p", ""},
		{`[1,2]`, "", ""},
		{``, "", ""},
	} {
		l := metadataLabels([]byte(tc.meta))
		if l.Project != tc.project || l.Purpose != tc.purpose {
			t.Errorf("metadataLabels(%s) = %+v; want project %q purpose %q", tc.meta, l, tc.project, tc.purpose)
		}
	}
}

package tokens

import "github.com/llmservice/llmservice/internal/llm"

// OpenAI's chat accounting, from the cookbook "How to count tokens with
// tiktoken" (https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb),
// which it checks against the API's reported prompt_tokens for gpt-3.5-turbo,
// gpt-4, gpt-4o and gpt-4o-mini.
const (
	// perMessage frames each message: <|start|>{role/name}\n{content}<|end|>\n.
	perMessage = 3
	// perName is added when a message has a name.
	perName = 1
	// replyPriming is <|start|>assistant<|message|>, added once per request.
	replyPriming = 3
	// perImage is a fixed charge per image part. OpenAI bills an image by its
	// size and detail: 85 tokens is the low-detail price (and the base of the
	// high-detail one). Sizing an image would mean fetching or decoding it,
	// which token counting must not do, so this undercounts large
	// high-detail images.
	perImage = 85
)

// CountMessages returns the prompt tokens of msgs for model, following
// OpenAI's chat accounting: each message costs its framing, its role, its
// name (plus one) and its text parts; the request adds the reply priming.
// Image parts count perImage each. Tool calls in assistant turns count their
// name and arguments, and tool turns their call id; tool definitions are not
// counted (the caller has no message for them). For non-OpenAI models the
// result is an approximation, as for Count.
func CountMessages(model string, msgs []llm.Message) int {
	if len(msgs) == 0 {
		return 0
	}
	e := encoderFor(model)
	n := replyPriming
	for i := range msgs {
		m := &msgs[i]
		n += perMessage + e.count(m.Role)
		if m.Name != "" {
			n += perName + e.count(m.Name)
		}
		for _, p := range m.Content {
			switch p.Type {
			case llm.PartText:
				n += e.count(p.Text)
			case llm.PartImage:
				n += perImage
			}
		}
		for _, tc := range m.ToolCalls {
			n += e.count(tc.Name) + e.count(tc.Arguments)
		}
		n += e.count(m.ToolCallID)
	}
	return n
}

package llmendpoint

import "unicode/utf8"

// rate is a model's price per token in thousandths of a cent: the seed's
// rates (cents, three decimals) times 1000, so that the cost rule is exact
// integer arithmetic.
type rate struct{ in, out int64 }

// rates is the seed's "Model Rates" table.
var rates = map[string]rate{
	"llama3.1":          {10, 20},
	"llama3":            {15, 25},
	"llama2":            {20, 30},
	"mistral":           {12, 22},
	"qwen":              {18, 28},
	"gemma2":            {16, 26},
	"llama3.2":          {14, 24},
	"qwen2":             {17, 27},
	"zephyr":            {19, 29},
	"gemma":             {13, 23},
	"llava":             {15, 25},
	"mistral-nemo":      {11, 21},
	"phi3":              {20, 30},
	"wizardlm2":         {18, 28},
	"orca-mini":         {19, 29},
	"codellama":         {17, 27},
	"llama2-uncensored": {15, 25},
	"owl_t-lite":        {14, 24},
}

// CreditsNeeded applies the seed's cost rule: input tokens are the
// characters of the user's messages, output tokens are max_tokens, the cost
// in cents is in×input rate + out×output rate, and the credits needed are
// the cost divided by 0.0001 (rounded up; with three-decimal rates the
// result is always whole). ok is false for a model without rates ("Model
// pricing not found").
func CreditsNeeded(model string, inputChars, maxTokens int) (credits int64, ok bool) {
	r, ok := rates[model]
	if !ok {
		return 0, false
	}
	// cost (cents) = (in*r.in + out*r.out) / 1000; credits = cost / 0.0001
	// = (in*r.in + out*r.out) * 10.
	return (int64(max(inputChars, 0))*r.in + int64(max(maxTokens, 0))*r.out) * 10, true
}

// UserChars counts the characters (Unicode code points, as the seed's
// Python service's len() does) of the user messages' contents.
func UserChars(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if m.Role == "user" {
			n += utf8.RuneCountInString(m.Content)
		}
	}
	return n
}

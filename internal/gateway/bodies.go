package gateway

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

// logMode is the call's body logging mode: the team's, else the server's
// configured default, else the default of the API that carried the call,
// else off.
func (g *Gateway) logMode(c *Call) string {
	if t := c.Principal.Team; t != nil && t.LogBodies != "" {
		return t.LogBodies
	}
	if g.logBodies != "" {
		return g.logBodies
	}
	if c.LogBodies != "" {
		return c.LogBodies
	}
	return llmservice.LogBodiesOff
}

// keepBodies fills the record's prompt and response when the team keeps
// them, redacted when it asks for that.
func (g *Gateway) keepBodies(rec *llmservice.UsageRecord, mode string, msgs []llm.Message, response string) {
	if mode == llmservice.LogBodiesOff {
		return
	}
	type turn struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	turns := make([]turn, len(msgs))
	for i := range msgs {
		turns[i] = turn{Role: msgs[i].Role, Content: msgs[i].Text()}
	}
	b, _ := json.Marshal(turns)
	rec.Prompt, rec.Response = string(b), response
	if mode == llmservice.LogBodiesRedacted {
		rec.Prompt, rec.Response = Redact(rec.Prompt), Redact(rec.Response)
	}
}

// responseText joins a chat answer's text and tool calls for the logs.
func responseText(resp *llm.ChatResponse) string {
	if len(resp.Choices) == 1 && len(resp.Choices[0].Message.ToolCalls) == 0 {
		return resp.Choices[0].Message.Text()
	}
	var b []byte
	for _, c := range resp.Choices {
		b = append(b, c.Message.Text()...)
		for _, tc := range c.Message.ToolCalls {
			b = append(b, tc.Name...)
			b = append(b, tc.Arguments...)
		}
	}
	return string(b)
}

var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`), "[email]"},
	{regexp.MustCompile(`\b(?:sk|pk|rk|sks|ghp|xox[abp])[-_][A-Za-z0-9_-]{12,}\b`), "[secret]"},
	{regexp.MustCompile(`\bAKIA[0-9A-Z]{16}\b`), "[secret]"},
	{regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`), "[number]"}, // separators between digits only: the space after stays
	{regexp.MustCompile(`\+?\(?\d{1,4}\)?[ .-]?\d{2,4}[ .-]\d{3,4}(?:[ .-]?\d{1,4})?\b`), "[phone]"},
}

// Redact masks e-mail addresses, API keys and long digit runs (card and
// phone numbers) in s.
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// provider returns the adapter for a deployment, the team's own when it
// brought a key for that provider family.
func (g *Gateway) provider(ctx context.Context, teamID string, d *hostpick.Deployment) (llm.Provider, error) {
	if g.byok == nil {
		return d.Provider, nil
	}
	in, ok := g.instances[d.Instance]
	if !ok {
		return d.Provider, nil
	}
	p, ok, err := g.byok.Provider(ctx, teamID, in.Family)
	if err != nil {
		return nil, err
	}
	if ok {
		return p, nil
	}
	return d.Provider, nil
}

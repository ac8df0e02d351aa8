package jobs

import (
	"encoding/json"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

// DefaultTemperature is the seed's documented default.
const DefaultTemperature = 0.7

// maxTokensLimit keeps max_tokens an int on every platform.
const maxTokensLimit = 1<<31 - 1

// Message is one turn of an llm-call request.
type Message struct {
	Role    string
	Content string
}

// CallRequest is the body of /llm-call and /llm-call-stream, exactly the
// seed's fields. Unknown fields are ignored, as FastAPI does.
type CallRequest struct {
	ModelGroup  string
	Messages    []Message
	Purpose     string
	Temperature float64 // DefaultTemperature when the client sent none
	MaxTokens   *int
}

// roles the seed allows in messages.
var roles = []string{llm.RoleSystem, llm.RoleUser, llm.RoleAssistant}

// DecodeCallRequest reads and validates an llm-call body. Every failure is
// an Invalid error carrying a *ValidationError with all problems found.
func DecodeCallRequest(body []byte) (*CallRequest, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	var c checker
	req := &CallRequest{Temperature: DefaultTemperature}
	if g, ok := c.str(obj, []any{"body"}, "model_group", true); ok {
		c.nonEmpty([]any{"body", "model_group"}, g)
		c.maxLen([]any{"body", "model_group"}, g, gateway.MaxModelBytes)
		req.ModelGroup = g
	}
	req.Messages = c.messages(obj)
	req.Purpose, _ = c.str(obj, []any{"body"}, "purpose", false)
	c.maxLen([]any{"body", "purpose"}, req.Purpose, gateway.MaxPurposeBytes)
	if t, ok := c.number(obj, "temperature"); ok {
		switch {
		case t < 0:
			c.add([]any{"body", "temperature"}, "ensure this value is greater than or equal to 0.0", "value_error.number.not_ge", map[string]any{"limit_value": 0.0})
		case t > 2:
			c.add([]any{"body", "temperature"}, "ensure this value is less than or equal to 2.0", "value_error.number.not_le", map[string]any{"limit_value": 2.0})
		default:
			req.Temperature = t
		}
	}
	if n, ok := c.integer(obj, "max_tokens"); ok {
		// The gateway and upstream apply the model's real limit.
		switch {
		case n <= 0:
			c.add([]any{"body", "max_tokens"}, "ensure this value is greater than 0", "value_error.number.not_gt", map[string]any{"limit_value": 0})
		case n > maxTokensLimit:
			c.add([]any{"body", "max_tokens"}, "ensure this value is less than or equal to 2147483647", "value_error.number.not_le", map[string]any{"limit_value": maxTokensLimit})
		default:
			m := int(n)
			req.MaxTokens = &m
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return req, nil
}

func (c *checker) messages(obj map[string]any) []Message {
	loc := []any{"body", "messages"}
	v, present := obj["messages"]
	list, ok := v.([]any)
	switch {
	case !present:
		c.missing(loc)
		return nil
	case v == nil:
		c.add(loc, "none is not an allowed value", "type_error.none.not_allowed", nil)
		return nil
	case !ok:
		c.add(loc, "value is not a valid list", "type_error.list", nil)
		return nil
	case len(list) == 0:
		c.add(loc, "ensure this value has at least 1 items", "value_error.list.min_items", map[string]any{"limit_value": 1})
		return nil
	}
	out := make([]Message, 0, len(list))
	for i, item := range list {
		l := at(loc, i)
		m, ok := item.(map[string]any)
		if !ok {
			c.add(l, "value is not a valid dict", "type_error.dict", nil)
			continue
		}
		var msg Message
		if r, ok := c.str(m, l, "role", true); ok && c.enum(at(l, "role"), r, roles...) {
			msg.Role = r
		}
		msg.Content, _ = c.str(m, l, "content", true)
		out = append(out, msg)
	}
	return out
}

// ToLLM builds the canonical request.
func (r *CallRequest) ToLLM() *llm.ChatRequest {
	msgs := make([]llm.Message, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = llm.TextMessage(m.Role, m.Content)
	}
	t := r.Temperature
	return &llm.ChatRequest{Messages: msgs, Temperature: &t, MaxTokens: r.MaxTokens}
}

// CreateRequest is the body of POST /api/jobs/create.
type CreateRequest struct {
	TeamID   string
	JobType  string
	UserID   string
	Metadata json.RawMessage
}

// DecodeCreateRequest reads and validates a create body.
func DecodeCreateRequest(body []byte) (*CreateRequest, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	var c checker
	req := &CreateRequest{}
	if s, ok := c.str(obj, []any{"body"}, "team_id", true); ok {
		c.nonEmpty([]any{"body", "team_id"}, s)
		req.TeamID = s
	}
	if s, ok := c.str(obj, []any{"body"}, "job_type", true); ok {
		c.nonEmpty([]any{"body", "job_type"}, s)
		c.maxLen([]any{"body", "job_type"}, s, gateway.MaxPurposeBytes)
		req.JobType = s
	}
	req.UserID, _ = c.str(obj, []any{"body"}, "user_id", false)
	c.maxLen([]any{"body", "user_id"}, req.UserID, gateway.MaxUserBytes)
	req.Metadata = c.object(obj, "metadata")
	c.maxJSON("metadata", req.Metadata, gateway.MaxMetadataBytes)
	if err := c.err(); err != nil {
		return nil, err
	}
	return req, nil
}

// DecodeCompleteRequest reads and validates a complete body.
func DecodeCompleteRequest(body []byte) (*llmservice.CreditJobCompletion, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	var c checker
	req := &llmservice.CreditJobCompletion{}
	if s, ok := c.str(obj, []any{"body"}, "status", true); ok && c.enum([]any{"body", "status"}, s, llmservice.CreditJobCompleted, llmservice.CreditJobFailed) {
		req.Status = s
	}
	req.ErrorMessage, _ = c.str(obj, []any{"body"}, "error_message", false)
	c.maxLen([]any{"body", "error_message"}, req.ErrorMessage, gateway.MaxMetadataBytes)
	req.Metadata = c.object(obj, "metadata")
	c.maxJSON("metadata", req.Metadata, gateway.MaxMetadataBytes)
	if err := c.err(); err != nil {
		return nil, err
	}
	return req, nil
}

package llmendpoint

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// The seed's error messages ("Error Responses"). Clients match on them, so
// they are exact; the detail and param fields say more.
const (
	MsgInvalidRequest   = "Invalid request"
	MsgRequired         = "messages, model, max_tokens, and temperature are required"
	MsgAuthRequired     = "Authorization header required"
	MsgInvalidKey       = "Invalid API key"
	MsgUnauthorizedIP   = "Unauthorized IP address"
	MsgNoCredits        = "Insufficient credits"
	MsgNoPricing        = "Model pricing not found"
	MsgNoHosts          = "Max attempts reached - no available hosts"
	MsgTaskNotFound     = "Task not found"
	defaultTemperature  = 0.7
	defaultNumContext   = 2048
	defaultOutputFormat = "default"
)

// Message is one conversation turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// CompletionRequest is the body of /api/v1/completions and
// /api/v1/qcompletions, with the seed's defaults applied by
// DecodeCompletion.
type CompletionRequest struct {
	Messages     []Message `json:"messages"`
	Model        string    `json:"model"`
	MaxTokens    int       `json:"max_tokens"`
	Temperature  float64   `json:"temperature"`
	NumContext   int       `json:"num_context"`
	OutputFormat string    `json:"output_format"`
	Stream       bool      `json:"stream"`
}

// rawRequest tells missing fields from zero ones.
type rawRequest struct {
	Messages     *[]Message `json:"messages"`
	Model        *string    `json:"model"`
	MaxTokens    *int       `json:"max_tokens"`
	Temperature  *float64   `json:"temperature"`
	NumContext   *int       `json:"num_context"`
	OutputFormat *string    `json:"output_format"`
	Stream       *bool      `json:"stream"`
}

// Error builds an error with one of the seed's messages; detail and param
// travel in the body's extra fields.
func Error(kind llmservice.Kind, msg, param, detail string) *llmservice.Error {
	return &llmservice.Error{Kind: kind, Message: msg, Param: param, Err: Detail(detail)}
}

// Detail is the client-safe explanation an Error carries beside the seed's
// fixed message. Only errors built by Error show it: the causes of other
// errors are for logs.
type Detail string

func (d Detail) Error() string { return string(d) }

// DecodeCompletion reads and validates a request body. Malformed JSON and
// wrong types are 400 "Invalid request"; missing messages, model or
// max_tokens are 400 with the seed's "... are required" message.
func DecodeCompletion(w http.ResponseWriter, r *http.Request, limit int64) (*CompletionRequest, error) {
	body, err := httpx.ReadBody(w, r, limit)
	switch llmservice.ErrorKind(err) {
	case llmservice.TooLarge: // in the seed's words, with a detail
		return nil, Error(llmservice.TooLarge, MsgInvalidRequest, "", "request body is too large")
	case llmservice.Invalid:
		return nil, Error(llmservice.Invalid, MsgInvalidRequest, "", "could not read the request body")
	}
	if err != nil {
		return nil, err
	}
	return ParseCompletion(body)
}

// ParseCompletion validates a request body (DecodeCompletion without the
// reading); it is the fuzzed decoder.
func ParseCompletion(body []byte) (*CompletionRequest, error) {
	var raw rawRequest
	if err := httpx.Unmarshal(body, &raw); err != nil {
		e := llmservice.AsError(err)
		return nil, Error(llmservice.Invalid, MsgInvalidRequest, e.Param, e.Message)
	}
	var missing []string
	if raw.Messages == nil || len(*raw.Messages) == 0 {
		missing = append(missing, "messages")
	}
	if raw.Model == nil || *raw.Model == "" {
		missing = append(missing, "model")
	}
	if raw.MaxTokens == nil {
		missing = append(missing, "max_tokens")
	}
	if len(missing) > 0 {
		return nil, Error(llmservice.Invalid, MsgRequired, missing[0], "missing: "+strings.Join(missing, ", "))
	}
	if err := gateway.CheckModel("model", *raw.Model); err != nil {
		return nil, Error(llmservice.Invalid, MsgInvalidRequest, "model", llmservice.AsError(err).Message)
	}
	req := &CompletionRequest{Messages: *raw.Messages, Model: *raw.Model, MaxTokens: *raw.MaxTokens,
		Temperature: defaultTemperature, NumContext: defaultNumContext, OutputFormat: defaultOutputFormat}
	if raw.Temperature != nil {
		req.Temperature = *raw.Temperature
	}
	if raw.NumContext != nil {
		req.NumContext = *raw.NumContext
	}
	if raw.OutputFormat != nil && *raw.OutputFormat != "" {
		req.OutputFormat = *raw.OutputFormat
	}
	if raw.Stream != nil {
		req.Stream = *raw.Stream
	}
	return req, req.validate()
}

func (req *CompletionRequest) validate() error {
	bad := func(param, detail string) error { return Error(llmservice.Invalid, MsgInvalidRequest, param, detail) }
	for i, m := range req.Messages {
		switch m.Role {
		case llm.RoleUser, llm.RoleAssistant, llm.RoleSystem:
		default:
			return bad("messages", "messages["+itoa(i)+"].role must be user, assistant or system")
		}
	}
	switch {
	case req.MaxTokens < 1:
		return bad("max_tokens", "max_tokens must be a positive integer")
	case req.Temperature < 0 || req.Temperature > 2:
		return bad("temperature", "temperature must be between 0 and 2")
	case req.NumContext < 1:
		return bad("num_context", "num_context must be a positive integer")
	}
	switch req.OutputFormat {
	case defaultOutputFormat, "json", "text":
	default:
		return bad("output_format", "output_format must be default, text or json")
	}
	return nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// ChatRequest is the canonical request: num_context becomes the in-house
// model's context size (Ollama's num_ctx), output_format "json" asks for a
// JSON object.
func (req *CompletionRequest) ChatRequest(model string) *llm.ChatRequest {
	msgs := make([]llm.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = llm.TextMessage(m.Role, m.Content)
	}
	maxTokens, temp, numCtx := req.MaxTokens, req.Temperature, req.NumContext
	lr := &llm.ChatRequest{Model: model, Messages: msgs, MaxTokens: &maxTokens, Temperature: &temp, NumCtx: &numCtx, Stream: req.Stream}
	if req.OutputFormat == "json" {
		lr.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
	}
	return lr
}

// Credits is what the request costs under the seed's rule; MsgNoPricing
// for a model without rates.
func (req *CompletionRequest) Credits() (int64, error) {
	c, ok := CreditsNeeded(req.Model, UserChars(req.Messages), req.MaxTokens)
	if !ok {
		return 0, Error(llmservice.Invalid, MsgNoPricing, "model", "no rates for model '"+req.Model+"'")
	}
	return c, nil
}

// Authenticator is the part of the gateway that checks keys.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
}

// Authenticate reads "Authorization: <key>" (with or without "Bearer ")
// and checks the key and its IP allowlist, answering in the seed's words.
func Authenticate(ctx context.Context, gw Authenticator, r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, Error(llmservice.Unauthenticated, MsgAuthRequired, "", "no API key in the Authorization header")
	}
	p, err := gw.Authenticate(ctx, tok)
	if err != nil {
		if gateway.IsIPRefusal(err) {
			return nil, Error(llmservice.Unauthenticated, MsgUnauthorizedIP, "", "the key's IP allowlist does not include the caller")
		}
		if llmservice.ErrorKind(err) == llmservice.Unauthenticated {
			return nil, Error(llmservice.Unauthenticated, MsgInvalidKey, "", llmservice.AsError(err).Message)
		}
		return nil, err
	}
	return p, nil
}

// errorBody is the seed's error answer, with what went wrong in detail.
type errorBody struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// WriteError writes {"success": false, "message": ...} with the seed's own
// statuses (errorStatus), whatever status it is given: the seed answers a
// lack of hosts with 400; so does this.
var WriteError = httpx.Restatus(errorStatus, writeErrorBody)

// errorStatus is the seed's status for e: 400 with MsgNoHosts when no host
// could answer (unavailable, upstream failure, timeout), the kind's own
// otherwise.
func errorStatus(e *llmservice.Error) int {
	switch e.Kind {
	case llmservice.Unavailable, llmservice.Upstream, llmservice.UpstreamTimeout:
		return http.StatusBadRequest
	}
	return e.Kind.HTTPStatus()
}

// writeErrorBody writes e in the seed's shape with status.
func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	body := errorBody{Message: e.Message, Param: e.Param}
	var d Detail
	if errors.As(e.Err, &d) {
		body.Detail = string(d)
	}
	switch e.Kind {
	case llmservice.PaymentRequired:
		body.Message = MsgNoCredits
	case llmservice.Unavailable, llmservice.Upstream, llmservice.UpstreamTimeout:
		// The seed's words stay; the detail says what really happened
		// (a timeout, an unreadable answer).
		body.Message = MsgNoHosts
		if body.Detail == "" && e.Message != MsgNoHosts {
			body.Detail = e.Message
		}
	}
	_ = httpx.WriteJSON(w, status, body)
}

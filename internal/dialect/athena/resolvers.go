package athena

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/llmservice/llmservice"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// GraphQL resolvers. Each one calls the operation REST calls and wraps its
// view, so the two surfaces answer the same data by construction.

type resolver struct{ h *Handler }

// caller returns the authenticated caller; the HTTP handler always sets
// one, so its absence is a server fault.
func (r *resolver) caller(ctx context.Context) (*caller, error) {
	if c := callerOf(ctx); c != nil {
		return c, nil
	}
	return nil, r.h.fail(fmt.Errorf("graphql: no caller in context"))
}

func (r *resolver) Models(ctx context.Context) ([]*modelResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	ms := r.h.modelsOf(c)
	out := make([]*modelResolver, len(ms))
	for i, m := range ms {
		out[i] = &modelResolver{m}
	}
	return out, nil
}

func (r *resolver) Conversations(ctx context.Context, args struct {
	Limit  *int32
	Cursor *string
	Offset *int32
}) (*pageResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit, offset, cursor := 0, 0, ""
	if args.Limit != nil {
		if *args.Limit < 1 {
			return nil, r.h.fail(llmservice.InvalidParam("limit", "limit must be between 1 and 100"))
		}
		limit = int(*args.Limit)
	}
	if args.Offset != nil {
		offset = int(*args.Offset)
	}
	if args.Cursor != nil {
		cursor = *args.Cursor
	}
	page, err := r.h.listConvs(ctx, c, limit, cursor, offset)
	if err != nil {
		return nil, r.h.fail(err)
	}
	return &pageResolver{r: r, c: c, v: page}, nil
}

func (r *resolver) Conversation(ctx context.Context, args struct{ ID graphql.ID }) (*conversationResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	d, err := r.h.findConv(ctx, c, string(args.ID))
	if err != nil {
		return nil, r.h.fail(err)
	}
	return &conversationResolver{r: r, c: c, v: d.conversationView, msgs: d.Messages}, nil
}

func (r *resolver) Usage(ctx context.Context, args struct {
	From    *string
	To      *string
	GroupBy *string
}) (*usageReportResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	var from, to time.Time
	if args.From != nil {
		if from, err = parseTime("from", *args.From); err != nil {
			return nil, r.h.fail(err)
		}
	}
	if args.To != nil {
		if to, err = parseTime("to", *args.To); err != nil {
			return nil, r.h.fail(err)
		}
	}
	groupBy := ""
	if args.GroupBy != nil {
		groupBy = *args.GroupBy
	}
	v, err := r.h.usageOf(ctx, c, from, to, groupBy)
	if err != nil {
		return nil, r.h.fail(err)
	}
	return &usageReportResolver{v}, nil
}

type messageInput struct {
	Role    string
	Content string
}

func (r *resolver) Chat(ctx context.Context, args struct {
	Model            string
	Messages         []messageInput
	Temperature      *float64
	MaxTokens        *int32
	TopP             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
}) (*chatResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	// The REST request type validates, so both surfaces refuse alike.
	req := wire.ChatRequest{Model: args.Model, Temperature: args.Temperature, MaxTokens: intPtr(args.MaxTokens),
		TopP: args.TopP, FrequencyPenalty: args.FrequencyPenalty, PresencePenalty: args.PresencePenalty}
	for _, m := range args.Messages {
		text := m.Content
		req.Messages = append(req.Messages, wire.Message{Role: m.Role, Content: wire.Content{Text: &text}})
	}
	lr, err := req.ToLLM()
	if err != nil {
		return nil, r.h.fail(err)
	}
	cc, served, err := r.h.runChat(ctx, c, lr)
	if err != nil {
		return nil, r.h.fail(err)
	}
	c.noteCache(served)
	return &chatResolver{cc}, nil
}

func intPtr(n *int32) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}

func (r *resolver) CreateConversation(ctx context.Context, args struct {
	Model         string
	SystemMessage *string
	Metadata      *jsonValue
}) (*conversationResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	in := &newConversation{Model: args.Model}
	if in.Model == "" {
		return nil, r.h.fail(llmservice.InvalidParam("model", "model must not be empty"))
	}
	if args.SystemMessage != nil {
		in.SystemMessage = *args.SystemMessage
	}
	if args.Metadata != nil && !isNull(args.Metadata.raw) {
		if len(args.Metadata.raw) == 0 || args.Metadata.raw[0] != '{' {
			return nil, r.h.fail(llmservice.InvalidParam("metadata", "metadata must be an object"))
		}
		in.Metadata = args.Metadata.raw
	}
	v, err := r.h.createConv(ctx, c, in)
	if err != nil {
		return nil, r.h.fail(err)
	}
	return &conversationResolver{r: r, c: c, v: v, msgs: []*messageView{}}, nil
}

func (r *resolver) SendMessage(ctx context.Context, args struct {
	ConversationID   graphql.ID
	Role             *string
	Content          string
	Temperature      *float64
	MaxTokens        *int32
	TopP             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
}) (*turnResolver, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return nil, err
	}
	if args.Role != nil {
		if err := checkRole(*args.Role); err != nil {
			return nil, r.h.fail(err)
		}
	}
	content, err := decodeContent(mustJSON(args.Content))
	if err != nil {
		return nil, r.h.fail(err)
	}
	in := &turnInput{Content: content, Temperature: args.Temperature, MaxTokens: intPtr(args.MaxTokens), TopP: args.TopP,
		FrequencyPenalty: args.FrequencyPenalty, PresencePenalty: args.PresencePenalty}
	if err := in.validate(); err != nil {
		return nil, r.h.fail(err)
	}
	v, served, err := r.h.sendTurn(ctx, c, string(args.ConversationID), in)
	if err != nil {
		return nil, r.h.fail(err)
	}
	c.noteCache(served)
	return &turnResolver{v}, nil
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

func (r *resolver) DeleteConversation(ctx context.Context, args struct{ ID graphql.ID }) (bool, error) {
	c, err := r.caller(ctx)
	if err != nil {
		return false, err
	}
	if err := r.h.deleteConv(ctx, c, string(args.ID)); err != nil {
		return false, r.h.fail(err)
	}
	return true, nil
}

// jsonValue is the JSON scalar: any JSON value, kept as its encoding.
type jsonValue struct{ raw json.RawMessage }

// ImplementsGraphQLType binds jsonValue to the schema's JSON scalar.
func (jsonValue) ImplementsGraphQLType(name string) bool { return name == "JSON" }

// UnmarshalGraphQL takes a literal or a variable, already decoded.
func (j *jsonValue) UnmarshalGraphQL(input any) error {
	b, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("JSON scalar: %w", err)
	}
	j.raw = b
	return nil
}

// MarshalJSON writes the value as it was stored.
func (j jsonValue) MarshalJSON() ([]byte, error) {
	if len(j.raw) == 0 {
		return []byte("null"), nil
	}
	return j.raw, nil
}

type modelResolver struct{ v *modelView }

func (m *modelResolver) ID() graphql.ID  { return graphql.ID(m.v.ID) }
func (m *modelResolver) OwnedBy() string { return m.v.OwnedBy }
func (m *modelResolver) CreatedAt() *string {
	if m.v.Created <= 0 {
		return nil
	}
	s := timeString(time.Unix(m.v.Created, 0))
	return &s
}
func (m *modelResolver) InputPerMTok() *float64  { return m.v.InputPerMTok }
func (m *modelResolver) OutputPerMTok() *float64 { return m.v.OutputPerMTok }
func (m *modelResolver) Rpm() *int32 {
	if m.v.RPM <= 0 {
		return nil
	}
	n := int32(m.v.RPM)
	return &n
}
func (m *modelResolver) ContextWindow() int32 { return int32(m.v.ContextWindow) }

type usageResolver struct{ v *usageView }

func (u *usageResolver) PromptTokens() int32     { return int32(u.v.PromptTokens) }
func (u *usageResolver) CompletionTokens() int32 { return int32(u.v.CompletionTokens) }
func (u *usageResolver) TotalTokens() int32      { return int32(u.v.TotalTokens) }

func usageOfCompletion(cc *chatCompletion) *usageResolver {
	if cc.Usage == nil {
		return &usageResolver{newUsage(0, 0)}
	}
	return &usageResolver{newUsage(cc.Usage.PromptTokens, cc.Usage.CompletionTokens)}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type chatResolver struct{ v *chatCompletion }

func (c *chatResolver) ID() graphql.ID        { return graphql.ID(c.v.ID) }
func (c *chatResolver) Model() string         { return c.v.Model }
func (c *chatResolver) Content() string       { return c.v.Content }
func (c *chatResolver) FinishReason() *string { return optString(c.v.finishReason()) }
func (c *chatResolver) Usage() *usageResolver { return usageOfCompletion(c.v) }
func (c *chatResolver) CreatedAt() string     { return timeString(time.Unix(c.v.Created, 0)) }

type messageResolver struct{ v *messageView }

func (m *messageResolver) ID() graphql.ID    { return graphql.ID(m.v.ID) }
func (m *messageResolver) Role() string      { return m.v.Role }
func (m *messageResolver) Content() string   { return m.v.Content }
func (m *messageResolver) Model() *string    { return optString(m.v.Model) }
func (m *messageResolver) CreatedAt() string { return m.v.CreatedAt }
func (m *messageResolver) Usage() *usageResolver {
	if m.v.Usage == nil {
		return nil
	}
	return &usageResolver{m.v.Usage}
}

func messageResolvers(ms []*messageView) []*messageResolver {
	out := make([]*messageResolver, len(ms))
	for i, m := range ms {
		out[i] = &messageResolver{m}
	}
	return out
}

// conversationResolver loads messages only when a query asks for them.
type conversationResolver struct {
	r    *resolver
	c    *caller
	v    *conversationView
	msgs []*messageView // nil until loaded
}

func (c *conversationResolver) ID() graphql.ID         { return graphql.ID(c.v.ID) }
func (c *conversationResolver) Model() string          { return c.v.Model }
func (c *conversationResolver) SystemMessage() *string { return c.v.SystemMessage }
func (c *conversationResolver) Metadata() jsonValue    { return jsonValue{c.v.Metadata} }
func (c *conversationResolver) MessageCount() int32    { return int32(c.v.MessageCount) }
func (c *conversationResolver) CreatedAt() string      { return c.v.CreatedAt }
func (c *conversationResolver) UpdatedAt() string      { return c.v.UpdatedAt }
func (c *conversationResolver) Messages(ctx context.Context) ([]*messageResolver, error) {
	if c.msgs == nil {
		ms, err := c.r.h.Store.FindConversationMessages(ctx, c.c.p.Team.ID, c.v.ID, 0)
		if err != nil {
			return nil, c.r.h.fail(notFound(c.v.ID, err))
		}
		c.msgs = newMessageViews(ms)
	}
	return messageResolvers(c.msgs), nil
}

type pageResolver struct {
	r *resolver
	c *caller
	v *conversationList
}

func (p *pageResolver) Data() []*conversationResolver {
	out := make([]*conversationResolver, len(p.v.Data))
	for i, v := range p.v.Data {
		out[i] = &conversationResolver{r: p.r, c: p.c, v: v}
	}
	return out
}
func (p *pageResolver) HasMore() bool       { return p.v.HasMore }
func (p *pageResolver) NextCursor() *string { return p.v.NextCursor }

type turnResolver struct{ v *turnView }

func (t *turnResolver) ID() graphql.ID             { return graphql.ID(t.v.ID) }
func (t *turnResolver) ConversationID() graphql.ID { return graphql.ID(t.v.ConversationID) }
func (t *turnResolver) Model() string              { return t.v.Model }
func (t *turnResolver) Content() string            { return t.v.Content }
func (t *turnResolver) FinishReason() *string      { return optString(t.v.finishReason()) }
func (t *turnResolver) Usage() *usageResolver      { return usageOfCompletion(t.v.chatCompletion) }
func (t *turnResolver) Message() *messageResolver  { return &messageResolver{t.v.Message} }
func (t *turnResolver) UserMessage() *messageResolver {
	return &messageResolver{t.v.UserMessage}
}
func (t *turnResolver) ContextWindow() int32   { return int32(t.v.ContextWindow) }
func (t *turnResolver) TrimmedMessages() int32 { return int32(t.v.TrimmedMessages) }

type usageReportResolver struct{ v *usageReport }

func (u *usageReportResolver) From() *string    { return u.v.From }
func (u *usageReportResolver) To() *string      { return u.v.To }
func (u *usageReportResolver) GroupBy() *string { return u.v.GroupBy }
func (u *usageReportResolver) Partial() bool    { return u.v.Partial }
func (u *usageReportResolver) Total() *usageTotalResolver {
	return &usageTotalResolver{u.v.Total}
}
func (u *usageReportResolver) Data() []*usageTotalResolver    { return usageTotals(u.v.Data) }
func (u *usageReportResolver) ByModel() []*usageTotalResolver { return usageTotals(u.v.ByModel) }

func usageTotals(ts []usageTotal) []*usageTotalResolver {
	out := make([]*usageTotalResolver, len(ts))
	for i, t := range ts {
		out[i] = &usageTotalResolver{t}
	}
	return out
}

type usageTotalResolver struct{ v usageTotal }

func (u *usageTotalResolver) Group() *string            { return optString(u.v.Group) }
func (u *usageTotalResolver) Requests() float64         { return float64(u.v.Requests) }
func (u *usageTotalResolver) Errors() float64           { return float64(u.v.Errors) }
func (u *usageTotalResolver) ErrorRate() float64        { return u.v.ErrorRate }
func (u *usageTotalResolver) PromptTokens() float64     { return float64(u.v.PromptTokens) }
func (u *usageTotalResolver) CompletionTokens() float64 { return float64(u.v.CompletionTokens) }
func (u *usageTotalResolver) TotalTokens() float64      { return float64(u.v.TotalTokens) }
func (u *usageTotalResolver) CostUsd() float64          { return u.v.CostUSD }
func (u *usageTotalResolver) AvgLatencyMs() float64     { return u.v.AvgLatencyMS }

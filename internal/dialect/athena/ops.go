package athena

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

// The operations behind both REST and GraphQL. Each takes an authenticated
// caller and returns the REST view; GraphQL resolvers wrap the same views.

// runChat runs a non-streaming chat completion.
func (h *Handler) runChat(ctx context.Context, c *caller, lr *llm.ChatRequest) (*chatCompletion, gateway.Served, error) {
	gc, err := c.call(ctx, lr.Model, nil)
	if err != nil {
		return nil, gateway.Served{}, err
	}
	res, err := h.GW.Chat(ctx, gc, lr)
	if err != nil {
		return nil, gateway.Served{}, err
	}
	return newChatCompletion(res.Response, res.Usage, gateway.NewID("chatcmpl-"), lr.Model, h.now().Unix()), res.Served, nil
}

// newConversation is a validated create request.
type newConversation struct {
	Model         string
	SystemMessage string
	Metadata      json.RawMessage // a JSON object, or empty
}

// labels are the ledger labels a conversation's metadata may carry; the
// seed's own example sets exactly these two.
type labels struct {
	Project string `json:"project"`
	Purpose string `json:"purpose"`
}

func metadataLabels(meta json.RawMessage) *labels {
	// Each label is read on its own: a label of another type is not a
	// label (the metadata stays as sent), but it does not hide the other.
	var fields map[string]json.RawMessage
	if json.Unmarshal(meta, &fields) != nil {
		return &labels{} // not an object: no labels (validated at creation)
	}
	var l labels
	if json.Unmarshal(fields["project"], &l.Project) != nil {
		l.Project = ""
	}
	if json.Unmarshal(fields["purpose"], &l.Purpose) != nil {
		l.Purpose = ""
	}
	return &l
}

// checkMetadata bounds what a conversation keeps of its metadata, and the
// ledger labels in it, to the gateway's input limits.
func checkMetadata(meta json.RawMessage) error {
	if err := gateway.CheckLen("metadata", string(meta), gateway.MaxMetadataBytes); err != nil {
		return err
	}
	l := metadataLabels(meta)
	if err := gateway.CheckLen("metadata.project", l.Project, gateway.MaxProjectBytes); err != nil {
		return err
	}
	return gateway.CheckLen("metadata.purpose", l.Purpose, gateway.MaxPurposeBytes)
}

func (h *Handler) createConv(ctx context.Context, c *caller, in *newConversation) (*conversationView, error) {
	// An unknown model fails now, not at the first message.
	if _, err := h.GW.Resolve(in.Model); err != nil {
		return nil, err
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return nil, err
	}
	conv := &llmservice.Conversation{ID: gateway.NewID("conv_"), TeamID: c.p.Team.ID, KeyID: c.p.Key.ID,
		Model: in.Model, SystemMessage: in.SystemMessage, Metadata: in.Metadata}
	now := h.now()
	conv.CreatedAt, conv.UpdatedAt = now, now
	if err := h.Store.CreateConversation(ctx, conv); err != nil {
		return nil, err
	}
	return newConversationView(conv), nil
}

func (h *Handler) findConv(ctx context.Context, c *caller, id string) (*conversationDetail, error) {
	conv, err := h.Store.FindConversation(ctx, c.p.Team.ID, id)
	if err != nil {
		return nil, notFound(id, err)
	}
	msgs, err := h.Store.FindConversationMessages(ctx, c.p.Team.ID, id, 0)
	if err != nil {
		return nil, notFound(id, err)
	}
	return &conversationDetail{conversationView: newConversationView(conv), Messages: newMessageViews(msgs)}, nil
}

func (h *Handler) listConvs(ctx context.Context, c *caller, limit int, cursor string, offset int) (*conversationList, error) {
	if limit < 0 || limit > 100 {
		return nil, llmservice.InvalidParam("limit", "limit must be between 1 and 100")
	}
	page, next, err := h.Store.FindConversations(ctx, llmservice.ConversationFilter{TeamID: c.p.Team.ID, Limit: limit, Cursor: cursor, Offset: offset})
	if err != nil {
		return nil, err
	}
	out := &conversationList{Object: "list", Data: make([]*conversationView, len(page)), HasMore: next != ""}
	for i, conv := range page {
		out.Data[i] = newConversationView(conv)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out, nil
}

func (h *Handler) deleteConv(ctx context.Context, c *caller, id string) error {
	return notFound(id, h.Store.DeleteConversation(ctx, c.p.Team.ID, id))
}

// notFound names the conversation in a store's NotFound, so the client
// sees which ID is unknown; other errors pass unchanged.
func notFound(id string, err error) error {
	if err == nil || llmservice.ErrorKind(err) != llmservice.NotFound {
		return err
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Code: "conversation_not_found",
		Message: "conversation '" + id + "' not found", Err: err}
}

// turnInput is a validated message to a conversation.
type turnInput struct {
	Content          string
	MaxTokens        *int
	Temperature      *float64
	TopP             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
	Stream           bool
	IncludeUsage     bool
}

// turn is a conversation call being made: the request sent, and what is
// stored once the reply is in.
type turn struct {
	conv    *llmservice.Conversation
	req     *llm.ChatRequest
	user    *llmservice.ConversationMessage
	window  int
	trimmed int
}

// prepareTurn builds the request of a new user message: the system message,
// as much history as the context window holds (oldest turns dropped first)
// and the message.
func (h *Handler) prepareTurn(ctx context.Context, c *caller, id string, in *turnInput) (*turn, error) {
	conv, err := h.Store.FindConversation(ctx, c.p.Team.ID, id)
	if err != nil {
		return nil, notFound(id, err)
	}
	window := h.contextWindow(conv.Model)
	budget, err := promptBudget(window, in.MaxTokens)
	if err != nil {
		return nil, err
	}
	userMsg := llm.TextMessage(llm.RoleUser, in.Content)
	user := &llmservice.ConversationMessage{Role: llm.RoleUser, Content: in.Content, Tokens: messageTokens(conv.Model, userMsg)}
	need := replyPriming + user.Tokens
	var sys []llm.Message
	if conv.SystemMessage != "" {
		m := llm.TextMessage(llm.RoleSystem, conv.SystemMessage)
		sys = append(sys, m)
		need += messageTokens(conv.Model, m)
	}
	if need > budget {
		return nil, errTooLong(need, budget, window)
	}
	var hist []*llmservice.ConversationMessage
	if room := budget - need; room > 0 {
		// The store cuts the history by the tokens counted at insert; the
		// cut is redone here so that it starts at a user turn.
		if hist, err = h.Store.FindConversationMessages(ctx, c.p.Team.ID, id, room); err != nil {
			return nil, notFound(id, err)
		}
		hist, _ = trimHistory(hist, room)
	}
	msgs := make([]llm.Message, 0, len(sys)+len(hist)+1)
	msgs = append(msgs, sys...)
	for _, m := range hist {
		msgs = append(msgs, llm.TextMessage(m.Role, m.Content))
	}
	msgs = append(msgs, userMsg)
	req := &llm.ChatRequest{Model: conv.Model, Messages: msgs, MaxTokens: in.MaxTokens, Temperature: in.Temperature,
		TopP: in.TopP, FrequencyPenalty: in.FrequencyPenalty, PresencePenalty: in.PresencePenalty,
		Stream: in.Stream, IncludeUsage: in.IncludeUsage}
	return &turn{conv: conv, req: req, user: user, window: window, trimmed: max(0, conv.MessageCount-len(hist))}, nil
}

// finishTurn stores the user message and the reply together, so that a
// failed call leaves the conversation as it was and a retry is clean.
func (h *Handler) finishTurn(ctx context.Context, c *caller, t *turn, reply string, u llm.Usage) (*messageView, *messageView, error) {
	now := h.now()
	t.user.ID, t.user.CreatedAt = gateway.NewID("msg_"), now
	a := &llmservice.ConversationMessage{ID: gateway.NewID("msg_"), Role: llm.RoleAssistant, Content: reply,
		Tokens: messageTokens(t.conv.Model, llm.TextMessage(llm.RoleAssistant, reply)), Model: t.conv.Model,
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CreatedAt: now}
	// The reply is paid for: store it even when the client has gone.
	ctx = context.WithoutCancel(ctx)
	if err := h.Store.AppendConversationMessages(ctx, c.p.Team.ID, t.conv.ID, []*llmservice.ConversationMessage{t.user, a}); err != nil {
		return nil, nil, notFound(t.conv.ID, err)
	}
	return newMessageView(t.user), newMessageView(a), nil
}

// sendTurn runs a non-streaming turn.
func (h *Handler) sendTurn(ctx context.Context, c *caller, id string, in *turnInput) (*turnView, gateway.Served, error) {
	t, err := h.prepareTurn(ctx, c, id, in)
	if err != nil {
		return nil, gateway.Served{}, err
	}
	gc, err := c.call(ctx, t.conv.Model, metadataLabels(t.conv.Metadata))
	if err != nil {
		return nil, gateway.Served{}, err
	}
	res, err := h.GW.Chat(ctx, gc, t.req)
	if err != nil {
		return nil, gateway.Served{}, err
	}
	cc := newChatCompletion(res.Response, res.Usage, gateway.NewID("chatcmpl-"), t.conv.Model, h.now().Unix())
	um, am, err := h.finishTurn(ctx, c, t, cc.Content, res.Usage)
	if err != nil {
		return nil, gateway.Served{}, err
	}
	return &turnView{chatCompletion: cc, ConversationID: t.conv.ID, Message: am, UserMessage: um,
		ContextWindow: t.window, TrimmedMessages: t.trimmed}, res.Served, nil
}

// modelsOf lists what c may use, with the catalog's prices and limits.
func (h *Handler) modelsOf(c *caller) []*modelView {
	entries := h.GW.CatalogEntries()
	ms := h.GW.Models(c.p)
	out := make([]*modelView, len(ms))
	for i, m := range ms {
		v := &modelView{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: m.OwnedBy, ContextWindow: h.contextWindow(m.ID)}
		if e, ok := entries[m.ID]; ok {
			v.InputPerMTok, v.OutputPerMTok, v.RPM = e.InputPerMTok, e.OutputPerMTok, e.RPM
		}
		out[i] = v
	}
	return out
}

// usageGroups are the groupings a usage report accepts.
var usageGroups = map[string]bool{"": true, "model": true, "day": true, "key": true}

// usageOf sums the ledger for c's team over [from, to).
func (h *Handler) usageOf(ctx context.Context, c *caller, from, to time.Time, groupBy string) (*usageReport, error) {
	if !usageGroups[groupBy] {
		return nil, llmservice.InvalidParam("group_by", "group_by must be model, day or key, got %q", groupBy)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, llmservice.InvalidParam("to", "to must be after from")
	}
	partial := gateway.FlushUsage(ctx, h.Flush)
	f := llmservice.UsageFilter{TeamID: c.p.Team.ID, From: from, To: to}
	totals, err := h.Usage.SumUsage(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &usageReport{Object: "usage", Data: []usageTotal{}, ByModel: []usageTotal{}, Partial: partial}
	if len(totals) > 0 {
		out.Total = newUsageTotal(totals[0])
	}
	f.GroupBy = "model"
	models, err := h.Usage.SumUsage(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, g := range models {
		out.ByModel = append(out.ByModel, newUsageTotal(g))
	}
	sort.SliceStable(out.ByModel, func(i, j int) bool {
		a, b := out.ByModel[i], out.ByModel[j]
		return a.Requests > b.Requests || a.Requests == b.Requests && a.Group < b.Group
	})
	if groupBy != "" {
		groups := models
		if groupBy != "model" {
			f.GroupBy = groupBy
			if groups, err = h.Usage.SumUsage(ctx, f); err != nil {
				return nil, err
			}
		}
		for _, g := range groups {
			out.Data = append(out.Data, newUsageTotal(g))
		}
		sort.SliceStable(out.Data, func(i, j int) bool { return out.Data[i].Group < out.Data[j].Group })
		out.GroupBy = &groupBy
	}
	if !from.IsZero() {
		s := timeString(from)
		out.From = &s
	}
	if !to.IsZero() {
		s := timeString(to)
		out.To = &s
	}
	return out, nil
}

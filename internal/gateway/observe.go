package gateway

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/pricing"
)

// Observer watches calls for metrics, traces and the access log
// (internal/telemetry). Config.Observer nil watches nothing.
type Observer interface {
	// Begin sees a call's usage record as it is created; ctx is the
	// request's.
	Begin(ctx context.Context, rec *llmservice.UsageRecord)
	// Settled sees the record as the ledger gets it, u with its cache and
	// reasoning tokens, model the bounded label of the requested model, and
	// kind the error kind of a failed call.
	Settled(rec *llmservice.UsageRecord, u llm.Usage, model string, kind llmservice.Kind)
	// StartAttempt and EndAttempt bracket upstream attempt n (from 1).
	StartAttempt(ctx context.Context, d *hostpick.Deployment, n int) context.Context
	EndAttempt(ctx context.Context, d *hostpick.Deployment, err error)
	// FinishReason notes why an answer ended (stop, length, tool_calls).
	FinishReason(ctx context.Context, reason string)
}

// observeBegin reports a new record to the observer.
func (g *Gateway) observeBegin(ctx context.Context, rec *llmservice.UsageRecord) {
	if g.obs != nil {
		g.obs.Begin(ctx, rec)
	}
}

// observeSettled reports a completed record to the observer.
func (g *Gateway) observeSettled(rec *llmservice.UsageRecord, u llm.Usage, err error) {
	if g.obs == nil {
		return
	}
	var kind llmservice.Kind
	if err != nil {
		kind = llmservice.ErrorKind(err)
	}
	g.obs.Settled(rec, u, g.ModelLabel(rec.RequestedModel), kind)
}

// observeFinish reports the finish reasons of a chat answer.
func (g *Gateway) observeFinish(ctx context.Context, resp *llm.ChatResponse) {
	if g.obs == nil || resp == nil {
		return
	}
	for _, c := range resp.Choices {
		g.obs.FinishReason(ctx, c.FinishReason)
	}
}

// observeFinishReason reports one finish reason of a streamed answer.
func (g *Gateway) observeFinishReason(ctx context.Context, reason string) {
	if g.obs != nil && reason != "" && ctx != nil {
		g.obs.FinishReason(ctx, reason)
	}
}

// startAttempt opens the observer's bracket of one upstream attempt of d;
// n counts the call's attempts. The returned ctx carries the attempt's
// span, so the upstream request continues its trace.
func (g *Gateway) startAttempt(ctx context.Context, d *hostpick.Deployment, n *atomic.Int32) context.Context {
	if g.obs == nil {
		return ctx
	}
	return g.obs.StartAttempt(ctx, d, int(n.Add(1)))
}

// endAttempt closes the bracket startAttempt opened.
func (g *Gateway) endAttempt(ctx context.Context, d *hostpick.Deployment, err error) {
	if g.obs != nil {
		g.obs.EndAttempt(ctx, d, err)
	}
}

// maxLabelModels bounds the model names that are neither catalog entries,
// model groups nor advertised instance models but still get a label of
// their own (well-known names the price list knows).
const maxLabelModels = 100

// labelModels are those names, up to maxLabelModels.
type labelModels struct {
	seen sync.Map // name -> struct{}
	n    atomic.Int32
}

// ModelLabel returns the metrics label of a requested model name: the name
// itself when it is a catalog entry, a model group, a model an instance
// advertises ("instance/model") or a priced well-known model (the first
// hundred of those), and "other" for everything else, so that names
// clients make up cannot grow the series without bound.
func (g *Gateway) ModelLabel(name string) string {
	if c := g.catalog.p.Load(); c != nil {
		if _, ok := c.models[name]; ok {
			return name
		}
		if _, ok := c.groups[name]; ok {
			return name
		}
	}
	if i := strings.IndexByte(name, '/'); i > 0 {
		if in, ok := g.instances[name[:i]]; ok && slices.Contains(in.Models, name[i+1:]) {
			return name
		}
		return "other"
	}
	if _, ok := g.labels.seen.Load(name); ok {
		return name
	}
	best := -1
	for i, w := range wellKnown {
		if strings.HasPrefix(name, w.prefix) && (best < 0 || len(w.prefix) > len(wellKnown[best].prefix)) {
			best = i
		}
	}
	if best < 0 {
		return "other"
	}
	in, ok := g.instances[wellKnown[best].instance]
	if !ok {
		return "other"
	}
	if _, ok := pricing.Lookup(in.Family, name); ok && g.labels.n.Load() < maxLabelModels && g.labels.n.Add(1) <= maxLabelModels {
		g.labels.seen.Store(name, struct{}{})
		return name
	}
	return "other"
}

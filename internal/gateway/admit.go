package gateway

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

// RateInfo is what the OpenAI x-ratelimit-* headers show: the tightest
// request limit and the tightest token limit that applied.
type RateInfo struct {
	Requests, Tokens *limit.Status
}

// Headers returns OpenAI's x-ratelimit-* headers for ri: limit, remaining
// and time to full replenishment, for requests and for tokens.
//
// The values are written into one buffer and cut out of one string made
// of it: a call's headers cost three allocations instead of seven.
func (ri RateInfo) Headers() [][2]string {
	h := make([][2]string, 0, 6)
	var room [128]byte
	b := room[:0]
	var ends [6]int
	for i, s := range [2]*limit.Status{ri.Requests, ri.Tokens} {
		if s == nil {
			continue
		}
		b = strconv.AppendInt(b, s.Rule.Limit, 10)
		ends[len(h)] = len(b)
		h = append(h, [2]string{rateHeaderNames[i][0]})
		b = strconv.AppendInt(b, s.Remaining, 10)
		ends[len(h)] = len(b)
		h = append(h, [2]string{rateHeaderNames[i][1]})
		b = append(b, s.ResetIn.Round(time.Millisecond).String()...)
		ends[len(h)] = len(b)
		h = append(h, [2]string{rateHeaderNames[i][2]})
	}
	all, from := string(b), 0
	for i := range h {
		h[i][1], from = all[from:ends[i]], ends[i]
	}
	return h
}

// rateHeaderNames are the x-ratelimit-* names in canonical form, spelled
// out so that no call concatenates them.
var rateHeaderNames = [2][3]string{
	{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
	{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
}

// admission is what a call holds between admission and settlement.
type admission struct {
	g     *Gateway
	rules []limit.Rule
	costs []int64
	// ruleBuf and costBuf back rules and costs: a call has at most six
	// rules (RPM and TPM of key, team and key+model), so appending to
	// them allocates nothing.
	ruleBuf  [6]limit.Rule
	costBuf  [6]int64
	taken    []limit.Status // the limiter's receipts, when it admitted the call
	estimate int64          // tokens charged to TPM rules at admission
	res      *budget.Reservation
	Rate     RateInfo
}

// defaultReserveTokens is what a budget holds for the answer of a call that
// sets no max_tokens; the call's max_tokens is then capped to it, so the
// reservation is a true upper bound.
const defaultReserveTokens = 4096

// estimatePrompt is the admission-time token estimate of a prompt: cheap
// (no tokenizer), close for prose; the TPM true-up corrects it after the
// call. Each message adds its framing and role (OpenAI's chat accounting:
// 3 + 1), the request the reply priming (3).
func estimatePrompt(msgs []llm.Message) int64 {
	if len(msgs) == 0 {
		return 0
	}
	n := int64(3)
	for i := range msgs {
		for _, p := range msgs[i].Content {
			n += int64(tokens.Estimate(p.Text))
		}
		n += 4
	}
	return n
}

// admit checks rate limits and reserves budget for a call. maxTokens may be
// lowered (never raised) to what the budget covers; it is nil for calls
// without an answer length (embeddings).
func (g *Gateway) admit(ctx context.Context, c *Call, plan *Plan, promptTokens int64, maxTokens **int) (*admission, error) {
	p := c.Principal
	a := &admission{g: g}
	completion := int64(0)
	if maxTokens != nil && *maxTokens != nil {
		completion = int64(**maxTokens)
	}
	a.estimate = promptTokens + completion
	g.rules(a, p, plan)
	if len(a.rules) > 0 {
		st, ok, err := g.limiter.Take(ctx, a.rules, a.costs)
		if err != nil {
			// A limiter that cannot evaluate must not take the gateway down;
			// the Redis limiter already falls back to local state itself.
			g.log.Error("rate limiter failed; admitting the call", "err", err)
		} else {
			a.Rate = tightest(st)
			if !ok {
				return a, refusal(st)
			}
			a.taken = st
		}
	}
	if g.budgets != nil {
		var scopes []budget.Scope
		if p.limits != nil {
			scopes = p.limits.scopes
		} else {
			scopes = budgetScopes(p)
		}
		if len(scopes) > 0 {
			if err := a.reserve(ctx, scopes, plan, promptTokens, maxTokens); err != nil {
				a.refund(ctx)
				return a, err
			}
		}
	}
	return a, nil
}

// rules builds the rate limit rules of a call: the key's and the team's
// RPM/TPM (or the configured defaults), and the key+model pair's (the key's
// model_limits entry, else the catalog model's rpm/tpm, which apply per key).
// The key's and team's rules come from the principal, built once when it
// was loaded; only a key+model limit is built per call.
func (g *Gateway) rules(a *admission, p *Principal, plan *Plan) {
	pl := p.limits
	if pl == nil {
		pl = g.principalLimits(p.Key, p.Team)
	}
	a.rules, a.costs = a.ruleBuf[:0], a.costBuf[:0]
	for i, r := range pl.rules {
		a.rules = append(a.rules, r)
		if pl.tpm[i] {
			a.costs = append(a.costs, a.estimate)
		} else {
			a.costs = append(a.costs, 1)
		}
	}
	var ml llmservice.ModelLimit
	if l, ok := p.Key.ModelLimits[plan.Public]; ok {
		ml = l
	} else if e := plan.Targets[0].Entry; e != nil && plan.Group == nil {
		ml = llmservice.ModelLimit{RPM: int64(e.RPM), TPM: int64(e.TPM)}
	}
	if ml.RPM > 0 || ml.TPM > 0 {
		var km principalLimits
		km.add("keymodel:"+p.Key.ID+":"+plan.Public, "model '"+plan.Public+"' for key "+p.Key.ID, ml.RPM, ml.TPM)
		for i, r := range km.rules {
			a.rules = append(a.rules, r)
			if km.tpm[i] {
				a.costs = append(a.costs, a.estimate)
			} else {
				a.costs = append(a.costs, 1)
			}
		}
	}
}

// principalLimits are a principal's own rate limit rules (its key's and
// its team's) and budget scopes. Their keys and names are concatenations
// that every call would otherwise repeat.
type principalLimits struct {
	rules  []limit.Rule
	tpm    []bool // rules[i] counts tokens (charged the estimate), else requests
	scopes []budget.Scope
}

func (pl *principalLimits) add(key, name string, rpm, tpm int64) {
	if rpm > 0 {
		pl.rules = append(pl.rules, limit.Rule{Key: key + ":rpm", Limit: rpm, Window: time.Minute, Name: "requests per minute of " + name})
		pl.tpm = append(pl.tpm, false)
	}
	if tpm > 0 {
		pl.rules = append(pl.rules, limit.Rule{Key: key + ":tpm", Limit: tpm, Window: time.Minute, Name: "tokens per minute of " + name})
		pl.tpm = append(pl.tpm, true)
	}
}

// principalLimits builds k's and t's limits, with the configured defaults
// where they set none.
func (g *Gateway) principalLimits(k *llmservice.Key, t *llmservice.Team) *principalLimits {
	pl := &principalLimits{}
	kl, tl := k.Limits, t.Limits
	pl.add("key:"+k.ID, "key "+k.ID, or(kl.RPM, g.defaults.Key.RPM), or(kl.TPM, g.defaults.Key.TPM))
	pl.add("team:"+t.ID, "team '"+t.ID+"'", or(tl.RPM, g.defaults.Team.RPM), or(tl.TPM, g.defaults.Team.TPM))
	pl.scopes = budgetScopes(&Principal{Key: k, Team: t})
	return pl
}

func or(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// tightest picks the request and token statuses with the least remaining.
func tightest(st []limit.Status) RateInfo {
	var ri RateInfo
	for i := range st {
		s := &st[i]
		cur := &ri.Requests
		if isTPM(s.Rule) {
			cur = &ri.Tokens
		}
		if *cur == nil || s.Remaining < (*cur).Remaining {
			*cur = s
		}
	}
	return ri
}

// refusal explains the first limit that refused the call.
func refusal(st []limit.Status) error {
	for _, s := range st {
		if s.Allowed {
			continue
		}
		if s.TooLarge {
			return &llmservice.Error{Kind: llmservice.RateLimited, Code: "rate_limit_exceeded",
				Message: fmt.Sprintf("Request too large for the %s: limit %d, this request needs more. Reduce the prompt or max_tokens.", s.Rule.Name, s.Rule.Limit)}
		}
		return &llmservice.Error{Kind: llmservice.RateLimited, Code: "rate_limit_exceeded", RetryAfter: s.RetryAfter,
			Message: fmt.Sprintf("Rate limit reached for %s: limit %d. Please try again in %s.", s.Rule.Name, s.Rule.Limit, s.RetryAfter.Round(time.Millisecond))}
	}
	return &llmservice.Error{Kind: llmservice.RateLimited, Code: "rate_limit_exceeded", Message: "Rate limit reached"}
}

func budgetScopes(p *Principal) []budget.Scope {
	var out []budget.Scope
	if b := p.Team.MaxBudgetUSD; b != nil {
		out = append(out, budget.Scope{Key: "team:" + p.Team.ID, Label: "team '" + p.Team.ID + "'", Limit: llmservice.NanosFromDollars(*b),
			Period: p.Team.BudgetPeriod, TeamID: p.Team.ID})
	}
	if b := p.Key.MaxBudgetUSD; b != nil {
		out = append(out, budget.Scope{Key: "key:" + p.Key.ID, Label: "key " + p.Key.ID, Limit: llmservice.NanosFromDollars(*b),
			Period: p.Key.BudgetPeriod, TeamID: p.Team.ID, KeyID: p.Key.ID})
	}
	return out
}

// reserve holds the worst-case cost of the call: its prompt and its
// max_tokens at the dearest price among the plan's deployments. Without
// max_tokens, the call is capped to what the budget still covers (at most
// defaultReserveTokens), so the answer can never cost more than was held.
func (a *admission) reserve(ctx context.Context, scopes []budget.Scope, plan *Plan, prompt int64, maxTokens **int) error {
	g := a.g
	in, out := plan.MaxInputPerTok, plan.MaxOutputPerTok
	if in == 0 && out == 0 {
		return nil // unpriced models cost nothing to a budget
	}
	promptCost := llmservice.Nanos(math.Ceil(float64(prompt) * in))
	var completion int64
	if maxTokens != nil {
		if *maxTokens != nil {
			completion = int64(**maxTokens)
		} else {
			avail := llmservice.Nanos(math.MaxInt64)
			for _, s := range scopes {
				v, err := g.budgets.Available(ctx, s)
				if err != nil {
					return err
				}
				avail = min(avail, v)
			}
			completion = defaultReserveTokens
			if out > 0 {
				completion = min(completion, int64(float64(avail-promptCost)/out))
			}
			if completion >= 1 {
				n := int(completion)
				*maxTokens = &n
			} else {
				completion = 1
			}
		}
	}
	amount := promptCost + llmservice.Nanos(math.Ceil(float64(completion)*out))
	res, err := g.budgets.Reserve(ctx, scopes, amount)
	if err != nil {
		return err
	}
	a.res = res
	return nil
}

// refund gives back what an admission refused after the limits (by a
// budget) took: every unit, requests included, since a refusal counts
// nothing.
func (a *admission) refund(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for i, st := range a.taken {
		if !isTPM(st.Rule) && a.costs[i] > 0 {
			if err := a.g.limiter.Adjust(ctx, st, -a.costs[i]); err != nil {
				a.g.log.Warn("rate limit refund failed", "rule", st.Rule.Key, "err", err)
			}
		}
	}
	a.finish(ctx, llm.Usage{}, 0, false)
	a.taken = nil
}

// finish trues up the token limits to the tokens really used and settles the
// budget reservation to the true cost.
func (a *admission) finish(ctx context.Context, u llm.Usage, cost llmservice.Nanos, ran bool) {
	if a == nil {
		return
	}
	// The call's own deadline may have passed (that may be why it ended);
	// the true-up must still reach the limiter.
	ctx = context.WithoutCancel(ctx)
	used := int64(u.Total())
	if !ran {
		used = 0
	}
	if delta := used - a.estimate; delta != 0 {
		for _, st := range a.taken {
			if isTPM(st.Rule) {
				if err := a.g.limiter.Adjust(ctx, st, delta); err != nil {
					a.g.log.Warn("rate limit true-up failed", "rule", st.Rule.Key, "err", err)
				}
			}
		}
	}
	a.estimate = used
	a.res.Settle(cost)
	a.res = nil
}

func isTPM(r limit.Rule) bool { return strings.HasSuffix(r.Key, ":tpm") }

// BudgetView is a team's or key's budget as the admin API shows it.
type BudgetView struct {
	MaxBudgetUSD *float64  `json:"max_budget_usd"`
	Period       string    `json:"budget_period,omitempty"`
	PeriodStart  time.Time `json:"period_start,omitzero"`
	ResetsAt     time.Time `json:"resets_at,omitzero"`
	SpentUSD     float64   `json:"spent_usd"`
	ReservedUSD  float64   `json:"reserved_usd"`
	RemainingUSD *float64  `json:"remaining_usd"`
}

// TeamBudget reports a team's budget figures for the current period: what
// the ledger says it spent plus what was booked since (by this replica, or
// by every replica when budgets live in Redis), and what calls in flight hold.
func (g *Gateway) TeamBudget(ctx context.Context, t *llmservice.Team) (*BudgetView, error) {
	v := &BudgetView{MaxBudgetUSD: t.MaxBudgetUSD, Period: t.BudgetPeriod}
	if g.budgets == nil || t.MaxBudgetUSD == nil {
		return v, nil
	}
	sc := budgetScopes(&Principal{Team: t, Key: &llmservice.Key{}})[0]
	st, err := g.budgets.Status(ctx, sc)
	if err != nil {
		return nil, err
	}
	v.PeriodStart, v.ResetsAt = st.PeriodStart, st.PeriodEnd
	v.SpentUSD, v.ReservedUSD = st.Spent.Dollars(), st.Reserved.Dollars()
	rem := (sc.Limit - st.Spent - st.Reserved).Dollars()
	v.RemainingUSD = &rem
	return v, nil
}

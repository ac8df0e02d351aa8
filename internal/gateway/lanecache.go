package gateway

import (
	"bytes"
	"context"
	"io"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/llm"
)

// RawCache is how a dialect offers the response cache for one of its
// calls served through Exchange: it names what identifies an answer and
// converts the protocol's answers between their whole and streamed
// forms. The gateway does the rest (policy, key, lookup, accounting,
// keeping a pass-through answer as it passes). A dialect sets
// Exchange.Cache (and Call.Cache) on the calls it can cache and on no
// other.
type RawCache interface {
	// Key returns the part of a raw request body that can change the
	// answer, in a canonical form (see cache.CanonicalBody); false when
	// the answer must not be cached.
	Key(body []byte) ([]byte, bool)
	// Whole returns the complete answer of a body as the client received
	// it: the JSON answer itself, or the one a stream carried. false when
	// the answer is not complete and successful (an error event, a stream
	// cut short, a refusal), which is then not kept.
	Whole(body []byte, stream bool) ([]byte, bool)
	// Stream returns a whole answer as the protocol's stream.
	Stream(whole []byte) []byte
}

// RawReplayer is a RawCache whose replays depend on the call, so that the
// gateway cannot convert a kept answer with Whole and Stream alone: an
// OpenAI chat stream carries its usage chunk only when the request asks
// for it, while a whole answer always carries usage. laneHit asks it for
// every raw hit. kept is the kept answer (a stream's frames when
// keptStream), stream the framing the call asks for, u the usage kept
// with the answer; false when the kept answer cannot answer the call.
type RawReplayer interface {
	Replay(kept []byte, keptStream, stream bool, u llm.Usage) ([]byte, bool)
}

// maxRawEntry bounds the pass-through answer a miss keeps: a longer one is
// relayed but not cached.
const maxRawEntry = 4 << 20

// laneCacheFor returns the cache use of an exchange, nil when the cache is
// off for it. The key covers the protocol, the model name the client asked
// for (a raw answer carries it) and the dialect's canonical body; the team
// and the public model come first as for every entry.
func (g *Gateway) laneCacheFor(c *Call, plan *Plan, x *Exchange) *cacheCall {
	if x.Cache == nil || x.Raw == nil {
		return nil
	}
	return g.cacheKeyed(c, plan, func() (string, bool) {
		body, ok := x.Cache.Key(x.Raw.Body)
		if !ok {
			return "", false
		}
		return cache.KeyOf(c.Principal.Team.ID, body, "lane", string(x.Raw.Protocol), c.Endpoint, plan.Public, x.Raw.ReplyModel), true
	})
}

// laneHit answers an exchange from a kept entry: a raw answer (converted
// to the framing the client asked for) or a translated one, which the
// dialect encodes as it would a translation-lane answer. ok is false when
// the entry cannot answer this call, which then goes upstream.
func (g *Gateway) laneHit(ctx context.Context, c *Call, plan *Plan, rec *llmservice.UsageRecord, x *Exchange, e *cacheEntry) (*Answer, bool, error) {
	ans := &Answer{}
	switch {
	case e.Raw != nil:
		body := e.Raw
		if rp, ok := x.Cache.(RawReplayer); ok {
			if body, ok = rp.Replay(e.Raw, e.RawStream, x.Raw.Stream, e.Usage); !ok {
				return nil, false, nil
			}
		} else if e.RawStream != x.Raw.Stream {
			if x.Raw.Stream {
				body = x.Cache.Stream(e.Raw)
			} else if body, _ = x.Cache.Whole(e.Raw, true); body == nil {
				return nil, false, nil
			}
		}
		ct := "application/json"
		if x.Raw.Stream {
			ct = "text/event-stream"
		}
		ans.Raw = &RawAnswer{Status: 200, Header: map[string][]string{"Content-Type": {ct}}, Body: io.NopCloser(bytes.NewReader(body))}
	case e.Chat != nil && len(e.Chat.Choices) == 1:
		if x.Raw.Stream { // x.Chat may not be decoded
			ans.Stream = &StreamResult{Stream: newReplay(e.Chat, e.Usage)}
		} else {
			ans.Result = &Result{Response: e.Chat, Usage: e.Usage}
		}
	default:
		return nil, false, nil
	}
	var msgs []llm.Message // for the body log
	if x.Chat != nil {
		msgs = x.Chat.Messages
	}
	s, err := g.serveHit(ctx, c, plan, rec, e, msgs)
	if err != nil {
		return nil, true, err
	}
	ans.Served = s
	if ans.Stream != nil {
		ans.Stream.Served = s
	}
	if ans.Result != nil {
		ans.Result.Served = s
		ans.Result.Latency = g.now().Sub(rec.Time)
	}
	return ans, true, nil
}

// rawTee keeps a pass-through answer as it passes to the client, and
// stores it once the answer has ended well.
type rawTee struct {
	cc     *cacheCall
	codec  RawCache
	stream bool
	buf    []byte
	over   bool
}

func (t *rawTee) write(p []byte) {
	if t.over {
		return
	}
	if len(t.buf)+len(p) > maxRawEntry {
		t.over, t.buf = true, nil
		return
	}
	t.buf = append(t.buf, p...)
}

// keep stores the answer relayed in full, when it is complete.
func (t *rawTee) keep(m *meteredRaw, u llm.Usage, cost llmservice.Nanos) {
	if t.over || len(t.buf) == 0 {
		return
	}
	if _, ok := t.codec.Whole(t.buf, t.stream); !ok {
		return
	}
	t.cc.keep(context.Background(), &cacheEntry{Raw: t.buf, RawStream: t.stream, Usage: u, Cost: cost,
		Instance: m.d.Instance, Model: m.d.Model, Public: m.plan.targetOf(m.d).Public})
}

package gemini

import (
	"bytes"
	"encoding/json"

	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/httpx"
)

// generateCache offers the response cache for generateContent and
// streamGenerateContent (see gateway.RawCache): both calls share entries,
// so a stream can be answered from a whole answer and the reverse. The key
// is the canonical body without labels (billing labels, which cannot change
// the answer); the model is in the path and keyed by the gateway. An
// answer is kept when it has one candidate that finished with STOP or
// MAX_TOKENS.
type generateCache struct{}

func (generateCache) Key(body []byte) ([]byte, bool) {
	return cache.CanonicalBody(body, "labels")
}

// gemResponse is the part of a GenerateContentResponse the cache reads or
// merges; other fields of the candidate and the response are kept as the
// last chunk had them.
type gemCandidate struct {
	Content struct {
		Role  string                       `json:"role,omitempty"`
		Parts []map[string]json.RawMessage `json:"parts"`
	} `json:"content"`
	FinishReason string `json:"finishReason,omitempty"`
	Index        int    `json:"index"`
}

func (generateCache) Whole(body []byte, stream bool) ([]byte, bool) {
	if stream {
		b, ok := mergeChunks(httpx.ParseSSE(body))
		if !ok {
			return nil, false
		}
		body = b
	}
	var r struct {
		Candidates []gemCandidate `json:"candidates"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Candidates) != 1 {
		return nil, false
	}
	switch r.Candidates[0].FinishReason {
	case "STOP", "MAX_TOKENS":
		return body, true
	}
	return nil, false
}

// mergeChunks rebuilds the whole answer a stream carried: the parts of its
// one candidate in order (consecutive text of the same kind joined), the
// last finish reason, usage and model version.
func mergeChunks(frames []httpx.SSEFrame) ([]byte, bool) {
	resp := map[string]json.RawMessage{}
	cand := map[string]json.RawMessage{}
	var parts []map[string]json.RawMessage
	role := json.RawMessage(`"model"`)
	for _, f := range frames {
		var chunk map[string]json.RawMessage
		if json.Unmarshal(f.Data, &chunk) != nil {
			return nil, false
		}
		if _, bad := chunk["error"]; bad {
			return nil, false
		}
		var cands []map[string]json.RawMessage
		_ = json.Unmarshal(chunk["candidates"], &cands)
		if len(cands) > 1 {
			return nil, false
		}
		for k, v := range chunk {
			if k != "candidates" {
				resp[k] = v
			}
		}
		if len(cands) == 0 {
			continue
		}
		for k, v := range cands[0] {
			if k != "content" {
				cand[k] = v
			}
		}
		var content struct {
			Role  json.RawMessage              `json:"role"`
			Parts []map[string]json.RawMessage `json:"parts"`
		}
		_ = json.Unmarshal(cands[0]["content"], &content)
		if len(content.Role) > 0 {
			role = content.Role
		}
		for _, p := range content.Parts {
			parts = joinPart(parts, p)
		}
	}
	if len(cand) == 0 && len(parts) == 0 {
		return nil, false
	}
	if parts == nil {
		parts = []map[string]json.RawMessage{}
	}
	cand["content"] = mustJSON(map[string]any{"parts": parts, "role": role})
	resp["candidates"] = mustJSON([]any{cand})
	return mustJSON(resp), true
}

// joinPart appends p, joining its text to the previous part's when both are
// plain text of the same kind (thought or not) and the previous one has no
// signature yet.
func joinPart(parts []map[string]json.RawMessage, p map[string]json.RawMessage) []map[string]json.RawMessage {
	n := len(parts)
	if n > 0 && isText(p) && isText(parts[n-1]) && string(parts[n-1]["thought"]) == string(p["thought"]) && parts[n-1]["thoughtSignature"] == nil {
		var a, b string
		_ = json.Unmarshal(parts[n-1]["text"], &a)
		_ = json.Unmarshal(p["text"], &b)
		parts[n-1]["text"] = mustJSON(a + b)
		if sig, ok := p["thoughtSignature"]; ok {
			parts[n-1]["thoughtSignature"] = sig
		}
		return parts
	}
	return append(parts, p)
}

// isText reports whether a part carries text and nothing but its thought
// flag and signature.
func isText(p map[string]json.RawMessage) bool {
	if _, ok := p["text"]; !ok {
		return false
	}
	for k := range p {
		switch k {
		case "text", "thought", "thoughtSignature":
		default:
			return false
		}
	}
	return true
}

// Stream plays a whole answer back as a stream of one event (compacted:
// an event's data is one line).
func (generateCache) Stream(whole []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, whole) != nil {
		return nil
	}
	return httpx.AppendSSE(nil, "", b.Bytes())
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

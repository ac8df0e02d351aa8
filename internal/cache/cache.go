// Package cache keeps answers of identical requests for a while: an
// in-memory LRU bounded in bytes on one process, or Redis shared by every
// replica. Entries are opaque bytes under keys that begin with the team's
// ID, so that one team's entries can be purged and no key of one team can
// ever equal another's.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Store holds entries until their TTL passes.
type Store interface {
	// Get returns the entry under key; ok is false when there is none or
	// when the store cannot answer (err says why).
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Purge drops every entry of one team, or all entries when team is "".
	Purge(ctx context.Context, team string) (int, error)
}

// Key returns the entry key of a request: the team, then a hash of what
// identifies the answer (the endpoint, the public model and the request's
// normalized fields, as a JSON-encodable value).
func Key(team, endpoint, model string, req any) (string, error) {
	h := sha256.New()
	for _, s := range []string{endpoint, model} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	// Encoded straight into the hash: no copy of the request's encoding.
	if err := json.NewEncoder(h).Encode(req); err != nil {
		return "", err
	}
	var sum [sha256.Size]byte
	return team + ":" + hex.EncodeToString(h.Sum(sum[:0])), nil
}

// Canonical rewrites a JSON value so that key order and whitespace do not
// matter: objects' keys sorted, no spaces. Invalid JSON comes back as it is.
func Canonical(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return raw
	}
	return b
}

// KeyOf returns the entry key of a request already reduced to bytes: the
// team, then a hash of the parts (each ended by a zero byte, so that no two
// different lists of parts hash the same input) and of body.
func KeyOf(team string, body []byte, parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return team + ":" + hex.EncodeToString(h.Sum(nil))
}

package server

import (
	"time"

	"github.com/llmservice/llmservice"
)

// cachePatch is the cache field of a team's or key's PATCH:
// {"cache": {"ttl": "1h"}} switches the response cache on, {"cache": null}
// off.
type cachePatch struct {
	Cache optional[llmservice.CachePolicy] `json:"cache"`
}

func (p *cachePatch) apply(c **llmservice.CachePolicy) error {
	if !p.Cache.Set {
		return nil
	}
	if p.Cache.Null {
		*c = nil
		return nil
	}
	d, err := time.ParseDuration(p.Cache.Value.TTL)
	if err != nil || d <= 0 {
		return llmservice.InvalidParam("cache.ttl", "cache.ttl must be a positive duration such as \"1h\" or \"30m\"")
	}
	v := p.Cache.Value
	*c = &v
	return nil
}

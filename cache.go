package llmservice

import "time"

// CachePolicy switches the response cache on for a team or a key: identical
// requests of the team are answered from the cache for TTL. A nil policy
// leaves the cache off (the default).
type CachePolicy struct {
	// TTL is how long an answer is kept, as a Go duration ("1h", "30m").
	TTL string `json:"ttl"`
}

// Duration returns the policy's TTL; zero for a nil policy or a bad TTL.
func (p *CachePolicy) Duration() time.Duration {
	if p == nil {
		return 0
	}
	d, err := time.ParseDuration(p.TTL)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

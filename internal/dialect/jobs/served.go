package jobs

import "github.com/llmservice/llmservice/internal/gateway"

// servedName is the public name of the group member that answered (e.g.
// "gpt-4-turbo"), which the seed's stream chunks show as "model".
func servedName(s gateway.Served) string {
	if s.Public != "" {
		return s.Public
	}
	return s.Model
}

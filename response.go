package llmservice

import "context"

// ResponseStore keeps the Responses API's stored responses per team as
// opaque JSON documents (the dialect owns their shape).
type ResponseStore interface {
	// PutResponse stores doc under (team, id), replacing any earlier one.
	PutResponse(ctx context.Context, team, id string, doc []byte) error
	// GetResponse returns NotFound when the team has no response of that
	// id (another team's id included).
	GetResponse(ctx context.Context, team, id string) ([]byte, error)
	// DeleteResponse returns NotFound as GetResponse does.
	DeleteResponse(ctx context.Context, team, id string) error
}

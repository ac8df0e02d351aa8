package ollama

import "github.com/llmservice/llmservice"

// streamError reports a {"error": "..."} line. Ollama sends one when a
// failure happens after the 200 status went out, so the status says nothing
// and the kind is always Upstream. Error statuses before the stream are
// mapped by upstream.StatusError, which reads the same {"error": "..."} body.
// https://docs.ollama.com/api/errors#errors-that-occur-while-streaming
func streamError(msg string) *llmservice.Error {
	return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: " + msg, Code: "upstream_stream_error"}
}

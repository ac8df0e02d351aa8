package gemini

// BatchEmbedContentsRequest is the body of models.batchEmbedContents. The
// model of every request must equal the model in the URL ("models/{model}").
// https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
type BatchEmbedContentsRequest struct {
	Requests []EmbedContentRequest `json:"requests"`
}

// EmbedContentRequest asks for the embedding of one Content.
// https://ai.google.dev/api/embeddings#EmbedContentRequest
type EmbedContentRequest struct {
	Model                string  `json:"model"`
	Content              Content `json:"content"`
	TaskType             string  `json:"taskType,omitempty"`
	Title                string  `json:"title,omitempty"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

// BatchEmbedContentsResponse holds one embedding per request, in order.
// The Gemini API reports no token usage for embeddings.
// https://ai.google.dev/api/embeddings#response-body_1
type BatchEmbedContentsResponse struct {
	Embeddings []ContentEmbedding `json:"embeddings"`
}

// ContentEmbedding is one vector.
// https://ai.google.dev/api/embeddings#ContentEmbedding
type ContentEmbedding struct {
	Values []float32 `json:"values"`
}

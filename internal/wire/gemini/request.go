// Package gemini holds the JSON wire types of the Google Gemini API
// (Generative Language API, v1beta): generateContent, streamGenerateContent,
// batchEmbedContents and the error body. Field names follow the REST
// reference; each type links to its section there. Only the fields the
// gateway reads or writes are declared.
//
// Reference: https://ai.google.dev/api/generate-content
package gemini

import "encoding/json"

// Roles of a Content. Gemini has no system or tool role: system text goes to
// GenerateContentRequest.SystemInstruction and tool results are
// functionResponse parts in a user turn.
const (
	RoleUser  = "user"
	RoleModel = "model"
)

// GenerateContentRequest is the body of models.generateContent and
// models.streamGenerateContent.
// https://ai.google.dev/api/generate-content#request-body
type GenerateContentRequest struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	Tools             []Tool            `json:"tools,omitempty"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitempty"`
	SafetySettings    []SafetySetting   `json:"safetySettings,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	CachedContent     string            `json:"cachedContent,omitempty"`
}

// Content is one turn of the conversation.
// https://ai.google.dev/api/caching#Content
type Content struct {
	// Role is "user" or "model"; empty means user.
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one piece of a Content; exactly one data field is set.
// https://ai.google.dev/api/caching#Part
type Part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *Blob             `json:"inlineData,omitempty"`
	FileData         *FileData         `json:"fileData,omitempty"`
	FunctionCall     *FunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *FunctionResponse `json:"functionResponse,omitempty"`
	// Thought marks the model's reasoning text (thinking models with
	// includeThoughts); it is not part of the answer.
	Thought bool `json:"thought,omitempty"`
	// ThoughtSignature is an opaque, base64-encoded signature of the model's
	// reasoning that Gemini 3 requires back on functionCall parts of earlier
	// turns. https://ai.google.dev/gemini-api/docs/thought-signatures
	ThoughtSignature string `json:"thoughtSignature,omitempty"`
}

// Blob is inline media: base64 bytes and their MIME type.
// https://ai.google.dev/api/caching#Blob
type Blob struct {
	MIMEType string `json:"mimeType"`
	Data     string `json:"data"` // base64, standard alphabet
}

// FileData points at media by URI: a Files API URI, or a public or signed
// HTTPS URL that Gemini fetches itself.
// https://ai.google.dev/api/caching#FileData
// https://ai.google.dev/gemini-api/docs/file-input-methods
type FileData struct {
	MIMEType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// FunctionCall is a call the model predicted. Args is a JSON object.
// https://ai.google.dev/api/caching#FunctionCall
type FunctionCall struct {
	// ID is set by some models; when present a FunctionResponse may echo it.
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// FunctionResponse returns a function's result to the model. Response must
// be a JSON object.
// https://ai.google.dev/api/caching#FunctionResponse
type FunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

// Tool declares functions the model may call.
// https://ai.google.dev/api/caching#Tool
type Tool struct {
	FunctionDeclarations []FunctionDeclaration `json:"functionDeclarations,omitempty"`
}

// FunctionDeclaration describes one function. Parameters takes Gemini's
// OpenAPI-subset Schema, which rejects common JSON Schema keywords
// ("additionalProperties", "$schema", "const"); ParametersJSONSchema takes
// plain JSON Schema and is mutually exclusive with Parameters.
// https://ai.google.dev/api/caching#FunctionDeclaration
type FunctionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

// ToolConfig configures tool use for the whole request.
// https://ai.google.dev/api/caching#ToolConfig
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitempty"`
}

// Function calling modes.
// https://ai.google.dev/api/caching#Mode_1
const (
	ModeAuto = "AUTO" // the model chooses between text and a call
	ModeAny  = "ANY"  // the model must call one of AllowedFunctionNames (or any)
	ModeNone = "NONE" // the model must not call functions
)

// FunctionCallingConfig says whether and which functions the model may call.
// https://ai.google.dev/api/caching#FunctionCallingConfig
type FunctionCallingConfig struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// SafetySetting overrides the blocking threshold of one harm category.
// https://ai.google.dev/api/generate-content#safetysetting
type SafetySetting struct {
	Category  string `json:"category"`
	Threshold string `json:"threshold"`
}

// GenerationConfig holds the sampling and output options.
// https://ai.google.dev/api/generate-content#generationconfig
type GenerationConfig struct {
	StopSequences    []string `json:"stopSequences,omitempty"`
	ResponseMIMEType string   `json:"responseMimeType,omitempty"`
	// ResponseSchema is the OpenAPI-subset schema; ResponseJSONSchema takes
	// plain JSON Schema and requires ResponseMIMEType application/json.
	ResponseSchema     json.RawMessage `json:"responseSchema,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	CandidateCount     *int            `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int            `json:"maxOutputTokens,omitempty"`
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int            `json:"topK,omitempty"`
	// Seed is an int32 upstream.
	Seed             *int32          `json:"seed,omitempty"`
	PresencePenalty  *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64        `json:"frequencyPenalty,omitempty"`
	ResponseLogprobs bool            `json:"responseLogprobs,omitempty"`
	Logprobs         *int            `json:"logprobs,omitempty"`
	ThinkingConfig   *ThinkingConfig `json:"thinkingConfig,omitempty"`
}

// ThinkingConfig controls the reasoning of thinking models.
// https://ai.google.dev/api/generate-content#ThinkingConfig
type ThinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

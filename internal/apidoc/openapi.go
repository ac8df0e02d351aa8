// Package apidoc is the OpenAPI document of the whole llmservice API, every
// API it serves, and the interactive reference that renders it: GET
// /openapi.json and GET /docs. It belongs to no API, so it lives beside
// them rather than in one dialect.
package apidoc

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// The OpenAPI document of the whole llmservice API is generated from the
// operation table in spec_*.go: one entry per route, grouped by the API it
// belongs to. A test compares the table with every route the source
// registers, so a route cannot be added without being documented.

// S is a JSON Schema fragment (OpenAPI 3.0 flavour).
type S = map[string]any

func str(desc string) S     { return S{"type": "string", "description": desc} }
func integer(desc string) S { return S{"type": "integer", "description": desc} }
func number(desc string) S  { return S{"type": "number", "description": desc} }
func boolean(desc string) S { return S{"type": "boolean", "description": desc} }
func array(items S) S       { return S{"type": "array", "items": items} }
func ref(name string) S     { return S{"$ref": "#/components/schemas/" + name} }
func anyJSON(desc string) S { return S{"description": desc} }

func enum(desc string, vals ...string) S {
	return S{"type": "string", "description": desc, "enum": vals}
}

// object builds an object schema from name/schema pairs; a name ending in
// "*" is required (the star is dropped).
func object(desc string, pairs ...any) S {
	props := S{}
	var req []string
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		if strings.HasSuffix(name, "*") {
			name = strings.TrimSuffix(name, "*")
			req = append(req, name)
		}
		props[name] = pairs[i+1]
	}
	o := S{"type": "object", "properties": props}
	if desc != "" {
		o["description"] = desc
	}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// param is a query or header parameter (path parameters are found in the
// path itself).
type param struct {
	In, Name, Desc string
	Required       bool
	Schema         S
}

func query(name, desc string) param { return param{In: "query", Name: name, Desc: desc} }

// Content types of answers.
const (
	jsonType   = "application/json"
	sseType    = "text/event-stream"
	ndjsonType = "application/x-ndjson"
	htmlType   = "text/html"
	textType   = "text/plain"
	jsonlType  = "application/jsonl"
	formType   = "multipart/form-data"
)

// operation is one route.
type operation struct {
	Method, Path string
	Tag          string
	Summary      string
	Description  string
	// Auth names a security requirement (see securities); "" is public.
	Auth   string
	Params []param
	// Body is the request body schema; BodyType defaults to JSON.
	Body     S
	BodyType string
	Example  any
	// Status is the success status (default 200); Response its body.
	Status       int
	Response     S
	ResponseType string
	// Alt is another answer type at the same status (a stream).
	AltType string
	Alt     S
	// Errors are the documented error statuses, answered in the tag's
	// error shape.
	Errors []int
}

// api is one group of routes: its tag, description and error body.
type api struct {
	Tag, Description string
	Error            string // component schema name of the error body
	Ops              []operation
}

// apis is the whole API, in the order /docs shows it.
func apis() []api {
	return []api{coreAPI(), openAIAPI(), anthropicAPI(), responsesAPI(), geminiAPI(), adminAPI(), stackForDevsAPI(), llmEndpointAPI(), athenaAPI(), djangoAPI(), jobsAPI(), batchesAPI(), dashboardAPI()}
}

var securitySchemes = S{
	"bearerAuth": S{"type": "http", "scheme": "bearer",
		"description": "A virtual API key from POST /admin/keys (sk-...), or a JWT access token from POST /api/token/."},
	"adminAuth": S{"type": "http", "scheme": "bearer",
		"description": "The admin key (LLMSERVICE_ADMIN_KEY, or the one printed at first start)."},
	"rawKey": S{"type": "apiKey", "in": "header", "name": "Authorization",
		"description": "LlmEndpoint style: the API key itself, without 'Bearer'."},
	"anthropicKey": S{"type": "apiKey", "in": "header", "name": "x-api-key",
		"description": "Anthropic style: a virtual API key from POST /admin/keys in x-api-key (Authorization: Bearer works too)."},
	"geminiKey": S{"type": "apiKey", "in": "header", "name": "x-goog-api-key",
		"description": "Gemini style: a virtual API key from POST /admin/keys in x-goog-api-key."},
	"geminiKeyQuery": S{"type": "apiKey", "in": "query", "name": "key", "description": "Gemini style: the virtual API key in ?key=."},
	"sfdApiKey":      S{"type": "apiKey", "in": "header", "name": "x-api-key", "description": "StackForDevs: the key from POST /admin/keys."},
	"sfdSecretKey":   S{"type": "apiKey", "in": "header", "name": "x-secret-key", "description": "StackForDevs: the secret returned with the key."},
	"sfdTenantId":    S{"type": "apiKey", "in": "header", "name": "x-tenant-id", "description": "StackForDevs: the key's team ID."},
	"sfdProjectId":   S{"type": "apiKey", "in": "header", "name": "x-project-id", "description": "StackForDevs: a project label kept with each call."},
}

var sfdSecurity = S{"sfdApiKey": []string{}, "sfdSecretKey": []string{}, "sfdTenantId": []string{}, "sfdProjectId": []string{}}

// securities are the security requirements operations name in Auth.
var securities = map[string][]S{
	"bearer":      {{"bearerAuth": []string{}}},
	"admin":       {{"adminAuth": []string{}}},
	"llmendpoint": {{"rawKey": []string{}}, {"bearerAuth": []string{}}},
	"sfd":         {sfdSecurity},
	"bearer|sfd":  {{"bearerAuth": []string{}}, sfdSecurity},
	"anthropic":   {{"anthropicKey": []string{}}, {"bearerAuth": []string{}}},
	"gemini":      {{"geminiKey": []string{}}, {"geminiKeyQuery": []string{}}, {"bearerAuth": []string{}}},
}

var statusText = map[int]string{
	200: "OK", 201: "Created", 204: "No Content", 400: "Bad request: invalid parameters or missing required fields",
	401: "Missing or invalid credentials", 402: "Insufficient credits", 403: "Forbidden", 404: "Not found",
	409: "Conflict", 413: "Request body too large", 422: "Validation error", 425: "Too early: results not yet available",
	429: "Rate limit or budget exceeded", 500: "Server error", 502: "Provider error", 503: "No provider available",
	504: "Provider timeout", 529: "Overloaded: no provider available, or the upstream is overloaded",
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func (op *operation) render(errSchema string) S {
	o := S{"summary": op.Summary, "tags": []string{op.Tag},
		"operationId": operationID(op.Method, op.Path)}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if op.Auth == "" {
		o["security"] = []S{}
	} else {
		o["security"] = securities[op.Auth]
	}
	var params []S
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		params = append(params, S{"name": m[1], "in": "path", "required": true, "schema": S{"type": "string"}})
	}
	for _, p := range op.Params {
		s := p.Schema
		if s == nil {
			s = S{"type": "string"}
		}
		params = append(params, S{"name": p.Name, "in": p.In, "required": p.Required, "description": p.Desc, "schema": s})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Body != nil {
		t := op.BodyType
		if t == "" {
			t = jsonType
		}
		media := S{"schema": op.Body}
		if op.Example != nil {
			media["example"] = op.Example
		}
		o["requestBody"] = S{"required": true, "content": S{t: media}}
	}
	status := op.Status
	if status == 0 {
		status = 200
	}
	ok := S{"description": statusText[status]}
	if op.Response != nil {
		t := op.ResponseType
		if t == "" {
			t = jsonType
		}
		content := S{t: S{"schema": op.Response}}
		if op.AltType != "" {
			content[op.AltType] = S{"schema": op.Alt}
		}
		ok["content"] = content
	}
	resps := S{itoa(status): ok}
	for _, code := range op.Errors {
		resps[itoa(code)] = S{"description": statusText[code],
			"content": S{jsonType: S{"schema": ref(errSchema)}}}
	}
	o["responses"] = resps
	return o
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// operationID is "post_v1_chat_completions" for POST /v1/chat/completions.
func operationID(method, path string) string {
	id := strings.ToLower(method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(path)
	return strings.TrimRight(id, "_")
}

// Document returns the OpenAPI 3 document of the whole API.
func Document() S {
	paths := S{}
	var tags []S
	for _, a := range apis() {
		tags = append(tags, S{"name": a.Tag, "description": a.Description})
		for i := range a.Ops {
			op := &a.Ops[i]
			op.Tag = a.Tag
			item, _ := paths[op.Path].(S)
			if item == nil {
				item = S{}
				paths[op.Path] = item
			}
			item[strings.ToLower(op.Method)] = op.render(a.Error)
		}
	}
	return S{
		"openapi": "3.0.3",
		"info": S{"title": "llmservice API", "version": "1",
			"description": "Every API llmservice serves: the OpenAI-compatible API, the admin API, and the APIs of the services it replaces " +
				"(StackForDevs, LlmEndpoint, Athena, the Django LLM API, jobs). Use the base URL of your llmservice instance."},
		"servers":    []S{{"url": "/"}},
		"tags":       tags,
		"paths":      paths,
		"components": S{"securitySchemes": securitySchemes, "schemas": schemas()},
	}
}

// Routes lists "METHOD /path" of every documented operation, sorted.
func Routes() []string {
	var out []string
	for _, a := range apis() {
		for _, op := range a.Ops {
			out = append(out, op.Method+" "+op.Path)
		}
	}
	sort.Strings(out)
	return out
}

// documentJSON is the document, rendered once: it never changes while the
// process runs. A test renders it, so the error path is for a broken build.
var documentJSON = sync.OnceValues(func() ([]byte, error) {
	return json.MarshalIndent(Document(), "", "  ")
})

// Handler serves the document and the reference page. It needs nothing:
// the document is built from the operation table alone.
type Handler struct{}

// Register mounts GET /openapi.json and GET /docs.
func (Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /openapi.json", http.HandlerFunc(serveOpenAPI))
	mux.Handle("GET /docs", http.HandlerFunc(serveDocs))
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := documentJSON()
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}

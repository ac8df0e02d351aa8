package athena

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/openaihttp"
)

//go:embed schema.graphql
var schemaSDL string

// Limits on what one GraphQL document may ask: the schema nests at most
// five levels, and a query is a few hundred bytes.
const (
	maxQueryDepth  = 10
	maxQueryLength = 64 << 10
)

// newSchema parses the schema against its resolvers; a mismatch between the
// two is a programming error, caught by every test that builds a Handler.
func newSchema(h *Handler) *graphql.Schema {
	return graphql.MustParseSchema(schemaSDL, &resolver{h: h},
		graphql.UseStringDescriptions(),
		graphql.MaxDepth(maxQueryDepth),
		graphql.MaxQueryLength(maxQueryLength),
		graphql.PanicHandler(panicHandler{h}))
}

type callerKey struct{}

// callerOf returns the caller the GraphQL handler authenticated.
func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// gqlRequest is a GraphQL-over-HTTP POST body.
type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// gqlFail answers a request that never reached execution (bad body, no
// key) with a status, as GraphQL over HTTP does, and the error in
// GraphQL's {"errors": [...]} shape.
func (h *Handler) gqlFail(w http.ResponseWriter, r *http.Request, err error) {
	e := llmservice.AsError(err)
	if e.Kind == llmservice.Internal && h.Log != nil {
		h.Log.Error("graphql request failed", "err", err)
	}
	var re *gateway.RateError
	if errors.As(err, &re) {
		openaihttp.SetRateHeaders(w, re.Rate)
	}
	if e.RetryAfter > 0 && w.Header().Get("Retry-After") == "" {
		// A refusal for want of capacity says when to come back.
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	_ = httpx.WriteJSON(w, e.Kind.HTTPStatus(), map[string]any{"errors": []any{map[string]any{
		"message": e.Message, "extensions": extensions(e)}}})
}

// graphQL serves POST /graphql. Errors of resolvers (a rate limit, a missing
// conversation) come back with status 200 in "errors", next to whatever
// data could be resolved, as GraphQL clients expect.
func (h *Handler) graphQL(w http.ResponseWriter, r *http.Request) {
	h.schemaOnce.Do(func() { h.schema = newSchema(h) })
	body, err := h.readBody(w, r)
	if err != nil {
		h.gqlFail(w, r, err)
		return
	}
	var req gqlRequest
	if err := httpx.Unmarshal(body, &req); err != nil {
		h.gqlFail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		h.gqlFail(w, r, llmservice.InvalidParam("query", "query is required"))
		return
	}
	c, err := h.authenticate(r)
	if err != nil {
		h.gqlFail(w, r, err)
		return
	}
	ctx := context.WithValue(r.Context(), callerKey{}, c)
	resp := h.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	if v := c.cacheHeader(); v != "" {
		w.Header().Set("X-Llmservice-Cache", v)
	}
	for _, qe := range resp.Errors {
		var re *gateway.RateError
		if errors.As(qe.ResolverError, &re) {
			openaihttp.SetRateHeaders(w, re.Rate)
			if e := llmservice.AsError(re); e.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
			}
		}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, resp)
}

// gqlError carries an error through graphql-go, which shows Error() as the
// message and Extensions() as "extensions".
type gqlError struct {
	err error // the original, for the rate limit headers
	e   *llmservice.Error
}

func (g *gqlError) Error() string { return g.e.Message }

func (g *gqlError) Unwrap() error { return g.err }

// Extensions names the error's kind and status.
func (g *gqlError) Extensions() map[string]any { return extensions(g.e) }

// extensions describes e for a GraphQL client: code is the kind in
// GraphQL's customary upper case, status the HTTP status REST would answer,
// type and param as in the OpenAI-style REST errors.
func extensions(e *llmservice.Error) map[string]any {
	x := map[string]any{
		"code":   strings.ToUpper(e.Kind.String()),
		"status": e.Kind.HTTPStatus(),
		"type":   openaihttp.ErrorBody(e).Error.Type,
	}
	if e.Param != "" {
		x["param"] = e.Param
	}
	if e.Code != "" {
		x["error_code"] = e.Code
	}
	return x
}

// fail turns a resolver's error into a gqlError, logging server faults,
// whose text never reaches the client.
func (h *Handler) fail(err error) error {
	e := llmservice.AsError(err)
	if e.Kind == llmservice.Internal && h.Log != nil {
		h.Log.Error("graphql resolver failed", "err", err)
	}
	return &gqlError{err: err, e: e}
}

// panicHandler turns a resolver panic into an internal error; the panic is
// logged, its value never shown.
type panicHandler struct{ h *Handler }

func (p panicHandler) MakePanicError(ctx context.Context, value any) *gqlerrors.QueryError {
	if p.h.Log != nil {
		p.h.Log.Error("graphql resolver panicked", "panic", value)
	}
	e := &llmservice.Error{Kind: llmservice.Internal, Message: "internal error"}
	return &gqlerrors.QueryError{Message: e.Message, Extensions: extensions(e)}
}

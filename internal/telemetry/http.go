package telemetry

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmservice/llmservice"
)

// Handler wraps the whole HTTP server: it starts the request's span
// (continuing an incoming traceparent), lets the gateway note the calls the
// request makes, and at the end writes the access line and finishes the
// span. With neither tracing nor the access log it returns next.
func (t *Telemetry) Handler(next http.Handler) http.Handler {
	if t.tracer == nil && t.access == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req := &request{}
		ctx := context.WithValue(r.Context(), requestKey{}, req)
		var span trace.Span
		if t.tracer != nil {
			ctx = t.tracer.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = t.tracer.tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		}
		rw := &recorder{ResponseWriter: w}
		defer func() {
			// The server recovers handler panics itself; what gets here is
			// http.ErrAbortHandler, an aborted response, passed on below.
			v := recover()
			status := rw.status
			if status == 0 && v != nil {
				status = http.StatusInternalServerError
			} else if status == 0 {
				status = http.StatusOK
			}
			if v != nil {
				defer panic(v)
			}
			s := req.summary()
			id := w.Header().Get("X-Request-Id")
			if span != nil {
				t.endRequest(span, status, id, s, req)
			}
			if t.access != nil {
				t.accessLine(r, status, time.Since(start), id, s)
			}
		}()
		next.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// summary is what an access line and a request span say of the calls a
// request made: the last one's identity, every one's tokens and cost.
type summary struct {
	last                     *llmservice.UsageRecord
	prompt, completion, reqs int
	cost                     llmservice.Nanos
	attempts                 int
	finish                   []string
}

func (r *request) summary() summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s summary
	for _, rec := range r.recs {
		s.last = rec
		s.prompt += rec.PromptTokens
		s.completion += rec.CompletionTokens
		s.cost += rec.Cost
		s.attempts += rec.Attempts
	}
	s.reqs = len(r.recs)
	s.finish = r.finish
	return s
}

// accessLine writes the request's one access log line. It names the key
// by ID and the request by path: never a secret, a query string or a body.
func (t *Telemetry) accessLine(r *http.Request, status int, latency time.Duration, id string, s summary) {
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1e3),
	)
	if rec := s.last; rec != nil {
		attrs = append(attrs,
			slog.String("team", rec.TeamID),
			slog.String("key_id", rec.KeyID),
			slog.String("api", rec.Endpoint),
			slog.String("model", rec.RequestedModel),
			slog.String("provider", rec.Provider),
			slog.String("upstream_model", rec.UpstreamModel),
			slog.Int("prompt_tokens", s.prompt),
			slog.Int("completion_tokens", s.completion),
			slog.Float64("cost_usd", s.cost.Dollars()),
			slog.Bool("stream", rec.Stream),
			slog.String("usage_id", rec.ID),
		)
		if s.reqs > 1 {
			attrs = append(attrs, slog.Int("calls", s.reqs))
		}
		if rec.ErrorType != "" {
			attrs = append(attrs, slog.String("error", rec.ErrorType))
		}
	}
	t.access.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}

// endRequest sets the GenAI attributes of the request's calls on its span
// and ends it.
func (t *Telemetry) endRequest(span trace.Span, status int, id string, s summary, req *request) {
	span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("llmservice.request_id", id))
	if rec := s.last; rec != nil {
		op := operation(rec.Endpoint)
		span.SetName(op + " " + rec.RequestedModel)
		span.SetAttributes(
			attribute.String("gen_ai.operation.name", op),
			attribute.String("gen_ai.provider.name", genAIProvider[t.families[rec.Provider]]),
			attribute.String("gen_ai.request.model", rec.RequestedModel),
			attribute.String("gen_ai.response.model", rec.UpstreamModel),
			attribute.Int("gen_ai.usage.input_tokens", s.prompt),
			attribute.Int("gen_ai.usage.output_tokens", s.completion),
			attribute.String("llmservice.team.id", rec.TeamID),
			attribute.String("llmservice.key.id", rec.KeyID),
			attribute.String("llmservice.provider", rec.Provider),
			attribute.Int("llmservice.attempts", s.attempts),
			attribute.Float64("llmservice.cost_usd", s.cost.Dollars()),
			attribute.String("llmservice.usage_id", rec.ID),
		)
		if len(s.finish) > 0 {
			span.SetAttributes(attribute.StringSlice("gen_ai.response.finish_reasons", s.finish))
		}
		if rec.ErrorType != "" {
			span.SetAttributes(attribute.String("error.type", rec.ErrorType))
		}
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streams flowing for code that asserts http.Flusher.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ProtectMetrics requires "Authorization: Bearer <token>" on next; an
// empty token leaves it open.
func ProtectMetrics(next http.Handler, token string) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		want := "Bearer " + token
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics require Authorization: Bearer <LLMSERVICE_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

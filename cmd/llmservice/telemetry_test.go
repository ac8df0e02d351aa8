package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// chatBody is a minimal Chat Completions request.
func chatBody(model, text string, stream bool) map[string]any {
	return map[string]any{"model": model, "stream": stream,
		"messages": []map[string]any{{"role": "user", "content": text}}}
}

// post sends body to path with bearer and extra headers, reads the answer
// to its end (streams included) and returns the status.
func post(t *testing.T, url, bearer string, body any, hdr map[string]string) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// scrape returns the /metrics text.
func scrape(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sample returns the value of the series written exactly as series
// (name{labels}) in a Prometheus text exposition, or NaN when absent.
func sample(text, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return math.NaN()
}

// TestMetricsCountKnownTraffic sends known calls through the real server
// and expects the request, latency, token, cost, attempt, refusal and
// deployment series with their values, behind the metrics token; a model
// name the catalog does not know is labelled "other".
func TestMetricsCountKnownTraffic(t *testing.T) {
	srv := startServer(t, map[string]string{"LLMSERVICE_METRICS_TOKEN": "metrics-secret"})
	// $0.001 per prompt token, $0.002 per completion token.
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "priced", "provider": "mock",
		"upstream_model": "echo", "input_per_mtok": 1000, "output_per_mtok": 2000}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models: %d", st)
	}
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	_, slow, _ := newKey(t, srv.URL, "acme", map[string]any{"rpm": 1})

	// "hello there" is 2 prompt tokens; "mock reply: hello there" is 4.
	for _, stream := range []bool{false, false, true} {
		if st := post(t, srv.URL+"/v1/chat/completions", key, chatBody("priced", "hello there", stream), nil); st != 200 {
			t.Fatalf("chat (stream %v): %d", stream, st)
		}
	}
	if st := post(t, srv.URL+"/v1/chat/completions", key, chatBody("made-up-model-1234", "hi", false), nil); st != 404 {
		t.Fatalf("unknown model: %d; want 404", st)
	}
	post(t, srv.URL+"/v1/chat/completions", slow, chatBody("priced", "hello there", false), nil)
	if st := post(t, srv.URL+"/v1/chat/completions", slow, chatBody("priced", "hello there", false), nil); st != 429 {
		t.Fatalf("second call at rpm 1: %d; want 429", st)
	}

	if st, _ := scrape(t, srv.URL, ""); st != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d; want 401", st)
	}
	if st, _ := scrape(t, srv.URL, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong token: %d; want 401", st)
	}
	want := map[string]float64{
		`llmservice_requests_total{api="chat",model="priced",provider="mock",status="200"}`:       4,
		`llmservice_requests_total{api="chat",model="priced",provider="none",status="429"}`:       1,
		`llmservice_requests_total{api="chat",model="other",provider="none",status="404"}`:        1,
		`llmservice_request_duration_seconds_count{api="chat",model="priced",provider="mock"}`:    4,
		`llmservice_time_to_first_token_seconds_count{api="chat",model="priced",provider="mock"}`: 1,
		`llmservice_tokens_total{kind="prompt",model="priced",provider="mock"}`:                   8,
		`llmservice_tokens_total{kind="completion",model="priced",provider="mock"}`:               16,
		`llmservice_tokens_total{kind="reasoning",model="priced",provider="mock"}`:                0,
		`llmservice_cost_usd_total{model="priced",provider="mock"}`:                               0.04,
		`llmservice_upstream_attempts_total{deployment="mock",outcome="ok",provider="mock"}`:      4,
		`llmservice_refusals_total{reason="rate_limit"}`:                                          1,
		`llmservice_refusals_total{reason="budget"}`:                                              0,
		`llmservice_requests_in_flight`:                                                           0,
		`llmservice_deployment_state{deployment="mock",provider="mock",state="healthy"}`:          1,
		`llmservice_deployment_state{deployment="mock",provider="mock",state="cooling_down"}`:     0,
		`llmservice_ledger_flush_seconds_count{result="ok"}`:                                      -1, // any positive count
		`llmservice_ledger_buffered_records`:                                                      -1,
	}
	// A stream settles as its last chunk goes out, and the ledger writes
	// in batches: wait for the figures rather than race them.
	var text string
	var bad []string
	for deadline := time.Now().Add(20 * time.Second); ; {
		_ = do(t, "GET", srv.URL+"/admin/usage", testAdminKey, nil, nil) // flushes the meter
		var st int
		st, text = scrape(t, srv.URL, "metrics-secret")
		if st != http.StatusOK {
			t.Fatalf("GET /metrics with the token: %d", st)
		}
		bad = bad[:0]
		for series, v := range want {
			got := sample(text, series)
			switch {
			case math.IsNaN(got):
				bad = append(bad, series+" absent")
			case v < 0 && series == `llmservice_ledger_flush_seconds_count{result="ok"}` && got < 1:
				bad = append(bad, series+" = 0; want a write")
			case v >= 0 && math.Abs(got-v) > 1e-9:
				bad = append(bad, series+" = "+strconv.FormatFloat(got, 'g', -1, 64)+"; want "+strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		if len(bad) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, b := range bad {
		t.Error(b)
	}
	if strings.Contains(text, "made-up-model-1234") {
		t.Error("/metrics labels a model name the catalog does not know")
	}
	if strings.Contains(text, `team="acme"`) {
		t.Error("team labels present though LLMSERVICE_METRICS_TEAM_LABELS is off")
	}
}

// TestMetricsTeamLabels turns team and key labels on.
func TestMetricsTeamLabels(t *testing.T) {
	srv := startServer(t, map[string]string{"LLMSERVICE_METRICS_TEAM_LABELS": "true"})
	id, key, _ := newKey(t, srv.URL, "acme", nil)
	if st := post(t, srv.URL+"/v1/chat/completions", key, chatBody("mock/echo", "hello there", false), nil); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	_, text := scrape(t, srv.URL, "")
	series := `llmservice_requests_total{api="chat",key="` + id + `",model="mock/echo",provider="mock",status="200",team="acme"}`
	if got := sample(text, series); got != 1 {
		t.Errorf("%s = %v; want 1\n%s", series, got, grepLines(text, "llmservice_requests_total"))
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// accessLines returns the access lines of log by request ID.
func accessLines(log string) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, l := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "access" {
			continue
		}
		id, _ := m["request_id"].(string)
		out[id] = append(out[id], m)
	}
	return out
}

// TestAccessLogOneLinePerRequest expects exactly one JSON line per request,
// with the request ID the client saw, the caller, the model, the provider,
// the status, the latency and the tokens, and never a secret or a body.
func TestAccessLogOneLinePerRequest(t *testing.T) {
	sink := logSink{&lockedBuffer{}}
	srv := startServerLogging(t, map[string]string{"LLMSERVICE_ACCESS_LOG": "on"}, sink)
	keyID, key, _ := newKey(t, srv.URL, "acme", nil)
	type call struct {
		id, path, model string
		stream          bool
		status          int
		want            map[string]any
	}
	calls := []call{
		{id: "rid-chat", path: "/v1/chat/completions", model: "mock/echo", status: 200, want: map[string]any{
			"team": "acme", "key_id": keyID, "api": "chat", "model": "mock/echo", "provider": "mock",
			"prompt_tokens": 2.0, "completion_tokens": 4.0, "stream": false}},
		{id: "rid-stream", path: "/v1/chat/completions", model: "mock/echo", stream: true, status: 200, want: map[string]any{
			"team": "acme", "key_id": keyID, "api": "chat", "model": "mock/echo", "provider": "mock",
			"prompt_tokens": 2.0, "completion_tokens": 4.0, "stream": true}},
		{id: "rid-unknown", path: "/v1/chat/completions", model: "nope-model", status: 404, want: map[string]any{
			"team": "acme", "key_id": keyID, "model": "nope-model", "provider": "", "error": "model_not_found"}},
		{id: "rid-badkey", path: "/v1/chat/completions", model: "mock/echo", status: 401, want: map[string]any{}},
	}
	for _, c := range calls {
		bearer := key
		if c.status == 401 {
			bearer = "sk-not-a-key"
		}
		if st := post(t, srv.URL+c.path, bearer, chatBody(c.model, "hello there", c.stream), map[string]string{"X-Request-Id": c.id}); st != c.status {
			t.Fatalf("%s: status %d; want %d", c.id, st, c.status)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	healthID := resp.Header.Get("X-Request-Id")

	var lines map[string][]map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lines = accessLines(sink.String())
		if len(lines[healthID]) > 0 && len(lines["rid-badkey"]) > 0 && len(lines["rid-stream"]) > 0 {
			break
		}
	}
	for _, c := range calls {
		got := lines[c.id]
		if len(got) != 1 {
			t.Errorf("%s: %d access lines; want 1", c.id, len(got))
			continue
		}
		l := got[0]
		if l["status"] != float64(c.status) || l["path"] != c.path || l["method"] != "POST" {
			t.Errorf("%s: status %v path %v method %v; want %d %s POST", c.id, l["status"], l["path"], l["method"], c.status, c.path)
		}
		if _, ok := l["latency_ms"].(float64); !ok {
			t.Errorf("%s: no latency_ms in %v", c.id, l)
		}
		for k, v := range c.want {
			if l[k] != v {
				t.Errorf("%s: %s = %v; want %v", c.id, k, l[k], v)
			}
		}
	}
	if n := len(lines[healthID]); healthID == "" || n != 1 {
		t.Errorf("GET /healthz (request id %q): %d access lines; want 1", healthID, n)
	}
	log := sink.String()
	for _, secret := range []string{key, testAdminKey, "sk-not-a-key", "mock reply", "hello there"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// TestAccessLogOff turns the access log off.
func TestAccessLogOff(t *testing.T) {
	sink := logSink{&lockedBuffer{}}
	srv := startServerLogging(t, map[string]string{"LLMSERVICE_ACCESS_LOG": "off"}, sink)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	post(t, srv.URL+"/v1/chat/completions", key, chatBody("mock/echo", "hi", false), nil)
	_ = srv.stop()
	if n := len(accessLines(sink.String())); n != 0 {
		t.Errorf("%d access lines with LLMSERVICE_ACCESS_LOG=off; want 0", n)
	}
}

// otlpReceiver is an OTLP/HTTP traces endpoint that keeps what it gets.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	// TracesData encodes as ExportTraceServiceRequest does (field 1,
	// resource_spans), without the collector package and its gRPC stubs.
	var req tracepb.TracesData
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	// An empty ExportTraceServiceResponse is an empty body.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (o *otlpReceiver) all() []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*tracepb.Span(nil), o.spans...)
}

// spanAttrs flattens a span's attributes to strings.
func spanAttrs(s *tracepb.Span) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		v := kv.Value
		switch x := v.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_DoubleValue:
			m[kv.Key] = strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		case *commonpb.AnyValue_ArrayValue:
			var parts []string
			for _, e := range x.ArrayValue.Values {
				parts = append(parts, e.GetStringValue())
			}
			m[kv.Key] = strings.Join(parts, ",")
		}
	}
	return m
}

// TestTracesReachOTLPReceiver continues an incoming traceparent: the
// request's server span and its attempt's client span arrive at an OTLP/HTTP
// receiver with the GenAI attributes, the upstream request carries the
// attempt's traceparent, and no prompt or answer text is in any span.
func TestTracesReachOTLPReceiver(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	var upstreamTP atomic.Value
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamTP.Store(r.Header.Get("Traceparent"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"up-model-2025",
			"choices":[{"index":0,"message":{"role":"assistant","content":"secret answer words"},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`)
	}))
	defer upstream.Close()
	srv := startServer(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_SERVICE_NAME":           "gateway-under-test",
		"OPENAI_API_KEY":              "sk-upstream-secret",
		"OPENAI_BASE_URL":             upstream.URL + "/v1",
	})
	keyID, key, _ := newKey(t, srv.URL, "acme", nil)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if st := post(t, srv.URL+"/v1/chat/completions", key, chatBody("openai/up-model", "secret prompt words", false),
		map[string]string{"Traceparent": "00-" + traceID + "-" + parentID + "-01", "X-Request-Id": "rid-traced"}); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	if err := srv.stop(); err != nil { // exports what the batcher holds
		t.Fatalf("stop: %v", err)
	}
	var server, client *tracepb.Span
	for _, s := range recv.all() {
		if hex.EncodeToString(s.TraceId) != traceID {
			continue
		}
		switch s.Kind {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			client = s
		}
	}
	if server == nil || client == nil {
		t.Fatalf("spans of trace %s: server %v, client %v; got %d spans", traceID, server != nil, client != nil, len(recv.all()))
	}
	if got := hex.EncodeToString(server.ParentSpanId); got != parentID {
		t.Errorf("server span's parent = %s; want the incoming %s", got, parentID)
	}
	if !bytes.Equal(client.ParentSpanId, server.SpanId) {
		t.Errorf("attempt span's parent = %x; want the server span %x", client.ParentSpanId, server.SpanId)
	}
	if got, want := upstreamTP.Load(), "00-"+traceID+"-"+hex.EncodeToString(client.SpanId)+"-01"; got != want {
		t.Errorf("upstream traceparent = %v; want %s", got, want)
	}
	if server.Name != "chat openai/up-model" {
		t.Errorf("server span name = %q; want %q", server.Name, "chat openai/up-model")
	}
	wantServer := map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "openai/up-model",
		"gen_ai.response.model": "up-model", "gen_ai.usage.input_tokens": "7", "gen_ai.usage.output_tokens": "3",
		"gen_ai.response.finish_reasons": "stop", "llmservice.team.id": "acme", "llmservice.key.id": keyID,
		"llmservice.attempts": "1", "llmservice.request_id": "rid-traced", "http.response.status_code": "200",
	}
	got := spanAttrs(server)
	for k, v := range wantServer {
		if got[k] != v {
			t.Errorf("server span %s = %q; want %q", k, got[k], v)
		}
	}
	if _, ok := got["llmservice.cost_usd"]; !ok {
		t.Error("server span has no llmservice.cost_usd")
	}
	wantClient := map[string]string{"gen_ai.provider.name": "openai", "gen_ai.request.model": "up-model",
		"llmservice.attempt": "1", "llmservice.deployment": "openai"}
	gotClient := spanAttrs(client)
	for k, v := range wantClient {
		if gotClient[k] != v {
			t.Errorf("attempt span %s = %q; want %q", k, gotClient[k], v)
		}
	}
	for _, s := range recv.all() {
		for k, v := range spanAttrs(s) {
			for _, secret := range []string{"secret prompt", "secret answer", "sk-upstream-secret", key} {
				if strings.Contains(v, secret) {
					t.Errorf("span %q attribute %s carries %q", s.Name, k, secret)
				}
			}
		}
	}
}

package batches

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/sqlite"
)

// fakeGateway answers chats with chatFn and records the calls.
type fakeGateway struct {
	chatFn func(c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	calls  []gateway.Call
}

func (f *fakeGateway) Authenticate(ctx context.Context, key string) (*gateway.Principal, error) {
	return nil, errors.New("not used")
}

func (f *fakeGateway) AuthenticateSecret(ctx context.Context, key, secret string) (*gateway.Principal, error) {
	return nil, errors.New("not used")
}

func (f *fakeGateway) Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error) {
	f.calls = append(f.calls, *c)
	return f.chatFn(c, req)
}

func (f *fakeGateway) Embed(ctx context.Context, c *gateway.Call, req *llm.EmbedRequest) (*gateway.EmbedResult, error) {
	f.calls = append(f.calls, *c)
	return &gateway.EmbedResult{Response: &llm.EmbedResponse{Vectors: [][]float32{{1, 2}}}, Usage: llm.Usage{PromptTokens: 2}}, nil
}

func answer(text string) *gateway.Result {
	return &gateway.Result{Response: &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage("assistant", text), FinishReason: "stop"}}},
		Usage: llm.Usage{PromptTokens: 3, CompletionTokens: 2}}
}

func itemSetup(t *testing.T, gw *fakeGateway) (*Handler, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*llmservice.Key{{ID: "k1", TeamID: "acme", KeyHash: "h1"}, {ID: "revoked", TeamID: "acme", KeyHash: "h2"}} {
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RevokeKey(ctx, "revoked", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	return &Handler{GW: gw, Store: db}, db
}

func itemTask(keyID, url, body string) *llmservice.Task {
	p, _ := json.Marshal(itemPayload{URL: url, Body: json.RawMessage(body), Project: "proj"})
	return &llmservice.Task{ID: "batch_req_1", Kind: KindItem, TeamID: "acme", KeyID: keyID, Group: "batch_1", Key: "c1", Payload: p, Attempts: 1, MaxAttempts: 3}
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

func TestRunItem(t *testing.T) {
	cases := []struct {
		name       string
		keyID      string
		url, body  string
		chat       func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error)
		wantRetry  bool
		wantFailed bool
		wantStatus int
	}{
		{name: "Answer", keyID: "k1", url: chatURL, body: chatBody, wantStatus: 200,
			chat: func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error) { return answer("hello"), nil }},
		{name: "Embeddings", keyID: "k1", url: "/v1/embeddings", body: `{"model":"e","input":"x"}`, wantStatus: 200},
		{name: "RateLimitedWaits", keyID: "k1", url: chatURL, body: chatBody, wantRetry: true,
			chat: func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error) {
				return nil, &llmservice.Error{Kind: llmservice.RateLimited, Message: "slow down", RetryAfter: time.Second}
			}},
		{name: "UpstreamDownRetries", keyID: "k1", url: chatURL, body: chatBody, wantRetry: true,
			chat: func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error) {
				return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "502 from upstream"}
			}},
		{name: "UnknownModelIsTheAnswer", keyID: "k1", url: chatURL, body: chatBody, wantFailed: true, wantStatus: 404,
			chat: func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error) {
				return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Message: "no such model"}
			}},
		{name: "RevokedKey", keyID: "revoked", url: chatURL, body: chatBody, wantFailed: true, wantStatus: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := &fakeGateway{chatFn: tc.chat}
			h, _ := itemSetup(t, gw)
			var flushed bool
			h.Flush = func(context.Context) error { flushed = true; return nil }
			task := itemTask(tc.keyID, tc.url, tc.body)
			out, err := h.runItem(context.Background(), task)
			if tc.wantRetry {
				if err == nil {
					t.Fatalf("runItem = %+v; want an error to retry", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var res itemResult
			if err := json.Unmarshal(out.Result, &res); err != nil {
				t.Fatal(err)
			}
			if out.Failed != tc.wantFailed || res.StatusCode != tc.wantStatus || res.RequestID != "req_batch_req_1" || !json.Valid(res.Body) {
				t.Errorf("outcome failed=%v result %+v; want failed=%v status %d", out.Failed, res, tc.wantFailed, tc.wantStatus)
			}
			if tc.wantStatus == 200 {
				c := gw.calls[0]
				// The ledger keeps one successful record per purpose on
				// batch endpoints: this is what bills an item once.
				if c.Purpose != task.ID || c.Endpoint != endpoints[tc.url] || c.Project != "proj" || c.Principal.Key.ID != "k1" {
					t.Errorf("call = %+v; want purpose = task ID, the batch endpoint, the project and the key", c)
				}
				if !flushed {
					t.Error("the usage record was not flushed before the result was stored")
				}
			}
		})
	}
}

// A failed flush means the usage record may not be stored: the item must not
// complete, or it could be answered but never billed.
func TestRunItemRetriesWhenTheLedgerCannotBeWritten(t *testing.T) {
	gw := &fakeGateway{chatFn: func(*gateway.Call, *llm.ChatRequest) (*gateway.Result, error) { return answer("x"), nil }}
	h, _ := itemSetup(t, gw)
	h.Flush = func(context.Context) error { return errors.New("disk full") }
	if _, err := h.runItem(context.Background(), itemTask("k1", chatURL, chatBody)); err == nil {
		t.Error("runItem succeeded although the usage record could not be written")
	}
}

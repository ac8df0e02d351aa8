package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// batchFastQueue makes the queue poll, sweep and retry webhooks fast, so
// that tests wait on work rather than on timers.
func batchFastQueue(t *testing.T) {
	t.Setenv("LLMSERVICE_QUEUE_POLL", "20ms")
	t.Setenv("LLMSERVICE_BATCH_SWEEP", "100ms")
	t.Setenv("LLMSERVICE_WEBHOOK_RETRIES", "10ms,10ms,10ms")
}

// batchWait polls cond every 20ms until it holds, failing after a minute (a
// bound on correctness, not a speed assertion).
func batchWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after a minute waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// batchJSONL builds an input file of chat requests, one per (custom_id, model, text).
func batchJSONL(lines ...[3]string) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, `{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":%q}]}}`+"\n", l[0], l[1], l[2])
	}
	return b.String()
}

// batchOutput reads an output or error file into lines by custom_id.
func batchOutput(t *testing.T, c openai.Client, fileID string) map[string]map[string]any {
	t.Helper()
	resp, err := c.Files.Content(context.Background(), fileID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Bytes())
		}
		id, _ := line["custom_id"].(string)
		if _, dup := out[id]; dup {
			t.Errorf("custom_id %s appears twice in file %s", id, fileID)
		}
		out[id] = line
	}
	return out
}

// TestBatchesOpenAIClient runs a batch end to end with the official client:
// upload, create, poll, download the output and error files.
func TestBatchesOpenAIClient(t *testing.T) {
	batchFastQueue(t)
	env, _ := fakes(t)
	srv := startServer(t, env)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	c := client(srv.URL, key)
	ctx := context.Background()

	input := batchJSONL([3]string{"req-1", "mock/echo", "first question"}, [3]string{"req-2", "gpt-4o-mini", "second question"},
		[3]string{"req-3", "no-such-model", "third question"})
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "batch.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if f.Purpose != "batch" || f.Bytes != int64(len(input)) || f.Filename != "batch.jsonl" || !strings.HasPrefix(f.ID, "file-") {
		t.Errorf("uploaded file = %+v", f)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: shared.Metadata{"job": "nightly"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.RequestCounts.Total != 3 || b.Metadata["job"] != "nightly" || b.InputFileID != f.ID {
		t.Errorf("created batch = %+v", b)
	}
	batchWait(t, "the batch to complete", func() bool {
		b, err = c.Batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return b.Status == openai.BatchStatusCompleted
	})
	if b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 1 || b.CompletedAt == 0 || b.OutputFileID == "" || b.ErrorFileID == "" {
		t.Fatalf("completed batch = %+v", b)
	}
	if b.Usage.TotalTokens == 0 {
		t.Errorf("usage = %+v; want tokens summed", b.Usage)
	}
	out := batchOutput(t, c, b.OutputFileID)
	for id, want := range map[string]string{"req-1": "mock reply: first question", "req-2": "echo: second question"} {
		line := out[id]
		resp, _ := line["response"].(map[string]any)
		body, _ := resp["body"].(map[string]any)
		choices, _ := body["choices"].([]any)
		if resp["status_code"] != 200.0 || len(choices) != 1 || line["error"] != nil {
			t.Errorf("output line %s = %v", id, line)
			continue
		}
		if got := choices[0].(map[string]any)["message"].(map[string]any)["content"]; got != want {
			t.Errorf("%s answer = %v; want %q", id, got, want)
		}
	}
	errs := batchOutput(t, c, b.ErrorFileID)
	if resp, _ := errs["req-3"]["response"].(map[string]any); len(errs) != 1 || resp["status_code"] != 404.0 {
		t.Errorf("error file = %v; want req-3 with status 404", errs)
	}

	page, err := c.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != b.ID || page.HasMore {
		t.Errorf("batch list = %d batches (has_more %v)", len(page.Data), page.HasMore)
	}
	_, err = c.Batches.Cancel(ctx, b.ID)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Errorf("cancel of a completed batch: %v; want 409", err)
	}
	files, err := c.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch_output")})
	if err != nil {
		t.Fatal(err)
	}
	if len(files.Data) != 2 {
		t.Errorf("batch_output files = %d; want the output and error files", len(files.Data))
	}
	if _, err := c.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Files.Get(ctx, f.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted file: %v; want 404", err)
	}
}

// TestBatchesValidationFailsTheBatch: a file with bad lines gives a failed
// batch whose errors name the lines, as OpenAI's does.
func TestBatchesValidationFailsTheBatch(t *testing.T) {
	batchFastQueue(t)
	srv := startServer(t, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	c := client(srv.URL, key)
	ctx := context.Background()
	input := batchJSONL([3]string{"a", "mock/echo", "x"}) + "not json\n" + batchJSONL([3]string{"a", "mock/echo", "dup"})
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "bad.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != openai.BatchStatusFailed || len(b.Errors.Data) != 2 || b.Errors.Data[0].Line != 2 || b.Errors.Data[1].Code != "duplicate_custom_id" {
		t.Errorf("batch = %s with errors %+v; want failed, lines 2 and 3", b.Status, b.Errors.Data)
	}

	for _, tc := range []struct {
		name, body, param string
		status            int
	}{
		{"NoFile", `{"endpoint":"/v1/chat/completions","completion_window":"24h"}`, "input_file_id", 400},
		{"BadEndpoint", `{"input_file_id":"` + f.ID + `","endpoint":"/v1/videos","completion_window":"24h"}`, "endpoint", 400},
		{"BadWindow", `{"input_file_id":"` + f.ID + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`, "completion_window", 400},
		{"WrongType", `{"input_file_id":7}`, "input_file_id", 400},
		{"UnknownFile", `{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`, "input_file_id", 404},
		{"Malformed", `{"input_file_id":`, "", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				Error struct {
					Message string  `json:"message"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			req, _ := http.NewRequest("POST", srv.URL+"/v1/batches", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_ = json.NewDecoder(resp.Body).Decode(&out)
			param := ""
			if out.Error.Param != nil {
				param = *out.Error.Param
			}
			if resp.StatusCode != tc.status || param != tc.param || out.Error.Message == "" {
				t.Errorf("status %d, param %q, message %q; want %d naming %q", resp.StatusCode, param, out.Error.Message, tc.status, tc.param)
			}
		})
	}
}

// TestBatchesTenantIsolation: another team's files and batches are 404.
func TestBatchesTenantIsolation(t *testing.T) {
	batchFastQueue(t)
	srv := startServer(t, nil)
	_, keyA, _ := newKey(t, srv.URL, "team-a", nil)
	_, keyB, secretB := newKey(t, srv.URL, "team-b", nil)
	a, bc := client(srv.URL, keyA), client(srv.URL, keyB)
	ctx := context.Background()
	f, err := a.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(batchJSONL([3]string{"x", "mock/echo", "hi"})), "a.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *openai.Error
	for name, err := range map[string]error{
		"file":    func() error { _, err := bc.Files.Get(ctx, f.ID); return err }(),
		"content": func() error { _, err := bc.Files.Content(ctx, f.ID); return err }(),
		"batch":   func() error { _, err := bc.Batches.Get(ctx, b.ID); return err }(),
		"cancel":  func() error { _, err := bc.Batches.Cancel(ctx, b.ID); return err }(),
		"create": func() error {
			_, err := bc.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
			return err
		}(),
	} {
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Errorf("team b reading team a's %s: %v; want 404", name, err)
		}
	}
	if list, err := bc.Batches.List(ctx, openai.BatchListParams{}); err != nil || len(list.Data) != 0 {
		t.Errorf("team b lists %d batches (%v); want none", len(list.Data), err)
	}
	// An OpenAI batch is not a StackForDevs batch, even for its own team.
	if st := batchSFD(t, "GET", srv.URL+"/v1/batch/"+b.ID, keyB, secretB, "team-b", nil, nil); st != http.StatusNotFound {
		t.Errorf("GET /v1/batch of another API's batch: %d; want 404", st)
	}
}

// batchSFD sends a StackForDevs request with its four headers.
func batchSFD(t *testing.T, method, url, key, secret, tenant string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", key)
	req.Header.Set("x-secret-key", secret)
	req.Header.Set("x-tenant-id", tenant)
	req.Header.Set("x-project-id", "proj-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

// The seed's curl examples, verbatim but for the line continuations.
const (
	seedCurlCreate = `curl -X POST https://llm.stackfordevs.com/v1/batch \
  -H "Content-Type: application/json" \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID" \
  -d '{
    "requests": [
      {
        "custom_id": "request-1",
        "model": "gpt-4",
        "messages": [
          {
            "role": "user",
            "content": "Summarize the latest AI trends."
          }
        ]
      },
      {
        "custom_id": "request-2",
        "model": "gpt-4",
        "messages": [
          {
            "role": "user",
            "content": "Explain machine learning."
          }
        ]
      }
    ],
    "webhook_url": "https://yourapp.com/batch-complete"
  }'`
	seedCurlList = `curl -X GET "https://llm.stackfordevs.com/v1/batch?status=completed&limit=20" \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID"`
	seedCurlResults = `curl -X GET https://llm.stackfordevs.com/v1/batch/batch_abc123/results \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID"`
	seedCurlCancel = `curl -X POST https://llm.stackfordevs.com/v1/batch/batch_abc123/cancel \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID"`
)

// batchCurl runs a seed curl command with the base URL, credentials, batch
// ID and webhook URL swapped in; it returns the status and the body.
func batchCurl(t *testing.T, cmd string, subst map[string]string) (int, map[string]any) {
	t.Helper()
	for from, to := range subst {
		cmd = strings.ReplaceAll(cmd, from, to)
	}
	cmd = strings.Replace(cmd, "curl ", `curl -s -w '\n%{http_code}' `, 1)
	out, err := exec.Command("sh", "-c", cmd).Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	s := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(s, '\n')
	status, _ := strconv.Atoi(s[i+1:])
	var body map[string]any
	if err := json.Unmarshal([]byte(s[:i]), &body); err != nil {
		t.Fatalf("%s: answer is not JSON: %v\n%s", cmd, err, s)
	}
	return status, body
}

// TestBatchesStackForDevsCurlExamples runs the seed's curl examples: 201 on
// create, 425 before the batch is done, results by custom_id once it is,
// 409 for a cancel after the end, the completed list.
func TestBatchesStackForDevsCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	batchFastQueue(t)
	env, _ := fakes(t)
	srv := startServer(t, env)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hook.Close()
	_, key, secret := newKey(t, srv.URL, "tenant-1", nil)
	subst := map[string]string{"https://llm.stackfordevs.com": srv.URL, "https://yourapp.com/batch-complete": hook.URL,
		"YOUR_API_KEY": key, "YOUR_SECRET_KEY": secret, "YOUR_TENANT_ID": "tenant-1", "YOUR_PROJECT_ID": "proj-1"}

	status, created := batchCurl(t, seedCurlCreate, subst)
	id, _ := created["id"].(string)
	secretOut, _ := created["webhook_secret"].(string)
	if status != http.StatusCreated || created["status"] != "pending" || !strings.HasPrefix(id, "batch_") || !strings.HasPrefix(secretOut, "whsec_") {
		t.Fatalf("create: %d %v; want 201, pending, a batch id and a whsec_ secret", status, created)
	}
	subst["batch_abc123"] = id
	batchWait(t, "the batch to complete", func() bool {
		var b map[string]any
		batchSFD(t, "GET", srv.URL+"/v1/batch/"+id, key, secret, "tenant-1", nil, &b)
		return b["status"] == "completed"
	})
	status, res := batchCurl(t, seedCurlResults, subst)
	if status != http.StatusOK {
		t.Fatalf("results: %d %v", status, res)
	}
	byID := map[string]map[string]any{}
	for _, r := range res["results"].([]any) {
		m := r.(map[string]any)
		byID[m["custom_id"].(string)] = m
	}
	for cid, want := range map[string]string{"request-1": "echo: Summarize the latest AI trends.", "request-2": "echo: Explain machine learning."} {
		if byID[cid]["content"] != want || byID[cid]["status"] != "completed" {
			t.Errorf("result %s = %v; want content %q", cid, byID[cid], want)
		}
	}
	if status, body := batchCurl(t, seedCurlCancel, subst); status != http.StatusConflict {
		t.Errorf("cancel after completion: %d %v; want 409", status, body)
	}
	status, list := batchCurl(t, seedCurlList, subst)
	data, _ := list["data"].([]any)
	if status != http.StatusOK || len(data) != 1 || data[0].(map[string]any)["id"] != id {
		t.Errorf("list completed: %d %v; want the batch", status, list)
	}

	// A batch that cannot finish yet (its key allows one request a minute):
	// 425 Too Early, then cancel, then the partial results.
	_, slowKey, slowSecret := newKey(t, srv.URL, "tenant-2", map[string]any{"rpm": 1})
	subst2 := map[string]string{"https://llm.stackfordevs.com": srv.URL, "https://yourapp.com/batch-complete": hook.URL,
		"YOUR_API_KEY": slowKey, "YOUR_SECRET_KEY": slowSecret, "YOUR_TENANT_ID": "tenant-2", "YOUR_PROJECT_ID": "proj-2"}
	status, created = batchCurl(t, seedCurlCreate, subst2)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	subst2["batch_abc123"] = created["id"].(string)
	if status, body := batchCurl(t, seedCurlResults, subst2); status != http.StatusTooEarly {
		t.Fatalf("results of an unfinished batch: %d %v; want 425", status, body)
	}
	if status, body := batchCurl(t, seedCurlCancel, subst2); status != http.StatusOK {
		t.Fatalf("cancel of an unfinished batch: %d %v; want 200", status, body)
	}
	var partial map[string]any
	batchWait(t, "the cancelled batch's results", func() bool {
		var st int
		st, partial = batchCurl(t, seedCurlResults, subst2)
		return st == http.StatusOK
	})
	if partial["status"] != "cancelled" {
		t.Errorf("cancelled batch results = %v; want status cancelled", partial)
	}
	statuses := map[string]int{}
	for _, r := range partial["results"].([]any) {
		statuses[r.(map[string]any)["status"].(string)]++
	}
	if statuses["cancelled"] < 1 || statuses["completed"]+statuses["cancelled"] != 2 {
		t.Errorf("results of the cancelled batch by status: %v; want at least one cancelled", statuses)
	}
	if status, _ := batchCurl(t, seedCurlCancel, subst2); status != http.StatusConflict {
		t.Errorf("second cancel: %d; want 409", status)
	}
	// Credentials: a tenant that is not the key's is 401.
	subst2["YOUR_TENANT_ID"] = "tenant-1"
	if status, _ := batchCurl(t, seedCurlList, subst2); status != http.StatusUnauthorized {
		t.Errorf("mismatched tenant: %d; want 401", status)
	}
}

// webhookReceiver records deliveries and answers with the queued statuses
// (200 once they run out).
type webhookReceiver struct {
	mu       sync.Mutex
	statuses []int
	got      []webhookDelivery
}

type webhookDelivery struct {
	header http.Header
	body   []byte
}

func (wr *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	wr.mu.Lock()
	wr.got = append(wr.got, webhookDelivery{header: r.Header.Clone(), body: b})
	status := http.StatusOK
	if len(wr.statuses) > 0 {
		status, wr.statuses = wr.statuses[0], wr.statuses[1:]
	}
	wr.mu.Unlock()
	w.WriteHeader(status)
}

func (wr *webhookReceiver) deliveries() []webhookDelivery {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([]webhookDelivery(nil), wr.got...)
}

// TestBatchesWebhookSignedAndRetried: the webhook is signed as Standard
// Webhooks says (checked by its reference verifier), retried while the
// receiver fails, and every attempt is listed.
func TestBatchesWebhookSignedAndRetried(t *testing.T) {
	batchFastQueue(t)
	// The receiver listens on this host, which webhooks may reach only
	// when an operator allows it.
	srv := startServer(t, map[string]string{"LLMSERVICE_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8"})
	_, key, secret := newKey(t, srv.URL, "acme", nil)
	cases := []struct {
		name      string
		statuses  []int
		wantCodes []int
	}{
		{"SucceedsOnThirdAttempt", []int{500, 503}, []int{500, 503, 200}},
		{"GivesUpAfterFourAttempts", []int{500, 500, 500, 500, 500}, []int{500, 500, 500, 500}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recv := &webhookReceiver{statuses: tc.statuses}
			hook := httptest.NewServer(recv)
			defer hook.Close()
			var created map[string]any
			st := batchSFD(t, "POST", srv.URL+"/v1/batch", key, secret, "acme", map[string]any{
				"requests":    []map[string]any{{"custom_id": "r1", "model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "hi"}}}},
				"webhook_url": hook.URL + "/batch-complete",
			}, &created)
			if st != http.StatusCreated {
				t.Fatalf("create: %d %v", st, created)
			}
			id, whsec := created["id"].(string), created["webhook_secret"].(string)
			var list struct {
				Data []struct {
					Attempt    int    `json:"attempt"`
					StatusCode int    `json:"status_code"`
					WebhookID  string `json:"webhook_id"`
				} `json:"data"`
			}
			batchWait(t, "every delivery attempt to be listed", func() bool {
				batchSFD(t, "GET", srv.URL+"/v1/batch/"+id+"/webhooks", key, secret, "acme", nil, &list)
				return len(list.Data) == len(tc.wantCodes)
			})
			time.Sleep(100 * time.Millisecond) // a further attempt would show now
			batchSFD(t, "GET", srv.URL+"/v1/batch/"+id+"/webhooks", key, secret, "acme", nil, &list)
			var codes []int
			for i, d := range list.Data {
				codes = append(codes, d.StatusCode)
				if d.Attempt != i+1 || d.WebhookID != "msg_"+id {
					t.Errorf("delivery %d = %+v", i, d)
				}
			}
			if fmt.Sprint(codes) != fmt.Sprint(tc.wantCodes) {
				t.Errorf("delivery statuses = %v; want %v", codes, tc.wantCodes)
			}
			wh, err := standardwebhooks.NewWebhook(whsec)
			if err != nil {
				t.Fatal(err)
			}
			got := recv.deliveries()
			if len(got) != len(tc.wantCodes) {
				t.Fatalf("receiver got %d deliveries; want %d", len(got), len(tc.wantCodes))
			}
			for i, d := range got {
				if err := wh.Verify(d.body, d.header); err != nil {
					t.Errorf("delivery %d: signature does not verify: %v", i, err)
				}
				var ev struct {
					Type string `json:"type"`
					Data struct {
						ID     string `json:"id"`
						Status string `json:"status"`
					} `json:"data"`
				}
				if err := json.Unmarshal(d.body, &ev); err != nil || ev.Type != "batch.completed" || ev.Data.ID != id || ev.Data.Status != "completed" {
					t.Errorf("delivery %d body = %s", i, d.body)
				}
			}
		})
	}
}

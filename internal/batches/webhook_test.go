package batches

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/llmservice/llmservice"
)

// The Standard Webhooks reference libraries' signing test vector.
func TestSignMatchesTheSpecVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s; want %s", got, want)
	}
}

// The reference Go verifier accepts what Sign produces with a fresh secret,
// and refuses a tampered body.
func TestSignVerifiesWithTheReferenceLibrary(t *testing.T) {
	secret := NewWebhookSecret()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(raw) != 24 {
		t.Fatalf("secret %q: %d bytes, %v; want whsec_ and 24 base64 bytes", secret, len(raw), err)
	}
	body := []byte(`{"type":"batch.completed","data":{"id":"batch_1"}}`)
	now := time.Now()
	sig, err := Sign(secret, "msg_batch_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_batch_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Errorf("reference verifier: %v", err)
	}
	if err := wh.Verify([]byte(`{"type":"batch.failed"}`), h); err == nil {
		t.Error("reference verifier accepted a tampered body")
	}
}

func TestSignRefusesABadSecret(t *testing.T) {
	if _, err := Sign("whsec_not base64!", "m", time.Now(), nil); err == nil {
		t.Error("Sign accepted a secret that is not base64")
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://yourapp.com/batch-complete", true},
		{"http://127.0.0.1:8080/hook", true},
		{"ftp://x/y", false},
		{"/relative", false},
		{"https://", false},
		{"::", false},
	} {
		if err := checkWebhookURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkWebhookURL(%q) = %v; want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestSFDStatus(t *testing.T) {
	cases := []struct {
		status llmservice.BatchStatus
		counts llmservice.TaskCounts
		want   string
	}{
		{llmservice.BatchInProgress, llmservice.TaskCounts{Queued: 3}, "pending"},
		{llmservice.BatchInProgress, llmservice.TaskCounts{Queued: 2, Running: 1}, "processing"},
		{llmservice.BatchInProgress, llmservice.TaskCounts{Queued: 2, Succeeded: 1}, "processing"},
		{llmservice.BatchFinalizing, llmservice.TaskCounts{}, "processing"},
		{llmservice.BatchCompleted, llmservice.TaskCounts{Succeeded: 3}, "completed"},
		{llmservice.BatchFailed, llmservice.TaskCounts{}, "failed"},
		{llmservice.BatchExpired, llmservice.TaskCounts{}, "failed"},
		{llmservice.BatchCancelling, llmservice.TaskCounts{Running: 1}, "cancelling"},
		{llmservice.BatchCancelled, llmservice.TaskCounts{Cancelled: 3}, "cancelled"},
	}
	for _, tc := range cases {
		if got := sfdStatus(&llmservice.Batch{Status: tc.status}, tc.counts); got != tc.want {
			t.Errorf("sfdStatus(%s, %+v) = %s; want %s", tc.status, tc.counts, got, tc.want)
		}
	}
}

func TestRenderLine(t *testing.T) {
	ok := &llmservice.Task{ID: "batch_req_1", Key: "a", State: llmservice.TaskSucceeded,
		Result: []byte(`{"status_code":200,"request_id":"req_1","body":{"id":"chatcmpl-1"},"prompt_tokens":3,"completion_tokens":4}`)}
	bad := &llmservice.Task{ID: "batch_req_2", Key: "b", State: llmservice.TaskFailed,
		Result: []byte(`{"status_code":404,"request_id":"req_2","body":{"error":{"message":"no model"}}}`)}
	expired := &llmservice.Task{ID: "batch_req_3", Key: "c", State: llmservice.TaskCancelled, Error: "batch_expired"}
	cases := []struct {
		task       *llmservice.Task
		wantLine   string
		wantFailed bool
	}{
		{ok, `{"id":"batch_req_1","custom_id":"a","response":{"status_code":200,"request_id":"req_1","body":{"id":"chatcmpl-1"}},"error":null}`, false},
		{bad, `{"id":"batch_req_2","custom_id":"b","response":{"status_code":404,"request_id":"req_2","body":{"error":{"message":"no model"}}},"error":null}`, true},
		{expired, `{"id":"batch_req_3","custom_id":"c","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`, true},
	}
	for _, tc := range cases {
		line, failed, _ := renderLine(tc.task)
		if got := strings.TrimSuffix(string(line), "\n"); got != tc.wantLine || failed != tc.wantFailed {
			t.Errorf("renderLine(%s) = %s, failed %v; want %s, %v", tc.task.ID, got, failed, tc.wantLine, tc.wantFailed)
		}
	}
	if _, _, res := renderLine(ok); res.PromptTokens != 3 || res.CompletionTokens != 4 {
		t.Errorf("renderLine tokens = %d, %d; want 3, 4", res.PromptTokens, res.CompletionTokens)
	}
}

package batches

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/queue"
)

// WebhookConfig tunes webhook delivery.
type WebhookConfig struct {
	// Client sends the webhooks; nil means one with Timeout that does not
	// follow redirects (a redirect is a failed delivery, retried) and
	// refuses loopback, link-local, private and unspecified addresses
	// outside Allow, checked on the address it connects to.
	Client *http.Client
	// Allow are the ranges webhooks may reach although they are not
	// public (LLMSERVICE_WEBHOOK_ALLOW_CIDRS).
	Allow []netip.Prefix
	// Timeout bounds one delivery (default 10s).
	Timeout time.Duration
	// Retries are the waits before each retry of a delivery the receiver
	// did not answer with 2xx; len(Retries)+1 attempts in all. Default:
	// 5s, 30s, 2m, 10m, 30m, about 43 minutes from first to last attempt.
	Retries []time.Duration

	once  sync.Once
	built *http.Client
}

// DefaultWebhookRetries is the default delivery schedule.
var DefaultWebhookRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

func (c *WebhookConfig) retries() []time.Duration {
	if c.Retries != nil {
		return c.Retries
	}
	return DefaultWebhookRetries
}

func (c *WebhookConfig) client() *http.Client {
	c.once.Do(func() {
		if c.Client != nil {
			c.built = c.Client
			return
		}
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		c.built = guardedClient(timeout, c.Allow)
	})
	return c.built
}

// secretPrefix starts a Standard Webhooks signing secret.
const secretPrefix = "whsec_"

// NewWebhookSecret returns "whsec_" and the base64 of 24 random bytes.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header value of a message as the
// Standard Webhooks specification defines it: "v1," and the base64
// HMAC-SHA256 of "<id>.<unix timestamp>.<body>", keyed with the secret's
// base64-decoded bytes after "whsec_".
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhook secret is not base64: %w", err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", msgID, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// checkWebhookURL accepts absolute http and https URLs.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return llmservice.InvalidParam("webhook_url", "webhook_url must be an absolute http or https URL")
	}
	return nil
}

// webhookPayload is what a delivery task carries; the body is built at
// each attempt from the batch, and signed with the batch's secret.
type webhookPayload struct {
	BatchID   string `json:"batch_id"`
	MessageID string `json:"message_id"`
	Event     string `json:"event"`
	URL       string `json:"url"`
}

// webhookEvent is the body POSTed to the receiver, in the Standard
// Webhooks event shape: type, timestamp, data.
type webhookEvent struct {
	Type      string   `json:"type"`
	Timestamp string   `json:"timestamp"`
	Data      sfdBatch `json:"data"`
}

// webhookTask is the delivery task of a batch that ends as status.
func (h *Handler) webhookTask(b *llmservice.Batch, status llmservice.BatchStatus) *llmservice.Task {
	p, _ := json.Marshal(webhookPayload{BatchID: b.ID, MessageID: "msg_" + b.ID, Event: "batch." + string(status), URL: b.WebhookURL})
	return &llmservice.Task{ID: "whk_" + b.ID, Kind: KindWebhook, TeamID: b.TeamID, KeyID: b.KeyID, Payload: p,
		MaxAttempts: len(h.Webhooks.retries()) + 1}
}

// runWebhook makes one delivery attempt and records it.
func (h *Handler) runWebhook(ctx context.Context, t *llmservice.Task) (queue.Outcome, error) {
	var p webhookPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return queue.Outcome{Failed: true, Error: "unreadable webhook task"}, nil
	}
	b, err := h.Store.FindBatchByID(ctx, t.TeamID, p.BatchID)
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return queue.Outcome{Failed: true, Error: "the batch no longer exists"}, nil
	}
	if err != nil {
		return queue.Outcome{}, err
	}
	counts, err := h.Store.CountTasks(ctx, b.TeamID, b.ID)
	if err != nil {
		return queue.Outcome{}, err
	}
	now := h.now()
	body, err := json.Marshal(webhookEvent{Type: p.Event, Timestamp: now.UTC().Format(time.RFC3339), Data: newSFDBatch(b, counts)})
	if err != nil {
		return queue.Outcome{}, err
	}
	sig, err := Sign(b.WebhookSecret, p.MessageID, now, body)
	if err != nil {
		return queue.Outcome{Failed: true, Error: err.Error()}, nil
	}
	d := &llmservice.WebhookDelivery{TeamID: t.TeamID, BatchID: b.ID, MessageID: p.MessageID, Attempt: t.Attempts, URL: p.URL, Time: now}
	status, sendErr := h.deliver(ctx, p.URL, p.MessageID, now, sig, body)
	d.StatusCode, d.DurationMS = status, int(h.now().Sub(now).Milliseconds())
	if sendErr != nil {
		d.Error = sendErr.Error()
	}
	if err := h.Store.InsertWebhookDelivery(ctx, d); err != nil {
		h.log().Error("batches: recording a webhook delivery failed", "batch", b.ID, "err", err)
	}
	if sendErr == nil {
		res, _ := json.Marshal(map[string]int{"status_code": status, "attempts": t.Attempts})
		return queue.Outcome{Result: res}, nil
	}
	if ctx.Err() != nil {
		return queue.Outcome{}, ctx.Err()
	}
	if r := h.Webhooks.retries(); t.Attempts-1 < len(r) {
		return queue.Outcome{}, queue.RetryAfter(r[t.Attempts-1], sendErr)
	}
	return queue.Outcome{}, sendErr
}

// deliver POSTs a signed event; any answer but 2xx is an error.
func (h *Handler) deliver(ctx context.Context, target, msgID string, ts time.Time, sig string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "llmservice-webhooks/1")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.Webhooks.client().Do(req)
	if err != nil {
		return 0, deliveryError(ctx, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func (h *Handler) giveUpWebhook(t *llmservice.Task, err error) queue.Outcome {
	h.log().Warn("batches: webhook delivery abandoned", "task", t.ID, "attempts", t.Attempts, "err", err)
	return queue.Outcome{Failed: true, Error: err.Error()}
}

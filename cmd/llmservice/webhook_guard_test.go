package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A batch's webhook_url may not reach the gateway's own host, metadata
// addresses or private hosts unless the operator allows the range, and the
// delivery record says "refused" (never the dialer's text, which would make
// webhooks a port scanner).
func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	batchFastQueue(t)
	t.Setenv("LLMSERVICE_WEBHOOK_RETRIES", "10ms")
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer hook.Close()
	type delivery struct {
		StatusCode int    `json:"status_code"`
		Error      string `json:"error"`
	}
	send := func(t *testing.T, srv *testServer, url string) []delivery {
		t.Helper()
		_, key, secret := newKey(t, srv.URL, "hooks", nil)
		var created map[string]any
		if st := batchSFD(t, "POST", srv.URL+"/v1/batch", key, secret, "hooks", map[string]any{
			"requests":    []map[string]any{{"custom_id": "r1", "model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "hi"}}}},
			"webhook_url": url,
		}, &created); st != http.StatusCreated {
			t.Fatalf("create: %d %v", st, created)
		}
		id := created["id"].(string)
		var list struct{ Data []delivery }
		batchWait(t, "the delivery attempts to be listed", func() bool {
			batchSFD(t, "GET", srv.URL+"/v1/batch/"+id+"/webhooks", key, secret, "hooks", nil, &list)
			return len(list.Data) == 2 || len(list.Data) == 1 && list.Data[0].StatusCode == 200
		})
		return list.Data
	}

	t.Run("RefusedByDefault", func(t *testing.T) {
		srv := startServer(t, nil)
		for _, url := range []string{hook.URL + "/hook", "http://169.254.169.254/latest/meta-data/", "http://localhost:8080/admin/teams"} {
			for _, d := range send(t, srv, url) {
				if d.StatusCode != 0 || d.Error != "refused" {
					t.Errorf("delivery to %s = %+v; want refused", url, d)
				}
			}
		}
		if hits.Load() != 0 {
			t.Errorf("the loopback receiver was reached %d times", hits.Load())
		}
	})
	t.Run("DeliveredWhenAllowed", func(t *testing.T) {
		srv := startServer(t, map[string]string{"LLMSERVICE_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8"})
		if got := send(t, srv, hook.URL+"/hook"); len(got) != 1 || got[0].StatusCode != 200 || got[0].Error != "" {
			t.Errorf("deliveries = %+v; want one, 200", got)
		}
		if hits.Load() != 1 {
			t.Errorf("receiver hit %d times; want 1", hits.Load())
		}
		// The allowed range is loopback only: metadata stays refused.
		for _, d := range send(t, srv, "http://169.254.169.254/latest/meta-data/") {
			if d.Error != "refused" {
				t.Errorf("delivery to the metadata address = %+v; want refused", d)
			}
		}
	})
}

package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Past LLMSERVICE_AUTH_FAILURES_PER_MINUTE failed authentications from one
// address in a minute (wrong keys, secrets, admin keys, passwords), that
// address gets 429 with Retry-After; other addresses are not touched, and a
// username gets half as many wrong passwords from any number of addresses.
func TestAuthFailureThrottle(t *testing.T) {
	srv := startServer(t, map[string]string{"LLMSERVICE_AUTH_FAILURES_PER_MINUTE": "20", "LLMSERVICE_TRUSTED_PROXIES": "127.0.0.0/8"})
	_, key, _ := newKey(t, srv.URL, "thr", nil)
	type attempt struct {
		method, path, body string
		header             map[string]string
	}
	from := func(ip string, a attempt) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(a.method, srv.URL+a.path, strings.NewReader(a.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ip)
		for k, v := range a.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header, b.String()
	}
	chat := `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`
	wrongKey := attempt{"POST", "/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer sk-wrong"}}
	goodKey := attempt{"POST", "/v1/chat/completions", chat, map[string]string{"Authorization": "Bearer " + key}}
	cases := []struct {
		name, ip string
		wrong    attempt
	}{
		{"bearer key", "203.0.113.1", wrongKey},
		{"secret key", "203.0.113.2", attempt{"POST", "/v1/completions", chat,
			map[string]string{"x-api-key": key, "x-secret-key": "sks-wrong", "x-tenant-id": "thr", "x-project-id": "p"}}},
		{"admin key", "203.0.113.3", attempt{"GET", "/admin/teams", "", map[string]string{"Authorization": "Bearer sk-admin-wrong"}}},
		// A new username each time, so that the address's count is tested,
		// not the username's.
		{"password", "203.0.113.4", attempt{"POST", "/api/token/", `{"username":"nobody{i}","password":"wrong"}`, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 20 {
				a := tc.wrong
				a.body = strings.ReplaceAll(a.body, "{i}", strconv.Itoa(i))
				if st, _, b := from(tc.ip, a); st != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d %s; want 401", i+1, st, b)
				}
			}
			st, h, b := from(tc.ip, tc.wrong)
			ra, err := strconv.Atoi(h.Get("Retry-After"))
			if st != http.StatusTooManyRequests || err != nil || ra < 1 || ra > 60 {
				t.Errorf("21st failure: %d Retry-After %q %s; want 429 with Retry-After of at most 60 s", st, h.Get("Retry-After"), b)
			}
			// Another address is not slowed by this one's failures.
			if st, _, b := from("198.51.100."+tc.ip[len(tc.ip)-1:], goodKey); st != http.StatusOK {
				t.Errorf("a valid key from another address: %d %s", st, b)
			}
		})
	}

	// A username: 10 wrong passwords, each from its own address, then the
	// right one is refused too until the minute has passed.
	signup := `{"username":"victim","password":"Tr0ubadour-victim-horse"}`
	if st, _, b := from("192.0.2.1", attempt{"POST", "/api/signup/", signup, nil}); st != http.StatusCreated {
		t.Fatalf("signup: %d %s", st, b)
	}
	for i := range 10 {
		if st, _, b := from("192.0.2."+strconv.Itoa(10+i), attempt{"POST", "/api/token/", `{"username":"victim","password":"guess` + strconv.Itoa(i) + `"}`, nil}); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s", i+1, st, b)
		}
	}
	st, h, b := from("192.0.2.99", attempt{"POST", "/api/token/", signup, nil})
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(b, "Request was throttled. Expected available in") {
		t.Errorf("login after 10 wrong passwords: %d %q %s; want DRF's 429", st, h.Get("Retry-After"), b)
	}
	if st, _, b := from("192.0.2.100", attempt{"POST", "/api/token/", `{"username":"someone_else","password":"whatever1"}`, nil}); st != http.StatusUnauthorized {
		t.Errorf("another username: %d %s; want 401 (not throttled)", st, b)
	}
}

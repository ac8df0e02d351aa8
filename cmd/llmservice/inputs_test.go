package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
)

// randomLetters returns n random lowercase letters: names no cache has seen.
func randomLetters(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(rand.IntN(26))
	}
	return string(b)
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A tenant sending huge model names gets 400s naming the field, and leaves
// neither the heap nor the database bigger: nothing is cached or recorded
// under a name over the limit. (On main: all 200, +207 MiB of heap for good
// and a 420 MB SQLite file.)
func TestHugeModelNamesLeaveHeapAndDatabaseUnchanged(t *testing.T) {
	url := testDatabaseURL(t, "llmservice.db")
	srv := startServer(t, map[string]string{"LLMSERVICE_DATABASE_URL": url})
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	const normal = 3
	for range normal {
		if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 200 {
			t.Fatalf("warm-up call: %d", st)
		}
	}
	before := heapInUse()
	const calls = 200
	for i := range calls {
		name := "mock/" + randomLetters(512<<10)
		body, _ := json.Marshal(map[string]any{"model": name, "messages": []map[string]string{{"role": "user", "content": "hi"}}})
		st, b := sfdDo(t, "POST", srv.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + key}, string(body))
		var e struct{ Error struct{ Param string } }
		_ = json.Unmarshal(b, &e)
		if st != 400 || e.Error.Param != "model" {
			t.Fatalf("call %d with a 512 KiB model name: %d %.200s; want 400 naming model", i, st, b)
		}
	}
	after := heapInUse()
	const slack = 16 << 20 // generous: the leak was 207 MiB
	if after > before+slack {
		t.Errorf("heap grew from %d to %d MiB over %d calls with huge names", before>>20, after>>20, calls)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t, url)
	recs, _, err := db.FindUsageRecords(context.Background(), llmservice.RecordFilter{TeamID: "acme", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != normal {
		t.Errorf("usage rows = %d; want the %d normal calls only", len(recs), normal)
	}
	if !onPostgres() {
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(url + suffix); err == nil {
				size += fi.Size()
			}
		}
		if size > 32<<20 {
			t.Errorf("SQLite file and WAL hold %d MiB after %d refused calls", size>>20, calls)
		}
	}
}

// Every dialect refuses a label over its limit with its own 4xx, naming
// the field as the caller wrote it, before anything is resolved or kept.
func TestLabelsOverTheirLimitAreRefusedInEveryDialect(t *testing.T) {
	srv := startServer(t, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	bearer := map[string]string{"Authorization": "Bearer " + key}
	long := "mock/" + randomLetters(300)
	msgs := `[{"role":"user","content":"hi"}]`
	var job struct {
		JobID string `json:"job_id"`
	}
	if st := do(t, "POST", srv.URL+"/api/jobs/create", key, map[string]any{"team_id": "acme", "job_type": "test"}, &job); st != 200 {
		t.Fatalf("create job: %d", st)
	}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range h {
			out[a] = b
		}
		return out
	}
	tests := []struct {
		name, path string
		header     map[string]string
		body       string
		status     int
		want       string // a fragment of the answer naming the field
	}{
		{"openai chat model", "/v1/chat/completions", bearer, `{"model":"` + long + `","messages":` + msgs + `}`, 400, `"param":"model"`},
		{"openai embeddings model", "/v1/embeddings", bearer, `{"model":"` + long + `","input":"hi"}`, 400, `"param":"model"`},
		{"openai project header", "/v1/chat/completions", with(bearer, "X-Project-Id", randomLetters(300)),
			`{"model":"mock/echo","messages":` + msgs + `}`, 400, `"param":"X-Project-Id"`},
		{"openai purpose header", "/v1/chat/completions", with(bearer, "X-Purpose", randomLetters(300)),
			`{"model":"mock/echo","messages":` + msgs + `}`, 400, `"param":"X-Purpose"`},
		{"athena chat model", "/api/v1/chat/completions", bearer, `{"model":"` + long + `","messages":` + msgs + `}`, 400, `"model"`},
		{"athena conversation model", "/api/v1/conversations", bearer, `{"model":"` + long + `"}`, 400, `"model"`},
		{"athena conversation metadata", "/api/v1/conversations", bearer,
			`{"model":"mock/echo","metadata":{"project":"` + randomLetters(300) + `"}}`, 400, `metadata.project`},
		{"athena conversation metadata size", "/api/v1/conversations", bearer,
			`{"model":"mock/echo","metadata":{"notes":"` + randomLetters(20<<10) + `"}}`, 400, `"metadata"`},
		{"llmendpoint model", "/api/v1/completions", map[string]string{"Authorization": key},
			`{"model":"` + long + `","messages":` + msgs + `,"max_tokens":5}`, 400, `"param":"model"`},
		{"jobs model_group", "/api/jobs/" + job.JobID + "/llm-call", bearer,
			`{"model_group":"` + long + `","messages":` + msgs + `}`, 422, `"loc":["body","model_group"]`},
		{"jobs purpose", "/api/jobs/" + job.JobID + "/llm-call", bearer,
			`{"model_group":"g","purpose":"` + randomLetters(300) + `","messages":` + msgs + `}`, 422, `"loc":["body","purpose"]`},
		{"jobs user_id", "/api/jobs/create", bearer,
			`{"team_id":"acme","job_type":"t","user_id":"` + randomLetters(300) + `"}`, 422, `"loc":["body","user_id"]`},
		{"jobs metadata", "/api/jobs/create", bearer,
			`{"team_id":"acme","job_type":"t","metadata":{"a":"` + randomLetters(20<<10) + `"}}`, 422, `"loc":["body","metadata"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b := sfdDo(t, "POST", srv.URL+tt.path, tt.header, tt.body)
			if st != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("POST %s = %d %.300s; want %d naming %s", tt.path, st, b, tt.status, tt.want)
			}
		})
	}
}

// The x-llmservice-model header never carries a client's bytes raw.
func TestServedModelHeaderIsEscaped(t *testing.T) {
	srv := startServer(t, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	st, h := chatRaw(t, srv.URL, key, "mock/é\x01x", nil)
	if st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if got, want := h.Get("X-Llmservice-Model"), "%C3%A9%01x"; got != want {
		t.Errorf("x-llmservice-model = %q; want %q", got, want)
	}
}

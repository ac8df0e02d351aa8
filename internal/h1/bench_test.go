package h1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkRoundTrip compares net/http's Transport with this one on a small
// JSON POST to a local server, read whole. The server's cost is in both
// rows; allocs/op is the repeatable figure, ns/op depends on the machine's
// load, cpu-ns/op (the process's CPU time per request, client and server)
// less so.
func BenchmarkRoundTrip(b *testing.B) {
	const answer = `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	const body = `{"model":"m","messages":[{"role":"user","content":"Say hello."}]}`
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"net/http", &http.Transport{MaxIdleConnsPerHost: 256}},
		{"h1", newTransport()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			defer tc.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer sk-x")
				resp, err := tc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(len(answer)) {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

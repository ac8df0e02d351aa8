package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/llm"
)

func TestParseCacheAsk(t *testing.T) {
	tests := []struct {
		cc, ttl string
		want    CacheAsk
		bad     bool
	}{
		{"", "", CacheAsk{}, false},
		{"no-cache", "", CacheAsk{NoCache: true}, false},
		{"max-age=0, No-Store", "", CacheAsk{NoStore: true}, false},
		{"", "600", CacheAsk{TTL: 10 * time.Minute}, false},
		{"", "1h", CacheAsk{TTL: time.Hour}, false},
		{"", "-5", CacheAsk{}, true},
		{"", "soon", CacheAsk{}, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Cache-Control", tt.cc)
		h.Set("X-Llmservice-Cache-Ttl", tt.ttl)
		got, err := ParseCacheAsk(h.Get)
		if (err != nil) != tt.bad || (err == nil && *got != tt.want) {
			t.Errorf("%q %q: %+v, %v; want %+v (error %v)", tt.cc, tt.ttl, got, err, tt.want, tt.bad)
		}
	}
}

func FuzzParseCacheAsk(f *testing.F) {
	f.Add("no-cache, no-store", "10m")
	f.Add("", "99999999999999999999")
	f.Fuzz(func(t *testing.T, cc, ttl string) {
		h := http.Header{"Cache-Control": {cc}, "X-Llmservice-Cache-Ttl": {ttl}}
		a, err := ParseCacheAsk(h.Get)
		if err == nil && a.TTL < 0 {
			t.Fatalf("negative TTL %v from %q", a.TTL, ttl)
		}
	})
}

// fixedProvider answers every chat with the same text.
type fixedProvider struct{}

func (fixedProvider) Chat(_ context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	return &llm.ChatResponse{ID: "x", Model: req.Model, Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "a fixed answer of a few words"),
		FinishReason: llm.FinishStop}}, Usage: llm.Usage{PromptTokens: 10, CompletionTokens: 7}, HasUsage: true}, nil
}

func (fixedProvider) ChatStream(context.Context, *llm.ChatRequest) (llm.Stream, error) {
	return nil, llmservice.Errorf(llmservice.Invalid, "no streams")
}

type nopMeter struct{}

func (nopMeter) Record(llmservice.UsageRecord) {}

// BenchmarkResponseCache compares a call the cache answers (hit), a call
// it misses and keeps (miss), and the same call with the cache off (off),
// against an in-process upstream that costs nothing: the figures are the
// gateway's own work.
func BenchmarkResponseCache(b *testing.B) {
	for _, bc := range []struct {
		name   string
		policy *llmservice.CachePolicy
		same   bool // the same request every time
	}{
		{"off", nil, false},
		{"miss", &llmservice.CachePolicy{TTL: "1h"}, false},
		{"hit", &llmservice.CachePolicy{TTL: "1h"}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			team := &llmservice.Team{ID: "t", Cache: bc.policy}
			st := &memStores{team: team, keys: map[string]*llmservice.Key{}}
			g, err := New(context.Background(), Config{
				Instances: []Instance{{Name: "fixed", Family: "openai", Hosts: []llm.Provider{fixedProvider{}}, Models: []string{"m"}}},
				Stores:    Stores{Keys: st, Teams: st, Catalog: st},
				Meter:     nopMeter{},
				Cache:     cache.NewMemory(0, nil),
				Logger:    slog.New(slog.DiscardHandler),
			})
			if err != nil {
				b.Fatal(err)
			}
			p := &Principal{Key: &llmservice.Key{ID: "k", TeamID: "t"}, Team: team}
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				text := "a question that is asked again and again"
				if !bc.same {
					text += strconv.Itoa(i)
				}
				c := &Call{Principal: p, Endpoint: "chat", Model: "fixed/m", Cache: &CacheAsk{}}
				if _, err := g.Chat(ctx, c, &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per call (the process's, GC included): on a shared
			// machine it varies far less than ns/op, which counts the time
			// the benchmark waited for a core.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestPolicyTTL: the most specific policy set wins (key, team, model), and
// a TTL of 0 on a key or team keeps the cache off whatever the model says.
func TestPolicyTTL(t *testing.T) {
	on := func(ttl string) *llmservice.CachePolicy { return &llmservice.CachePolicy{TTL: ttl} }
	tests := []struct {
		name             string
		key, team, model *llmservice.CachePolicy
		want             time.Duration
	}{
		{"none", nil, nil, nil, 0},
		{"model", nil, nil, on("1h"), time.Hour},
		{"team over model", nil, on("10m"), on("1h"), 10 * time.Minute},
		{"key over team", on("1m"), on("10m"), on("1h"), time.Minute},
		{"team off over model", nil, on("0s"), on("1h"), 0},
		{"key off over team", on("0s"), on("10m"), nil, 0},
	}
	for _, tt := range tests {
		p := &Principal{Key: &llmservice.Key{Cache: tt.key}, Team: &llmservice.Team{Cache: tt.team}}
		plan := &Plan{Targets: []*target{{Entry: &llmservice.Model{Cache: tt.model}}}}
		if got := policyTTL(p, plan); got != tt.want {
			t.Errorf("%s: %v; want %v", tt.name, got, tt.want)
		}
	}
}

// processCPU returns the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

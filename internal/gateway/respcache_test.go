package gateway

import (
	"net/http"
	"testing"
	"time"
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

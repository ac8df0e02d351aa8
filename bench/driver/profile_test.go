package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGoPackage(t *testing.T) {
	tests := []struct{ sym, want string }{
		{"runtime.mallocgc", "runtime"},
		{"net/http.(*conn).serve", "net/http"},
		{"encoding/json.(*decodeState).object", "encoding/json"},
		{"github.com/llmservice/llmservice/internal/gateway.(*Gateway).Chat", "internal/gateway"},
		{"github.com/llmservice/llmservice.HashSecret", "github.com/llmservice/llmservice"},
		{"slices.pdqsortCmpFunc[go.shape.struct { net/http.x int }]", "slices"},
		{"sync/atomic.(*Pointer[go.shape.struct { a/b.T }]).Load", "sync/atomic"},
		{"internal/runtime/syscall.Syscall6", "internal/runtime/syscall"},
		{"[kernel]", "kernel"},
		{"aeshashbody", "runtime (assembly)"},
		{"__vdso_clock_gettime", "vdso (clock reads)"},
		{"0x00007f12", "unknown"},
	}
	for _, tt := range tests {
		if got := goPackage(tt.sym); got != tt.want {
			t.Errorf("goPackage(%q) = %q; want %q", tt.sym, got, tt.want)
		}
	}
}

func TestByPackage(t *testing.T) {
	lines := []string{
		"    10.50%   105  [.] runtime.mallocgc",
		"     4.50%  [.] runtime.scanobject",
		"     6.00%  [k] do_syscall_64",
		"     2.00%  [.] encoding/json.(*encodeState).string",
		"not a line",
	}
	want := []pkgShare{{"runtime", 15}, {"kernel", 6}, {"encoding/json", 2}}
	if diff := cmp.Diff(want, byPackage(lines), cmp.AllowUnexported(pkgShare{})); diff != "" {
		t.Errorf("byPackage mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFlatLine(t *testing.T) {
	tests := []struct {
		line    string
		pct     float64
		sym     string
		samples int
		ok      bool
	}{
		{"     6.20%           184  [k] _raw_spin_unlock_irqrestore", 6.2, "[kernel]", 184, true},
		{"     2.59%  [.] runtime.(*mheap).alloc", 2.59, "runtime.(*mheap).alloc", 0, true},
		{"     0.53%    16  [.] internal/sync.(*HashTrieMap[go.shape.interface {},go.shape.interface {}]).Load", 0.53,
			"internal/sync.(*HashTrieMap[go.shape.interface {},go.shape.interface {}]).Load", 16, true},
		{"# Overhead  Samples  Symbol", 0, "", 0, false},
		{"    12.00%", 0, "", 0, false},
	}
	for _, tt := range tests {
		pct, sym, n, ok := parseFlatLine(tt.line)
		if pct != tt.pct || sym != tt.sym || n != tt.samples || ok != tt.ok {
			t.Errorf("parseFlatLine(%q) = %v, %q, %d, %v; want %v, %q, %d, %v", tt.line, pct, sym, n, ok, tt.pct, tt.sym, tt.samples, tt.ok)
		}
	}
}

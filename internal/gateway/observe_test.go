package gateway

import (
	"context"
	"strconv"
	"testing"

	"github.com/llmservice/llmservice"
)

// catalogStores serves a fixed catalog and model groups.
type catalogStores struct {
	memStores
	models []*llmservice.Model
	groups []*llmservice.ModelGroup
}

func (c *catalogStores) FindModels(context.Context) ([]*llmservice.Model, error) {
	return c.models, nil
}
func (c *catalogStores) FindModelGroups(context.Context) ([]*llmservice.ModelGroup, error) {
	return c.groups, nil
}

// Metrics label models only with names the operator configured, so that
// names clients invent cannot grow the series.
func TestModelLabel(t *testing.T) {
	st := &catalogStores{
		models: []*llmservice.Model{{Name: "house", Provider: "mock", UpstreamModel: "echo"}},
		groups: []*llmservice.ModelGroup{{Name: "fast", Models: []string{"house"}}},
	}
	g, err := New(context.Background(), Config{
		Stores: Stores{Keys: st, Teams: st, Catalog: st, Groups: st},
		Instances: []Instance{{Name: "mock", Family: "mock", Models: []string{"echo"}},
			{Name: "openai", Family: "openai"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"house", "house"},
		{"fast", "fast"},
		{"mock/echo", "mock/echo"},
		{"mock/made-up", "other"},
		{"nobody/echo", "other"},
		{"gpt-4o", "gpt-4o"},
		{"gpt-made-up-2099", "other"},
		{"claude-3-haiku", "other"}, // anthropic is not configured
		{"", "other"},
		{"anything at all", "other"},
	}
	for _, tt := range tests {
		if got := g.ModelLabel(tt.name); got != tt.want {
			t.Errorf("ModelLabel(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// Priced well-known names get labels of their own up to maxLabelModels.
func TestModelLabelBounded(t *testing.T) {
	g, err := New(context.Background(), Config{Stores: Stores{Keys: &memStores{}, Teams: &memStores{}, Catalog: &memStores{}},
		Instances: []Instance{{Name: "openai", Family: "openai"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.labels.n.Store(maxLabelModels)
	if got := g.ModelLabel("gpt-4o"); got != "other" {
		t.Errorf("ModelLabel(gpt-4o) with the label set full = %q; want other", got)
	}
	for i := range 3 {
		if got := g.ModelLabel("gpt-4o-" + strconv.Itoa(i)); got != "other" {
			t.Errorf("ModelLabel(gpt-4o-%d) = %q; want other", i, got)
		}
	}
}

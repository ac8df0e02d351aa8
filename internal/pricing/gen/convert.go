package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Input: the parts of the genai-prices schema the gateway uses.

type inProvider struct {
	ID         string          `json:"id"`
	ModelMatch json.RawMessage `json:"model_match"`
	Fallback   []string        `json:"fallback_model_providers"`
	Models     []inModel       `json:"models"`
}

type inModel struct {
	ID            string          `json:"id"`
	Match         json.RawMessage `json:"match"`
	ContextWindow int             `json:"context_window"`
	// Prices is a ModelPrice object or a list of ConditionalPrice.
	Prices json.RawMessage `json:"prices"`
}

type inConditional struct {
	Constraint map[string]string          `json:"constraint"`
	Prices     map[string]json.RawMessage `json:"prices"`
}

// Output: the compact file read by package pricing. Its types there mirror
// these; keep the two in step.

type outFile struct {
	Source    string        `json:"source"`
	Providers []outProvider `json:"providers"`
}

type outProvider struct {
	ID         string     `json:"id"`
	ModelMatch *match     `json:"model_match,omitempty"`
	Fallback   []string   `json:"fallback,omitempty"`
	Models     []outModel `json:"models"`
}

type outModel struct {
	ID      string     `json:"id"`
	Match   match      `json:"match"`
	Context int        `json:"ctx,omitempty"`
	Prices  []outPrice `json:"prices"`
}

// outPrice is one price in USD per million tokens. From, when set, is the
// first day (UTC) it applies; the last entry whose day has come wins.
type outPrice struct {
	From      string  `json:"from,omitempty"`
	In        float64 `json:"in"`
	Out       float64 `json:"out"`
	CacheRead float64 `json:"cache_read,omitempty"`
}

// match is one match clause; exactly one field is set. Literal patterns are
// lowercased because lookups lowercase the model name.
type match struct {
	Equals     string  `json:"equals,omitempty"`
	StartsWith string  `json:"starts_with,omitempty"`
	EndsWith   string  `json:"ends_with,omitempty"`
	Contains   string  `json:"contains,omitempty"`
	Regex      string  `json:"regex,omitempty"`
	Or         []match `json:"or,omitempty"`
	And        []match `json:"and,omitempty"`
}

// generate converts genai-prices data to the compact form. Output has one
// model per line so that a price update reads well in a diff.
func generate(src []byte) ([]byte, error) {
	var providers []inProvider
	if err := json.Unmarshal(src, &providers); err != nil {
		return nil, err
	}
	f := outFile{Source: "genai-prices"}
	for _, p := range providers {
		op, err := convertProvider(p)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", p.ID, err)
		}
		f.Providers = append(f.Providers, op)
	}
	return encode(f)
}

func convertProvider(p inProvider) (outProvider, error) {
	op := outProvider{ID: p.ID, Fallback: p.Fallback}
	if len(p.ModelMatch) > 0 {
		m, err := convertMatch(p.ModelMatch)
		if err != nil {
			return op, fmt.Errorf("model_match: %w", err)
		}
		op.ModelMatch = &m
	}
	for _, m := range p.Models {
		om, err := convertModel(m)
		if err != nil {
			return op, fmt.Errorf("model %s: %w", m.ID, err)
		}
		op.Models = append(op.Models, om)
	}
	return op, nil
}

func convertModel(m inModel) (outModel, error) {
	om := outModel{ID: m.ID, Context: m.ContextWindow}
	var err error
	if om.Match, err = convertMatch(m.Match); err != nil {
		return om, fmt.Errorf("match: %w", err)
	}
	if om.Prices, err = convertPrices(m.Prices); err != nil {
		return om, fmt.Errorf("prices: %w", err)
	}
	return om, nil
}

// convertMatch handles every clause form of the schema (equals, starts_with,
// ends_with, contains, regex, or, and) and fails on anything else, so that a
// schema change breaks generation instead of silently matching nothing.
func convertMatch(raw json.RawMessage) (match, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return match{}, err
	}
	if len(obj) != 1 {
		return match{}, fmt.Errorf("clause has %d keys, want 1", len(obj))
	}
	for k, v := range obj {
		switch k {
		case "or", "and":
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				return match{}, fmt.Errorf("%s: %w", k, err)
			}
			subs := make([]match, 0, len(items))
			for _, it := range items {
				s, err := convertMatch(it)
				if err != nil {
					return match{}, err
				}
				subs = append(subs, s)
			}
			if k == "or" {
				return match{Or: subs}, nil
			}
			return match{And: subs}, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return match{}, fmt.Errorf("%s: %w", k, err)
		}
		if s == "" {
			return match{}, fmt.Errorf("%s: empty pattern", k)
		}
		lower := strings.ToLower(s)
		switch k {
		case "equals":
			return match{Equals: lower}, nil
		case "starts_with":
			return match{StartsWith: lower}, nil
		case "ends_with":
			return match{EndsWith: lower}, nil
		case "contains":
			return match{Contains: lower}, nil
		case "regex":
			// genai-prices uses Python's re.search; Go's RE2 lacks
			// look-arounds and back-references, so check it compiles here.
			if _, err := regexp.Compile(s); err != nil {
				return match{}, fmt.Errorf("regex %q: %w", s, err)
			}
			return match{Regex: s}, nil
		}
		return match{}, fmt.Errorf("unknown clause %q", k)
	}
	panic("unreachable")
}

// convertPrices turns a ModelPrice or a list of ConditionalPrice into a
// schedule. genai-prices tries conditional prices last to first and uses the
// first active one (the first entry if none is active):
//   - start_date entries are kept with their day, and package pricing picks
//     the one in force at lookup time;
//   - time-of-day entries (DeepSeek's off-peak discount) are treated as always
//     active: the gateway charges the standard rate, which is the later,
//     higher one in the data, rather than model daily windows;
//   - an always-active entry hides every entry before it, so those are dropped.
func convertPrices(raw json.RawMessage) ([]outPrice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var conds []inConditional
		if err := json.Unmarshal(raw, &conds); err != nil {
			return nil, err
		}
		if len(conds) == 0 {
			return nil, fmt.Errorf("empty price list")
		}
		var out []outPrice
		for i, c := range conds {
			p, err := convertPrice(c.Prices)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			switch {
			case c.Constraint["start_date"] != "":
				d := c.Constraint["start_date"]
				if _, err := time.Parse(time.DateOnly, d); err != nil {
					return nil, fmt.Errorf("[%d]: start_date: %w", i, err)
				}
				p.From = d
			case len(c.Constraint) == 0:
				out = out[:0]
			case c.Constraint["start_time"] != "" && c.Constraint["end_time"] != "":
				out = out[:0]
			default:
				return nil, fmt.Errorf("[%d]: unknown constraint %v", i, c.Constraint)
			}
			if n := len(out); n > 0 && sameRates(out[n-1], p) {
				continue // a dated entry that changes nothing (a tier dropped)
			}
			out = append(out, p)
		}
		return out, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	p, err := convertPrice(obj)
	if err != nil {
		return nil, err
	}
	return []outPrice{p}, nil
}

func sameRates(a, b outPrice) bool {
	return a.In == b.In && a.Out == b.Out && a.CacheRead == b.CacheRead
}

// convertPrice reads the text token prices of one ModelPrice. Prices of other
// modalities, cache writes and per-request fees are not kept: llm.Usage does
// not count them.
func convertPrice(obj map[string]json.RawMessage) (outPrice, error) {
	var p outPrice
	for _, f := range []struct {
		dst   *float64
		names []string // preferred first
	}{
		{&p.In, []string{"input_mtok", "input_text_mtok"}},
		{&p.Out, []string{"output_mtok", "output_text_mtok"}},
		{&p.CacheRead, []string{"cache_read_mtok", "cache_text_read_mtok"}},
	} {
		for _, name := range f.names {
			v, ok := obj[name]
			if !ok {
				continue
			}
			x, err := basePrice(v)
			if err != nil {
				return p, fmt.Errorf("%s: %w", name, err)
			}
			*f.dst = x
			break
		}
	}
	return p, nil
}

// basePrice reads a plain number or, for TieredPrices, the base tier: tiers
// start at 128k-200k prompt tokens, far above the usual request.
func basePrice(v json.RawMessage) (float64, error) {
	var x float64
	if err := json.Unmarshal(v, &x); err != nil {
		var t struct {
			Base *float64 `json:"base"`
		}
		if err2 := json.Unmarshal(v, &t); err2 != nil || t.Base == nil {
			return 0, fmt.Errorf("neither a number nor tiered prices: %s", v)
		}
		x = *t.Base
	}
	if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("bad price %v", x)
	}
	// Drop float noise such as 0.18000000000000002; package pricing works in
	// pico-dollars per token, that is 1e-6 USD per million tokens.
	return math.Round(x*1e9) / 1e9, nil
}

func encode(f outFile) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\"source\":%q,\"providers\":[\n", f.Source)
	for i, p := range f.Providers {
		models := p.Models
		p.Models = nil
		head, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		// Reopen the provider object to append its models one per line.
		head = bytes.TrimSuffix(head, []byte("}"))
		head = bytes.TrimSuffix(head, []byte(`,"models":null`))
		b.Write(head)
		b.WriteString(",\"models\":[\n")
		for j, m := range models {
			line, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			b.Write(line)
			if j < len(models)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("]}")
		if i < len(f.Providers)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}

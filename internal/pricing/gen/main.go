// Command gen turns the genai-prices data file into the compact prices.json
// that package pricing embeds. It keeps, per provider, the model match rules,
// the input, output and cache-read prices per million tokens, and the context
// window; everything else (usage extractors, audio prices, descriptions) is
// dropped so the binary stays small.
//
// Run it through go generate in internal/pricing:
//
//	go run ./gen -in ../../../shared/data/genai-prices.json -out prices.json
//
// Input schema: https://github.com/pydantic/genai-prices (prices/data.schema.json).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "", "genai-prices data file (JSON)")
	out := flag.String("out", "prices.json", "compact output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" {
		return fmt.Errorf("-in is required")
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, err := generate(src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, b, 0o644)
}

package tokens

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// direct counts text in one call, as tiktoken-go would without chunking.
func direct(e *encoder, text string) int {
	return len(e.get().EncodeOrdinary(text))
}

// TestChunkingKeepsCount checks that cutting text at " word" boundaries
// gives exactly the count of one tiktoken-go call, on fixed and random
// texts, for both encodings.
func TestChunkingKeepsCount(t *testing.T) {
	texts := []string{
		strings.Repeat("The quick brown fox jumps over the lazy dog. ", 30),
		strings.Repeat("It's what they'd've said, isn't it? You're 'quoted' here. ", 20),
		strings.Repeat("func main() {\n\tfmt.Println(\"hello\")   // comment\n\tx := a[i] + 12345\n}\n", 20),
		strings.Repeat("Ünïcödé wörds, привет мир, γειά σου κόσμε, ça va très bien. ", 20),
		strings.Repeat("spaces   before  words\t\tand\r\nnewlines \n word\u00a0 nbsp  ", 25),
		strings.Repeat("x.\n y \t z\r\n\r\n  w\u3000 v\u00a0\u00a0 u ' t", 40),
		strings.Repeat("emoji 👋🌍 mixed with words 😀 and more text! ", 20),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{
		"word", "Word", "café", "Übermaß", "привет", "κόσμε", "日本語", "a", "I",
		".", ",", "!?", "...", "'s", "'T", "\"", "(", ")", "{}", "12345", "7",
		"/", "-", "—", "'", "://", "\u0301",
		" ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", " \n ", "\u00a0", "\u3000", "👋",
	}
	for range 100 {
		var b strings.Builder
		for b.Len() < 3*maxChunk {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) == 0 {
				b.WriteString(" word")
			}
		}
		texts = append(texts, b.String())
	}
	for _, e := range []*encoder{cl100k, o200k} {
		for _, text := range texts {
			if got, want := e.count(text), direct(e, text); got != want {
				t.Errorf("%s: count(%.40q…) = %d; want %d as in one call", e.name, text, got, want)
			}
		}
	}
}

func TestChunkEnd(t *testing.T) {
	pad := strings.Repeat("x", maxChunk)
	tests := []struct {
		name string
		text string
		want int
	}{
		{"last word boundary", "ab cd" + pad, 2},
		{"last space of a run", "ab  cd" + pad, 3},
		{"space after newline", "ab\n cd" + pad, 3},
		{"space before a digit is not a boundary", "ab 12" + pad, maxChunk},
		{"tab is not a boundary", "ab\tcd" + pad, maxChunk},
		{"non-ASCII letter after space", "ab é" + pad, 2},
		{"no boundary: cut at maxChunk", pad + "more", maxChunk},
		// "é" is two bytes; a cut inside it moves back to its start.
		{"rune aligned", strings.Repeat("x", maxChunk-1) + "é" + "x", maxChunk - 1},
	}
	for _, tt := range tests {
		if got := chunkEnd(tt.text); got != tt.want {
			t.Errorf("%s: chunkEnd = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestLongRunsStayFast guards against quadratic blow-ups: in one call,
// tiktoken-go needs about 13 s for 50 KB of "a" and seconds for long runs
// of spaces, punctuation or CJK text.
func TestLongRunsStayFast(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("a", 50_000),
		strings.Repeat(" ", 50_000),
		strings.Repeat("!", 50_000),
		strings.Repeat("お誕生日おめでとう", 2000),
	} {
		start := time.Now()
		n := Count("gpt-4", text)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Count(%.10q… %d bytes) took %v", text, len(text), d)
		}
		if n <= 0 {
			t.Errorf("Count(%.10q…) = %d; want > 0", text, n)
		}
	}
}

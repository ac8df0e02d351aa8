// Package tokens counts tokens locally, for when an upstream reports no usage
// (some OpenAI-compatible servers, streams cut short) and for admission
// checks before a call.
//
// Counts use OpenAI's BPE encodings through tiktoken-go, with the encoding
// files embedded by tiktoken-go-loader so nothing is downloaded at run time.
// For models of other vendors (Claude, Gemini, Llama…) the cl100k_base count
// is only an approximation: their tokenizers differ, so the count may be off
// either way, more on code and non-English text than on English prose.
//
// Encoders are large (see encoder), so each is loaded on first use only.
package tokens

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// encoder is one tiktoken encoding, loaded once on first use. Loading parses
// the embedded rank file and builds tiktoken-go's lookup maps. Measured with
// TestEncoderHeap (Go 1.26, amd64): cl100k_base keeps 11 MiB live and
// allocates 23 MiB while loading; o200k_base keeps 23 MiB and allocates
// 46 MiB. A gateway that never counts tokens for a model family should not
// pay that, hence the laziness.
type encoder struct {
	name string
	once sync.Once
	tk   *tiktoken.Tiktoken // nil if loading failed
}

var (
	cl100k = &encoder{name: tiktoken.MODEL_CL100K_BASE}
	o200k  = &encoder{name: tiktoken.MODEL_O200K_BASE}

	// setLoader points tiktoken-go at the embedded files. Its default
	// loader fetches them over HTTP, which a gateway must never do
	// mid-request (and cannot do offline).
	setLoader = sync.OnceFunc(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	})
)

func (e *encoder) get() *tiktoken.Tiktoken {
	e.once.Do(func() {
		setLoader()
		// The files are embedded, so this fails only on a broken build;
		// callers then fall back to Estimate rather than fail a request.
		tk, err := tiktoken.GetEncoding(e.name)
		if err == nil {
			e.tk = tk
		}
	})
	return e.tk
}

// count returns the number of tokens of text. EncodeOrdinary treats special
// tokens such as "<|endoftext|>" as plain text: a user may type them, and
// tiktoken-go's Encode would panic on them.
func (e *encoder) count(text string) int {
	if text == "" {
		return 0
	}
	tk := e.get()
	if tk == nil {
		return Estimate(text)
	}
	n := 0
	for len(text) > maxChunk {
		cut := chunkEnd(text)
		n += len(tk.EncodeOrdinary(text[:cut]))
		text = text[cut:]
	}
	return n + len(tk.EncodeOrdinary(text))
}

// maxChunk bounds the text handed to tiktoken-go at once. Its byte-pair
// merge is quadratic in the length of one pre-tokenized piece, and its regexp
// backtracks over long whitespace runs: 100 KB of "a" took 54 s and 100 KB
// of spaces 9 s in one call, which any client could send. In chunks of at
// most maxChunk bytes the cost is linear in the text.
const maxChunk = 256

// chunkEnd returns where to end the next chunk of text (len(text) >
// maxChunk). It prefers the last space within maxChunk bytes that is followed
// by a letter: both encodings' pre-tokenizers always start a piece there
// (" word"), and the piece before it ends there whatever it is (a word,
// punctuation, or a whitespace run, which their \s+(?!\S) rule stops one
// space short of a word), so cutting there leaves the count unchanged.
// TestChunkingKeepsCount checks this. Text with no such space (long words,
// base64, whitespace runs, CJK without spaces) is cut at maxChunk on a rune
// boundary, which may split a token: about one extra token per maxChunk
// bytes.
func chunkEnd(text string) int {
	for i := maxChunk; i > 0; i-- {
		if text[i] == ' ' {
			if next, _ := utf8.DecodeRuneInString(text[i+1:]); unicode.IsLetter(next) {
				return i
			}
		}
	}
	cut := maxChunk
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	if cut == 0 {
		cut = maxChunk // not UTF-8; any cut will do
	}
	return cut
}

// encoderFor picks o200k_base for OpenAI's GPT-4o generation and later
// (gpt-4o*, chatgpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*, gpt-oss*, o1/o3/o4*), as
// tiktoken's model table does, and cl100k_base for everything else. A vendor
// prefix such as "openai/" is ignored.
func encoderFor(model string) *encoder {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss"} {
		if strings.HasPrefix(m, p) {
			return o200k
		}
	}
	if isOSeries(m) {
		return o200k
	}
	return cl100k
}

// isOSeries reports whether m names a reasoning model: "o1", "o3-mini",
// "o4-mini-2025-04-16", but not "ollama" or "o10".
func isOSeries(m string) bool {
	if len(m) < 2 || m[0] != 'o' || (m[1] != '1' && m[1] != '3' && m[1] != '4') {
		return false
	}
	return len(m) == 2 || m[2] == '-'
}

// Count returns the number of tokens of text for model.
func Count(model, text string) int {
	return encoderFor(model).count(text)
}

// Estimate is a cheap guess for admission checks, made without a
// tokenizer: it counts the pieces a BPE pre-tokenizer would cut the text
// into, in one pass over its bytes. A word (with the space before it) is
// one token, plus one per 4 bytes past its first 6; a run of digits one per
// 3 digits; a run of whitespace one; punctuation one per 3 characters; a
// CJK character one. On English prose it comes out 2-4% above cl100k_base
// and o200k_base, on a JSON body within 1%, on Go source about 20% above
// (TestEstimateIsClose), where characters/4 was 3% below on prose, 14%
// below on code, and far above on words longer than four letters that the
// encodings hold whole.
func Estimate(text string) int {
	n := 0
	for i := 0; i < len(text); {
		switch class[text[i]] {
		case space:
			if text[i] == ' ' && i+1 < len(text) && class[text[i+1]] >= digit {
				i++ // the space belongs to the word or number after it
				continue
			}
			j := i + 1
			for j < len(text) && class[text[j]] == space {
				j++
			}
			n++
			i = j
		case digit:
			j := i + 1
			for j < len(text) && class[text[j]] == digit {
				j++
			}
			n += (j - i + 2) / 3
			i = j
		case letter, high:
			j, cjk := i, 0
			for j < len(text) {
				c := class[text[j]]
				if c == letter {
					j++
					continue
				}
				if c != high {
					break
				}
				r, size := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(r) && !unicode.IsMark(r) {
					break
				}
				if r >= 0x2E80 { // CJK and after: about a token per character
					cjk++
				}
				j += size
			}
			switch {
			case j == i: // a symbol or an emoji, or bytes that are not UTF-8
				_, size := utf8.DecodeRuneInString(text[i:])
				n++
				i += size
				continue
			case cjk > 0:
				n += cjk
			default:
				n += 1 + max(j-i-6, 0)/4
			}
			i = j
		default:
			j := i + 1
			for j < len(text) && j-i < 3 && class[text[j]] == punct {
				j++
			}
			n++
			i = j
		}
	}
	return n
}

// Byte classes of Estimate, ordered so that digit and after take the space
// before them.
const (
	punct = iota
	space
	digit
	letter
	high // a byte of a multi-byte UTF-8 sequence
)

var class = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 0x80:
			t[c] = high
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			t[c] = letter
		case c >= '0' && c <= '9':
			t[c] = digit
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			t[c] = space
		}
	}
	return t
}()

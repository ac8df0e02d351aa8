package openai

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/llmservice/llmservice/internal/jsonstr"
	"github.com/llmservice/llmservice/internal/tokens"
)

// chatFields is what the pass-through lane needs of a chat completion
// request, read in one pass over its body without decoding it.
type chatFields struct {
	Model        string
	Stream       bool
	IncludeUsage bool // stream_options.include_usage
	// MaxTokens is max_completion_tokens, else max_tokens, as ToLLM reads
	// them; nil when neither is set.
	MaxTokens *int
	// N is n, nil when not set.
	N *int
	// Prompt is the admission estimate of the prompt, as the gateway
	// computes it from the decoded messages (3 per request, 4 per
	// message, and tokens.Estimate of each text).
	Prompt int64
}

// scanChat reads a chat completion body in one pass. ok is false when the
// pass-through lane could not serve the request exactly as the translation
// lane would, and the request must be decoded and translated instead:
//
//   - anything the full decode would refuse (invalid JSON, a wrong type, a
//     value out of range, a missing or unknown role, a tool message
//     without tool_call_id, ...): the translation path reports it with
//     the error it has always given;
//   - a key written with escapes, or a known top-level key given twice
//     (the decoder keeps the last, an upstream may not);
//   - a message, content part, tool, tool call or response_format key the
//     wire types do not name (refusal, audio, function_call, ...), and
//     cache_control on a part: the translation lane drops them, so an
//     upstream must not see them on one lane only;
//   - a tool call without "type":"function" (the translation lane adds it);
//   - stream_options other than {"include_usage":true} on a stream, or any
//     stream_options without one (the translation lane rewrites them);
//   - strings that are not valid UTF-8 (the decoder replaces the bytes);
//   - nesting deeper than maxScanDepth.
//
// Fields the translation lane re-encodes to the same meaning (a text-only
// parts array it flattens, max_completion_tokens it renames, null values
// it drops, the key order) travel as the client wrote them.
func scanChat(body []byte) (f chatFields, ok bool) {
	s := scanner{b: body}
	ok = s.request(&f) && s.end()
	return f, ok
}

// maxScanDepth bounds nesting; deeper bodies take the decoding path.
const maxScanDepth = 200

type scanner struct {
	b       []byte
	i       int
	depth   int
	scratch []byte // unescaped text for the estimate
}

// Top-level keys the decoder names; seen twice, the body is declined.
const (
	kModel = 1 << iota
	kMessages
	kMaxTokens
	kMaxCompletionTokens
	kTemperature
	kTopP
	kFrequencyPenalty
	kPresencePenalty
	kStop
	kSeed
	kN
	kTools
	kToolChoice
	kResponseFormat
	kUser
	kStream
	kStreamOptions
)

var topKeys = map[string]int{
	"model": kModel, "messages": kMessages, "max_tokens": kMaxTokens, "max_completion_tokens": kMaxCompletionTokens,
	"temperature": kTemperature, "top_p": kTopP, "frequency_penalty": kFrequencyPenalty, "presence_penalty": kPresencePenalty,
	"stop": kStop, "seed": kSeed, "n": kN, "tools": kTools, "tool_choice": kToolChoice, "response_format": kResponseFormat,
	"user": kUser, "stream": kStream, "stream_options": kStreamOptions,
}

func (s *scanner) request(f *chatFields) bool {
	var seen int
	var maxTokens, maxCompletion *int
	hasMessages, streamOptions := false, false
	ok := s.fields(func(key []byte) bool {
		k, known := topKeys[string(key)]
		if !known {
			return s.skip()
		}
		if seen&k != 0 {
			return false
		}
		seen |= k
		switch k {
		case kModel:
			v, ok := s.plainString()
			f.Model = v
			return ok && v != ""
		case kMessages:
			if s.null() {
				return false
			}
			n := 0
			ok := s.array(func() bool { n++; return s.message(f) })
			hasMessages = n > 0
			if hasMessages {
				f.Prompt += 3
			}
			return ok
		case kMaxTokens:
			return s.optInt(&maxTokens, 1, math.MaxInt)
		case kMaxCompletionTokens:
			return s.optInt(&maxCompletion, 1, math.MaxInt)
		case kTemperature:
			return s.optNumber(0, 2)
		case kTopP:
			return s.optNumber(0, 1)
		case kFrequencyPenalty, kPresencePenalty:
			return s.optNumber(-2, 2)
		case kStop:
			return s.stop()
		case kSeed:
			var v *int
			return s.optInt(&v, math.MinInt64, math.MaxInt64)
		case kN:
			return s.optInt(&f.N, 1, 128)
		case kTools:
			return s.null() || s.array(s.tool)
		case kToolChoice:
			return s.null() || s.toolChoice()
		case kResponseFormat:
			return s.null() || s.responseFormat()
		case kUser:
			return s.null() || s.anyString()
		case kStream:
			if s.null() {
				return true
			}
			v, ok := s.boolean()
			f.Stream = v
			return ok
		case kStreamOptions:
			streamOptions = true
			return s.object(func(key []byte) bool {
				if string(key) != "include_usage" {
					return false
				}
				v, ok := s.boolean()
				f.IncludeUsage = v
				return ok && v
			})
		}
		return false
	})
	if !ok || seen&kModel == 0 || !hasMessages || streamOptions && (!f.Stream || !f.IncludeUsage) {
		return false
	}
	f.MaxTokens = maxTokens
	if maxCompletion != nil {
		f.MaxTokens = maxCompletion
	}
	return true
}

// message reads one message, adding its estimate to f.Prompt.
func (s *scanner) message(f *chatFields) bool {
	var role string
	parts, hasToolCalls, toolCallID := 0, false, false
	est := int64(4)
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "role":
			v, ok := s.plainString()
			role = v
			return ok
		case "content":
			switch {
			case s.null():
				return true
			case s.peek() == '"':
				t, ok := s.text()
				parts = 1
				est += int64(tokens.Estimate(t))
				return ok
			}
			return s.array(func() bool {
				parts++
				n, ok := s.part()
				est += n
				return ok
			})
		case "name":
			return s.null() || s.anyString()
		case "tool_calls":
			if s.null() {
				return true
			}
			return s.array(func() bool { hasToolCalls = true; return s.toolCall() })
		case "tool_call_id":
			if s.null() {
				return true
			}
			v, ok := s.stringSpan()
			toolCallID = len(v) > 2
			return ok
		}
		return false
	})
	if !ok {
		return false
	}
	switch role {
	case "system", "developer", "user":
	case "assistant":
	case "tool":
		if !toolCallID {
			return false
		}
	default:
		return false
	}
	if hasToolCalls && role != "assistant" || parts == 0 && !hasToolCalls && role != "assistant" {
		return false
	}
	f.Prompt += est
	return true
}

// part reads a content part, returning the estimate of its text.
func (s *scanner) part() (int64, bool) {
	var typ string
	var est int64
	hasText, hasImage := false, false
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.plainString()
			typ = v
			return ok
		case "text":
			t, ok := s.text()
			est, hasText = int64(tokens.Estimate(t)), true
			return ok
		case "image_url":
			return s.null() || s.object(func(key []byte) bool {
				switch string(key) {
				case "url":
					v, ok := s.stringSpan()
					hasImage = len(v) > 2
					return ok
				case "detail":
					return s.anyString()
				}
				return false
			})
		}
		return false
	})
	switch {
	case !ok:
		return 0, false
	case typ == "text" && hasText:
		return est, true
	case typ == "image_url" && hasImage && !hasText:
		return 0, true // an image part has no text in the canonical form
	}
	return 0, false
}

func (s *scanner) toolCall() bool {
	var typ, name, args bool
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return s.anyString()
		case "type":
			v, ok := s.plainString()
			typ = v == "function"
			return ok && typ
		case "function":
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					v, ok := s.stringSpan()
					name = len(v) > 2
					return ok
				case "arguments":
					args = true
					return s.anyString()
				}
				return false
			})
		}
		return false
	}) && typ && name && args
}

func (s *scanner) tool() bool {
	typ, name := false, false
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.plainString()
			typ = v == "function"
			return ok && typ
		case "function":
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					v, ok := s.stringSpan()
					name = len(v) > 2
					return ok
				case "description":
					return s.null() || s.anyString()
				case "parameters":
					return s.skip()
				case "strict":
					if s.null() {
						return true
					}
					_, ok := s.boolean()
					return ok
				}
				return false
			})
		}
		return false
	}) && typ && name
}

func (s *scanner) toolChoice() bool {
	if s.peek() == '"' {
		v, ok := s.plainString()
		return ok && (v == "auto" || v == "none" || v == "required")
	}
	typ, name := false, false
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.plainString()
			typ = v == "function"
			return ok
		case "function":
			return s.object(func(key []byte) bool {
				if string(key) != "name" {
					return false
				}
				v, ok := s.stringSpan()
				name = len(v) > 2
				return ok
			})
		}
		return false
	}) && typ && name
}

func (s *scanner) responseFormat() bool {
	var typ string
	schema, schemaName := false, false
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, ok := s.plainString()
			typ = v
			return ok
		case "json_schema":
			schema = true
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					v, ok := s.stringSpan()
					schemaName = len(v) > 2
					return ok
				case "description":
					return s.anyString()
				case "schema":
					return s.skip()
				case "strict":
					if s.null() {
						return true
					}
					_, ok := s.boolean()
					return ok
				}
				return false
			})
		}
		return false
	})
	return ok && (typ == "text" || typ == "json_object") && !schema || typ == "json_schema" && schemaName
}

func (s *scanner) stop() bool {
	switch {
	case s.null():
		return true
	case s.peek() == '"':
		return s.anyString()
	}
	n := 0
	return s.array(func() bool { n++; return s.anyString() }) && n <= 4
}

// JSON primitives. Each reads one value at s.i (after whitespace) and
// reports false on anything it does not accept.

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *scanner) literal(lit string) bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// null consumes a null if one is next.
func (s *scanner) null() bool { return s.literal("null") }

func (s *scanner) boolean() (bool, bool) {
	switch {
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	}
	return false, false
}

// object is fields for the objects the wire types decode: a key given
// twice (the decoder keeps the last) is declined, and so is an object of
// more keys than any of them names.
func (s *scanner) object(field func(key []byte) bool) bool {
	var seen [8][]byte
	n := 0
	return s.fields(func(key []byte) bool {
		if n == len(seen) {
			return false
		}
		for _, k := range seen[:n] {
			if bytes.Equal(k, key) {
				return false
			}
		}
		seen[n] = key
		n++
		return field(key)
	})
}

// fields calls field for each key, positioned at its value; field must
// consume the value. Keys with escapes are declined.
func (s *scanner) fields(field func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.depth++
	if s.depth > maxScanDepth {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		k, ok := s.stringSpan()
		if !ok || bytes.IndexByte(k, '\\') >= 0 || s.peek() != ':' {
			return false
		}
		s.i++
		if !field(k[1 : len(k)-1]) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array calls elem for each element; elem must consume it.
func (s *scanner) array(elem func() bool) bool {
	if s.peek() != '[' {
		return false
	}
	s.depth++
	if s.depth > maxScanDepth {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// stringSpan reads a string and returns it with its quotes, escapes as
// written. It checks the escapes' syntax and that the bytes are UTF-8.
func (s *scanner) stringSpan() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i
	s.i++
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			v := s.b[start:s.i]
			return v, ascii || utf8.Valid(v)
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !jsonstr.IsHex4(s.b[s.i+2:s.i+6]) {
					return nil, false
				}
				// A lone surrogate decodes to U+FFFD: the translation
				// lane would send that, this one the escape.
				if r := jsonstr.Hex4(s.b[s.i+2:]); utf16.IsSurrogate(r) {
					if r >= 0xdc00 || s.i+12 > len(s.b) || s.b[s.i+6] != '\\' || s.b[s.i+7] != 'u' || !jsonstr.IsHex4(s.b[s.i+8:s.i+12]) ||
						utf16.DecodeRune(r, jsonstr.Hex4(s.b[s.i+8:])) == utf8.RuneError {
						return nil, false
					}
					s.i += 6
				}
				s.i += 6
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			if c >= 0x80 {
				ascii = false
			}
			s.i++
		}
	}
	return nil, false
}

func (s *scanner) anyString() bool {
	_, ok := s.stringSpan()
	return ok
}

// plainString reads a string without escapes (model names, roles,
// types); one with escapes is declined.
func (s *scanner) plainString() (string, bool) {
	v, ok := s.stringSpan()
	if !ok || bytes.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// text reads a string and returns its unescaped value, valid until the
// next call: a view of the body when it has no escapes, else of the
// scanner's scratch buffer. It serves tokens.Estimate only, which keeps
// nothing.
func (s *scanner) text() (string, bool) {
	v, ok := s.stringSpan()
	if !ok {
		return "", false
	}
	v = v[1 : len(v)-1]
	if bytes.IndexByte(v, '\\') >= 0 {
		s.scratch = jsonstr.AppendUnquoted(s.scratch[:0], v)
		v = s.scratch
	}
	if len(v) == 0 {
		return "", true
	}
	return unsafe.String(&v[0], len(v)), true
}

// number reads a JSON number and returns its bytes.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return nil, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// optInt reads null (leaving *v nil) or an integer within [lo, hi].
func (s *scanner) optInt(v **int, lo, hi int) bool {
	if s.null() {
		*v = nil
		return true
	}
	b, ok := s.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return false
	}
	x := int(n)
	*v = &x
	return true
}

// optNumber reads null or a number within [lo, hi].
func (s *scanner) optNumber(lo, hi float64) bool {
	if s.null() {
		return true
	}
	b, ok := s.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseFloat(string(b), 64)
	return err == nil && lo <= x && x <= hi
}

// skip reads any JSON value.
func (s *scanner) skip() bool {
	switch s.peek() {
	case '{':
		return s.fields(func([]byte) bool { return s.skip() })
	case '[':
		return s.array(s.skip)
	case '"':
		return s.anyString()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.null()
	}
	_, ok := s.number()
	return ok
}

package openai

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/llmservice/llmservice/internal/llm"
)

// This file reads the upstream's answers and stream chunks by hand, in
// place of encoding/json: topLevel checks a document as json.Valid does
// while it finds its spans, and usageOf and choicesText read the usage and
// the generated text from those spans without reflection. Each reads only
// what it is sure encoding/json reads the same way; on anything else it
// says so and the caller asks encoding/json, so that no answer is read
// differently from before (FuzzChunkScan compares the two).

// maxDepth is encoding/json's bound on nesting: a document nested deeper
// is not valid to json.Valid.
const maxDepth = 10000

// plainInString marks the bytes a JSON string holds as they are: all but
// the quote, the backslash and the control characters. Bytes that are not
// UTF-8 are among them: json.Valid accepts them (a decoder turns each into
// U+FFFD).
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString returns the index after the JSON string starting at b[i]
// (a quote), or -1 if there is none there as json.Valid reads it.
func scanString(b []byte, i int) int {
	for i++; i < len(b); {
		c := b[i]
		if plainInString[c] {
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// scanNumber returns the index after the JSON number starting at b[i], or
// -1 if there is none there.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// scanLiteral returns the index after lit at b[i], or -1.
func scanLiteral(b []byte, i int, lit string) int {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}

// scanKey reads an object's key at b[i] and the colon after it, and
// returns the index of the value (whitespace skipped), or -1.
func scanKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	i = scanString(b, i)
	if i < 0 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

// skipValue returns the index after the JSON value starting at b[i], or
// -1 if there is none there as json.Valid reads it. depth counts the
// arrays and objects the value is in.
func skipValue(b []byte, i, depth int) int {
	// open has bit n set when the n-th container open in the value is an
	// object, clear when it is an array.
	var room [2]uint64
	open := room[:]
	n := 0
	for {
		// A value starts at b[i].
		if i < 0 || i >= len(b) {
			return -1
		}
		switch c := b[i]; c {
		case '"':
			i = scanString(b, i)
		case '{', '[':
			if depth+n >= maxDepth {
				return -1
			}
			if n/64 == len(open) {
				open = append(open, 0)
			}
			if c == '{' {
				open[n/64] |= 1 << (n % 64)
			} else {
				open[n/64] &^= 1 << (n % 64)
			}
			n++
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				n--
				break
			}
			if c == '{' {
				i = scanKey(b, i)
			}
			continue
		case 't':
			i = scanLiteral(b, i, "true")
		case 'f':
			i = scanLiteral(b, i, "false")
		case 'n':
			i = scanLiteral(b, i, "null")
		default:
			i = scanNumber(b, i)
		}
		// A value ends at i: what follows closes containers, or leads
		// to the next value.
		for {
			if i < 0 {
				return -1
			}
			if n == 0 {
				return i
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			object := open[(n-1)/64]&(1<<((n-1)%64)) != 0
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if object {
					i = scanKey(b, i)
				}
				break
			}
			if object && b[i] != '}' || !object && b[i] != ']' {
				return -1
			}
			i++
			n--
		}
	}
}

// The readers below walk spans topLevel has checked: they do not check
// the JSON again.

// members reads the members of an object.
type members struct {
	b []byte
	i int // after the opening brace or the last member
}

// next returns the next member's key, as written (escapes kept, no
// quotes), and its value; false at the end of the object.
func (m *members) next() (key, val []byte, ok bool) {
	b := m.b
	i := skipWS(b, m.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false
	}
	ke := scanString(b, i)
	if ke < 0 {
		return nil, nil, false
	}
	vs := skipWS(b, ke)
	if vs >= len(b) || b[vs] != ':' {
		return nil, nil, false
	}
	vs = skipWS(b, vs+1)
	ve := skipValue(b, vs, 0)
	if ve < 0 {
		return nil, nil, false
	}
	m.i = ve
	return b[i+1 : ke-1], b[vs:ve], true
}

// elements reads the elements of an array.
type elements struct {
	b []byte
	i int // after the opening bracket or the last element
}

func (e *elements) next() (val []byte, ok bool) {
	b := e.b
	i := skipWS(b, e.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	ve := skipValue(b, i, 0)
	if ve < 0 {
		return nil, false
	}
	e.i = ve
	return b[i:ve], true
}

// fieldIs reports whether key, a key without escapes, names the field
// name (lower case) as encoding/json matches them: without regard to
// ASCII case. A key beyond ASCII is not matched; see plainKey.
func fieldIs(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c, n := key[i], name[i]; c != n && !('a' <= n && n <= 'z' && c|0x20 == n) {
			return false
		}
	}
	return true
}

// plainKey reports whether key holds neither an escape nor a byte beyond
// ASCII: encoding/json matches such a key to a field as fieldIs does (it
// folds other letters by Unicode rules, after unescaping).
func plainKey(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// intValue reads v into *n as encoding/json reads a number into an int
// field: null leaves *n as it is. false for anything else than an
// integer of at most 18 digits (never out of range), which encoding/json
// rejects (a fraction, an exponent, a string) or must range-check.
func intValue(v []byte, n *int) bool {
	if isNull(v) {
		return true
	}
	neg := len(v) > 0 && v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		return false
	}
	x := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
		x = x*10 + int(c-'0')
	}
	if neg {
		x = -x
	}
	*n = x
	return true
}

// usageOf reads a usage object as json.Unmarshal into wire.Usage and
// wire.UsageToLLM read it. false: the object is not one read here (not
// an object, a key with an escape or beyond ASCII, a count that is not an
// integer of at most 18 digits or null, details that are not an object
// or null); encoding/json is to read it then, or to report its error.
func usageOf(v []byte) (llm.Usage, bool) {
	var u llm.Usage
	if len(v) == 0 || v[0] != '{' {
		return u, false
	}
	var total int
	m := members{b: v, i: 1}
	for {
		k, val, more := m.next()
		if !more {
			return u, true
		}
		if !plainKey(k) {
			return u, false
		}
		ok := true
		switch {
		case fieldIs(k, "prompt_tokens"):
			ok = intValue(val, &u.PromptTokens)
		case fieldIs(k, "completion_tokens"):
			ok = intValue(val, &u.CompletionTokens)
		case fieldIs(k, "total_tokens"):
			ok = intValue(val, &total) // read only to fail as encoding/json does
		case fieldIs(k, "prompt_tokens_details"):
			ok = usageDetail(val, "cached_tokens", &u.CachedTokens)
		case fieldIs(k, "completion_tokens_details"):
			ok = usageDetail(val, "reasoning_tokens", &u.ReasoningTokens)
		}
		if !ok {
			return u, false
		}
	}
}

// usageDetail reads a details object's field name into *n. encoding/json
// decodes a details object into the struct a former one of the same usage
// left (so its fields stay) and null as no struct (UsageToLLM reads 0).
func usageDetail(v []byte, name string, n *int) bool {
	if isNull(v) {
		*n = 0
		return true
	}
	if v[0] != '{' {
		return false
	}
	m := members{b: v, i: 1}
	for {
		k, val, more := m.next()
		if !more {
			return true
		}
		if !plainKey(k) || fieldIs(k, name) && !intValue(val, n) {
			return false
		}
	}
}

// choicesText appends to dst the spans (in choices) of the strings that
// chatText.appendTo adds for a local count, in its order: for each choice,
// message.content, message.tool_calls[].function.name and .arguments,
// delta.content, delta.tool_calls[]'s. false: choices is not of the shape
// read here (anything encoding/json would refuse to decode into chatText,
// a key with an escape or beyond ASCII, a field given twice), and the
// caller decodes it with encoding/json.
func choicesText(dst [][2]int, choices []byte) ([][2]int, bool) {
	if isNull(choices) {
		return dst, true
	}
	if len(choices) == 0 || choices[0] != '[' {
		return dst, false
	}
	e := elements{b: choices, i: 1}
	for {
		c, more := e.next()
		if !more {
			return dst, true
		}
		if isNull(c) {
			continue
		}
		if c[0] != '{' {
			return dst, false
		}
		var message, delta []byte
		m := members{b: c, i: 1}
		for {
			k, v, more := m.next()
			if !more {
				break
			}
			switch {
			case !plainKey(k):
				return dst, false
			case fieldIs(k, "message"):
				if message != nil {
					return dst, false
				}
				message = v
			case fieldIs(k, "delta"):
				if delta != nil {
					return dst, false
				}
				delta = v
			}
		}
		var ok bool
		if dst, ok = messageText(dst, choices, message, false); !ok {
			return dst, false
		}
		if dst, ok = messageText(dst, choices, delta, true); !ok {
			return dst, false
		}
	}
}

// messageText appends the spans of a message's or a delta's text; base is
// the choices array msg lies in (spans are offsets into it).
func messageText(dst [][2]int, base, msg []byte, delta bool) ([][2]int, bool) {
	if msg == nil || isNull(msg) {
		return dst, true
	}
	if msg[0] != '{' {
		return dst, false
	}
	var content, calls []byte
	m := members{b: msg, i: 1}
	for {
		k, v, more := m.next()
		if !more {
			break
		}
		switch {
		case !plainKey(k):
			return dst, false
		case fieldIs(k, "content"):
			if content != nil || v[0] != '"' && !isNull(v) {
				return dst, false
			}
			content = v
		case fieldIs(k, "tool_calls"):
			if calls != nil || v[0] != '[' && !isNull(v) {
				return dst, false
			}
			calls = v
		}
	}
	dst = appendString(dst, base, content)
	if calls == nil || isNull(calls) {
		return dst, true
	}
	e := elements{b: calls, i: 1}
	for {
		tc, more := e.next()
		if !more {
			return dst, true
		}
		if isNull(tc) {
			continue
		}
		if tc[0] != '{' {
			return dst, false
		}
		var fn []byte
		var seen uint8 // id, type, index
		m := members{b: tc, i: 1}
		for {
			k, v, more := m.next()
			if !more {
				break
			}
			var bit uint8
			switch {
			case !plainKey(k):
				return dst, false
			case fieldIs(k, "function"):
				if fn != nil || v[0] != '{' && !isNull(v) {
					return dst, false
				}
				fn = v
			case fieldIs(k, "id"):
				bit = 1
			case fieldIs(k, "type"):
				bit = 2
			case delta && fieldIs(k, "index"): // wire.ToolCall has none
				var n int
				if seen&4 != 0 || !intValue(v, &n) {
					return dst, false
				}
				seen |= 4
			}
			if bit != 0 {
				if seen&bit != 0 || v[0] != '"' && !isNull(v) {
					return dst, false
				}
				seen |= bit
			}
		}
		if fn == nil || isNull(fn) {
			continue
		}
		var name, args []byte
		m = members{b: fn, i: 1}
		for {
			k, v, more := m.next()
			if !more {
				break
			}
			var p *[]byte
			switch {
			case !plainKey(k):
				return dst, false
			case fieldIs(k, "name"):
				p = &name
			case fieldIs(k, "arguments"):
				p = &args
			default:
				continue
			}
			if *p != nil || v[0] != '"' && !isNull(v) {
				return dst, false
			}
			*p = v
		}
		dst = appendString(dst, base, name)
		dst = appendString(dst, base, args)
	}
}

// appendString appends the span of v, a part of base, if v is a string
// (not null, not absent).
func appendString(dst [][2]int, base, v []byte) [][2]int {
	if len(v) == 0 || v[0] != '"' {
		return dst
	}
	// v lies in base's array: its offset is the distance between them.
	off := cap(base) - cap(v)
	return append(dst, [2]int{off, off + len(v)})
}

// appendUnquoted appends the value of the JSON string s (quotes included,
// checked by scanString) as encoding/json decodes it: escapes resolved, a
// lone surrogate and each byte that is not UTF-8 made U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	v := s[1 : len(s)-1]
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '\\':
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
			continue
		default:
			r, n := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, v[i:i+n]...)
			}
			i += n
			continue
		}
		switch v[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(v[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; encoding/json reads a lone half
				// as U+FFFD and the escape after it, if any, on its own.
				if i+6 <= len(v) && v[i] == '\\' && v[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(v[i+2:])); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, v[i+1])
		}
		i += 2
	}
	return dst
}

// hex4 reads four hexadecimal digits (checked by scanString).
func hex4(b []byte) rune {
	var n rune
	for _, c := range b[:4] {
		n <<= 4
		switch {
		case c <= '9':
			n |= rune(c - '0')
		case c >= 'a':
			n |= rune(c-'a') + 10
		default:
			n |= rune(c-'A') + 10
		}
	}
	return n
}

// plainString reports whether the body of the JSON string s (quotes
// included) decodes to itself: no escape, and UTF-8.
func plainString(s []byte) bool {
	v := s[1 : len(s)-1]
	return bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v)
}

package openai

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"github.com/llmservice/llmservice/internal/jsonstr"
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
	i++
	for {
		// Eight bytes at a time while none is special, then one at a
		// time to the special one.
		for i+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plainInString[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
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
				if i+6 > len(b) || !jsonstr.IsHex4(b[i+2:i+6]) {
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
}

// plain8 reports whether the eight bytes of v are all plainInString: no
// quote, no backslash, no control character.
func plain8(v uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// (x - ones) &^ x & highs is not 0 when a byte of x is 0, and
	// (v - 0x20*ones) &^ v & highs when one of v is below 0x20.
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return ((v-0x20*ones)&^v|zero(v^'"'*ones)|zero(v^'\\'*ones))&highs == 0
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

// cursor walks a checked JSON value.
type cursor struct {
	b []byte
	i int // at a value, or after an opening bracket or a value in one
}

// peek returns the first byte of the value at the cursor.
func (c *cursor) peek() byte {
	if c.i < len(c.b) {
		return c.b[c.i]
	}
	return 0
}

// more moves to the next member or element of the object or array the
// cursor is in, past the comma before it: false at the end, the cursor
// then after the closing bracket.
func (c *cursor) more() bool {
	i := skipWS(c.b, c.i)
	if i < len(c.b) && c.b[i] == ',' {
		i = skipWS(c.b, i+1)
	}
	if i >= len(c.b) || c.b[i] == '}' || c.b[i] == ']' {
		c.i = i + 1
		return false
	}
	c.i = i
	return true
}

// key reads a member's key, returned as written (escapes kept, no
// quotes), and the colon after it, leaving the cursor at the value.
func (c *cursor) key() []byte {
	ks := c.i
	ke := scanString(c.b, ks)
	if ke < 0 {
		c.i = len(c.b)
		return nil
	}
	c.i = skipWS(c.b, skipWS(c.b, ke)+1)
	return c.b[ks+1 : ke-1]
}

// value moves past the value at the cursor and returns it.
func (c *cursor) value() []byte {
	s := c.i
	e := skipValue(c.b, s, 0)
	if e < 0 {
		e = len(c.b)
	}
	c.i = e
	return c.b[s:e]
}

// open enters the object or array (bracket is '{' or '[') at the cursor:
// false, false if the value there is neither it nor null; false, true for
// null, which it passes over.
func (c *cursor) open(bracket byte) (entered, ok bool) {
	switch c.peek() {
	case 'n':
		c.i += len("null")
		return false, true
	case bracket:
		c.i++
		return true, true
	}
	return false, false
}

// str moves past the value at the cursor if it is a string or null, and
// returns the string's span (quotes included; empty for null): false if
// the value is neither.
func (c *cursor) str() ([2]int, bool) {
	switch c.peek() {
	case 'n':
		c.i += len("null")
		return [2]int{}, true
	case '"':
		s := c.i
		c.i = scanString(c.b, s)
		if c.i < 0 {
			c.i = len(c.b)
		}
		return [2]int{s, c.i}, true
	}
	return [2]int{}, false
}

// member reads the key of the next member of the object the cursor is
// in and returns which of names (at most 8) it is, as fieldIs matches
// them, the cursor then at its value; -1 for none of them, its value
// passed over. false: the key has an escape or is beyond ASCII, or names
// a field seen before (seen, unless nil, has a bit for each name), which
// encoding/json would read again, over what the first left.
func (c *cursor) member(seen *uint8, names ...string) (int, bool) {
	k := c.key()
	if !plainKey(k) {
		return -1, false
	}
	for i, name := range names {
		if fieldIs(k, name) {
			if seen == nil {
				return i, true
			}
			if *seen&(1<<i) != 0 {
				return i, false
			}
			*seen |= 1 << i
			return i, true
		}
	}
	c.value()
	return -1, true
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

// intValue reads v into *n as encoding/json reads a number into an int
// field: null leaves *n as it is. false for anything else than an
// integer of at most 18 digits (never out of range), which encoding/json
// rejects (a fraction, an exponent, a string) or must range-check.
func intValue(v []byte, n *int) bool {
	if string(v) == "null" {
		return true
	}
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
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
	if v[0] == '-' {
		x = -x
	}
	*n = x
	return true
}

// usageOf reads a usage object as json.Unmarshal into wire.Usage and
// wire.UsageToLLM read it. false: the object is not one read here (not
// an object, a key with an escape or beyond ASCII, a field given twice, a
// count that is not an integer of at most 18 digits or null, details that
// are not an object or null); encoding/json is to read it then, or to
// report its error.
func usageOf(v []byte) (llm.Usage, bool) {
	var u llm.Usage
	var total int // read only to fail as encoding/json does
	c := &cursor{b: v}
	if in, _ := c.open('{'); !in {
		return u, false
	}
	for c.more() {
		// A field given twice is read twice, as encoding/json reads it.
		f, ok := c.member(nil, "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details")
		switch {
		case !ok:
		case f == 0:
			ok = intValue(c.value(), &u.PromptTokens)
		case f == 1:
			ok = intValue(c.value(), &u.CompletionTokens)
		case f == 2:
			ok = intValue(c.value(), &total)
		case f == 3:
			ok = c.usageDetail("cached_tokens", &u.CachedTokens)
		case f == 4:
			ok = c.usageDetail("reasoning_tokens", &u.ReasoningTokens)
		}
		if !ok {
			return u, false
		}
	}
	return u, true
}

// usageDetail reads the details object (or null) at the cursor, its field
// name into *n. encoding/json decodes a details object into the struct a
// former one of the same usage left (so its fields stay), and null as no
// struct (UsageToLLM reads 0).
func (c *cursor) usageDetail(name string, n *int) bool {
	in, ok := c.open('{')
	if !in {
		if ok {
			*n = 0
		}
		return ok
	}
	for c.more() {
		f, ok := c.member(nil, name)
		if !ok || f == 0 && !intValue(c.value(), n) {
			return false
		}
	}
	return true
}

// choicesText appends to dst the spans (in choices) of the strings that
// chatText.appendTo adds for a local count, in its order: for each choice,
// message.content, message.tool_calls[].function.name and .arguments,
// delta.content, delta.tool_calls[]'s. false: choices is not of the shape
// read here (anything encoding/json would refuse to decode into chatText,
// a key with an escape or beyond ASCII, a field given twice), and the
// caller decodes it with encoding/json.
func choicesText(dst [][2]int, choices []byte) ([][2]int, bool) {
	c := &cursor{b: choices}
	if in, ok := c.open('['); !in {
		return dst, ok
	}
	for c.more() {
		if in, ok := c.open('{'); !in {
			if !ok {
				return dst, false
			}
			continue
		}
		start, mid := len(dst), -1 // mid: where the message's spans start
		var seen uint8
		for c.more() {
			f, ok := c.member(&seen, "message", "delta")
			if f == 0 && seen&2 != 0 {
				mid = len(dst)
			}
			if ok && f >= 0 {
				dst, ok = c.messageText(dst, f == 1)
			}
			if !ok {
				return dst, false
			}
		}
		if mid >= 0 {
			// The delta came first: its spans go after the message's.
			slices.Reverse(dst[start:mid])
			slices.Reverse(dst[mid:])
			slices.Reverse(dst[start:])
		}
	}
	return dst, true
}

// messageText appends the spans of the text of the message or delta at
// the cursor.
func (c *cursor) messageText(dst [][2]int, delta bool) ([][2]int, bool) {
	if in, ok := c.open('{'); !in {
		return dst, ok
	}
	start := len(dst)
	var content [2]int
	var seen uint8
	for c.more() {
		f, ok := c.member(&seen, "content", "tool_calls")
		switch {
		case !ok:
		case f == 0:
			content, ok = c.str()
		case f == 1:
			dst, ok = c.toolCallsText(dst, delta)
		}
		if !ok {
			return dst, false
		}
	}
	if content[1] > 0 {
		// The content, wherever it was, goes before the tool calls.
		dst = slices.Insert(dst, start, content)
	}
	return dst, true
}

// toolCallFields are the fields of a wire.ToolCallDelta; a wire.ToolCall
// has all but index.
var toolCallFields = []string{"function", "id", "type", "index"}

// toolCallsText appends the spans of the function names and arguments of
// the tool_calls array (or null) at the cursor.
func (c *cursor) toolCallsText(dst [][2]int, delta bool) ([][2]int, bool) {
	if in, ok := c.open('['); !in {
		return dst, ok
	}
	fields := toolCallFields
	if !delta {
		fields = fields[:3]
	}
	for c.more() {
		if in, ok := c.open('{'); !in {
			if !ok {
				return dst, false
			}
			continue
		}
		var seen uint8
		var name, args [2]int
		for c.more() {
			f, ok := c.member(&seen, fields...)
			switch {
			case !ok:
			case f == 0:
				name, args, ok = c.function()
			case f == 1, f == 2:
				_, ok = c.str()
			case f == 3:
				var n int
				ok = intValue(c.value(), &n)
			}
			if !ok {
				return dst, false
			}
		}
		for _, s := range [2][2]int{name, args} {
			if s[1] > 0 {
				dst = append(dst, s)
			}
		}
	}
	return dst, true
}

// function reads the function object (or null) at the cursor: the spans
// of its name and arguments strings (empty if absent or null).
func (c *cursor) function() (name, args [2]int, ok bool) {
	if in, ok := c.open('{'); !in {
		return name, args, ok
	}
	var seen uint8
	for c.more() {
		f, ok := c.member(&seen, "name", "arguments")
		switch {
		case !ok:
		case f == 0:
			name, ok = c.str()
		case f == 1:
			args, ok = c.str()
		}
		if !ok {
			return name, args, false
		}
	}
	return name, args, true
}

// appendUnquoted appends the value of the JSON string s (quotes included,
// checked by scanString) as encoding/json decodes it.
func appendUnquoted(dst, s []byte) []byte {
	return jsonstr.AppendUnquoted(dst, s[1:len(s)-1])
}

// plainString reports whether the body of the JSON string s (quotes
// included) decodes to itself: no escape, and UTF-8.
func plainString(s []byte) bool {
	v := s[1 : len(s)-1]
	return bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v)
}

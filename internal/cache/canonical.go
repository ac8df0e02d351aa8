package cache

import (
	"bytes"
	"slices"
)

// CanonicalBody returns a JSON object in canonical form (keys sorted at
// every depth, no spaces, numbers and strings as written) without its
// top-level fields named in drop: the part of a request body that can
// change its answer. ok is false when body is not a JSON object.
//
// It rewrites the bytes in one pass instead of decoding into maps and
// encoding again, since it runs on every call whose cache is on (a decode
// cost a cached miss ~40 allocations). Strings keep their escapes, so
// "\u00e9" and "é" key apart: a missed hit, never a wrong one.
func CanonicalBody(body []byte, drop ...string) ([]byte, bool) {
	c := canonicalizer{b: body, drop: drop, out: make([]byte, 0, len(body))}
	i := c.ws(0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i, ok := c.value(i, 0)
	if !ok || c.ws(i) != len(body) {
		return nil, false
	}
	return c.out, true
}

// maxCanonicalDepth bounds nesting: each level copies its object once, so
// a deeper body is not cached rather than costing depth x size.
const maxCanonicalDepth = 64

type canonicalizer struct {
	b       []byte
	drop    []string
	out     []byte
	members []member // a stack of the open objects' members
	scratch []byte   // an object's written values while they are reordered
}

// member is an object member: its key as written (quotes included) and
// its value as written to out.
type member struct {
	key        []byte
	start, end int
}

func (c *canonicalizer) ws(i int) int {
	for i < len(c.b) && (c.b[i] == ' ' || c.b[i] == '\t' || c.b[i] == '\n' || c.b[i] == '\r') {
		i++
	}
	return i
}

// value writes the value at b[i] in canonical form and returns the index
// after it.
func (c *canonicalizer) value(i, depth int) (int, bool) {
	if i >= len(c.b) || depth > maxCanonicalDepth {
		return 0, false
	}
	switch c.b[i] {
	case '{':
		return c.object(i, depth)
	case '[':
		c.out = append(c.out, '[')
		i = c.ws(i + 1)
		if i < len(c.b) && c.b[i] == ']' {
			c.out = append(c.out, ']')
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = c.value(i, depth+1); !ok {
				return 0, false
			}
			i = c.ws(i)
			if i >= len(c.b) {
				return 0, false
			}
			if c.b[i] == ']' {
				c.out = append(c.out, ']')
				return i + 1, true
			}
			if c.b[i] != ',' {
				return 0, false
			}
			c.out = append(c.out, ',')
			i = c.ws(i + 1)
		}
	case '"':
		j, ok := c.str(i)
		if !ok {
			return 0, false
		}
		c.out = append(c.out, c.b[i:j]...)
		return j, true
	}
	j, ok := c.literal(i)
	if !ok {
		return 0, false
	}
	c.out = append(c.out, c.b[i:j]...)
	return j, true
}

// object writes the object at b[i] with its members sorted by key: each
// value is written in canonical form as it comes, then the members'
// written spans are put in key order (one copy of the object).
func (c *canonicalizer) object(i, depth int) (int, bool) {
	base := len(c.members)
	defer func() { c.members = c.members[:base] }()
	start := len(c.out)
	i = c.ws(i + 1)
	if i < len(c.b) && c.b[i] == '}' {
		c.out = append(c.out, "{}"...)
		return i + 1, true
	}
	for {
		if i >= len(c.b) || c.b[i] != '"' {
			return 0, false
		}
		ke, ok := c.str(i)
		if !ok {
			return 0, false
		}
		key := c.b[i:ke]
		i = c.ws(ke)
		if i >= len(c.b) || c.b[i] != ':' {
			return 0, false
		}
		vs := len(c.out)
		ve, ok := c.value(c.ws(i+1), depth+1)
		if !ok {
			return 0, false
		}
		if depth == 0 && c.dropped(key) {
			c.out = c.out[:vs]
		} else {
			c.members = append(c.members, member{key: key, start: vs, end: len(c.out)})
		}
		i = c.ws(ve)
		if i >= len(c.b) {
			return 0, false
		}
		if c.b[i] == '}' {
			i++
			break
		}
		if c.b[i] != ',' {
			return 0, false
		}
		i = c.ws(i + 1)
	}
	ms := c.members[base:]
	// Stable: a key given twice keeps its order.
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	// out[start:] holds the values alone; they are copied aside and
	// written back with their keys, in key order.
	c.scratch = append(c.scratch[:0], c.out[start:]...)
	c.out = append(c.out[:start], '{')
	for k, m := range ms {
		if k > 0 {
			c.out = append(c.out, ',')
		}
		c.out = append(append(c.out, m.key...), ':')
		c.out = append(c.out, c.scratch[m.start-start:m.end-start]...)
	}
	c.out = append(c.out, '}')
	return i, true
}

func (c *canonicalizer) dropped(key []byte) bool {
	k := key[1 : len(key)-1]
	for _, d := range c.drop {
		if string(k) == d {
			return true
		}
	}
	return false
}

// str returns the index after the string at b[i], checking its escapes
// and that it holds no control character.
func (c *canonicalizer) str(i int) (int, bool) {
	for i++; i < len(c.b); i++ {
		switch ch := c.b[i]; {
		case ch == '"':
			return i + 1, true
		case ch < 0x20:
			return 0, false
		case ch == '\\':
			i++
			if i >= len(c.b) {
				return 0, false
			}
			switch c.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(c.b) {
					return 0, false
				}
				for _, h := range c.b[i+1 : i+5] {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isHex(h byte) bool { return '0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F' }

// literal returns the index after the number, true, false or null at b[i].
func (c *canonicalizer) literal(i int) (int, bool) {
	for _, w := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(c.b[i:], []byte(w)) {
			return i + len(w), true
		}
	}
	j := i
	if j < len(c.b) && c.b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(c.b) && '0' <= c.b[j] && c.b[j] <= '9' {
			j++
		}
		return j - k
	}
	if n := digits(); n == 0 || n > 1 && c.b[j-n] == '0' {
		return 0, false
	}
	if j < len(c.b) && c.b[j] == '.' {
		j++
		if digits() == 0 {
			return 0, false
		}
	}
	if j < len(c.b) && (c.b[j] == 'e' || c.b[j] == 'E') {
		j++
		if j < len(c.b) && (c.b[j] == '+' || c.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	return j, true
}

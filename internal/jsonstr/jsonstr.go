// Package jsonstr decodes JSON string literals exactly as encoding/json
// does, for the hand-written scanners on the hot path (the OpenAI
// dialect's request scan, the OpenAI provider's answer and chunk scan),
// which must read a string's value the way the translation lane's
// encoding/json would.
package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquoted appends the value of the JSON string body v (what lies
// between the quotes, its escapes already checked by the caller's scanner)
// to dst: escapes resolved, a surrogate pair made one rune, a lone
// surrogate and each byte that is not UTF-8 made U+FFFD.
func AppendUnquoted(dst, v []byte) []byte {
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
			r := Hex4(v[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; encoding/json reads a lone half
				// as U+FFFD and the escape after it, if any, on its own.
				if i+6 <= len(v) && v[i] == '\\' && v[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, Hex4(v[i+2:])); r2 != utf8.RuneError {
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

// IsHex4 reports whether b starts with four hexadecimal digits; b must
// hold at least four bytes.
func IsHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Hex4 reads four hexadecimal digits (checked with IsHex4).
func Hex4(b []byte) rune {
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

package django

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Django's default AUTH_PASSWORD_VALIDATORS, in Django's order and with its
// messages: the password must not be too similar to the username, must have
// at least 8 characters, must not be a common password and must not be
// entirely numeric. Every failing rule is reported, as Django's
// validate_password does.
// https://docs.djangoproject.com/en/stable/topics/auth/passwords/#included-validators

// minPasswordLength is MinimumLengthValidator's default min_length.
const minPasswordLength = 8

// maxSimilarity is UserAttributeSimilarityValidator's default.
const maxSimilarity = 0.7

// commonPasswordsText is a list of the most used passwords, one a line,
// lower case. It is shorter than Django's (20,000 entries): the passwords
// people pick first, which is where a guesser starts.
//
//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswordsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = true
		}
	}
	return m
}()

var nonWord = regexp.MustCompile(`\W+`)

// passwordProblems returns Django's messages for what is wrong with
// password for a user called username; none when it passes.
func passwordProblems(username, password string) []string {
	var out []string
	if tooSimilar(password, username) {
		out = append(out, "The password is too similar to the username.")
	}
	if n := len([]rune(password)); n < minPasswordLength {
		out = append(out, fmt.Sprintf("This password is too short. It must contain at least %d characters.", minPasswordLength))
	}
	if commonPasswords[strings.ToLower(strings.TrimSpace(password))] {
		out = append(out, "This password is too common.")
	}
	if isNumeric(password) {
		out = append(out, "This password is entirely numeric.")
	}
	return out
}

// isNumeric is Python's str.isdigit as NumericPasswordValidator uses it.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// tooSimilar is UserAttributeSimilarityValidator on the username: the
// password against the whole username and each of its parts split at
// non-word characters, by difflib's quick_ratio, skipping parts too short
// to compare with a long password.
func tooSimilar(password, username string) bool {
	if username == "" {
		return false
	}
	p := strings.ToLower(password)
	u := strings.ToLower(username)
	for _, part := range append(nonWord.Split(u, -1), u) {
		if part == "" || exceedsMaxLengthRatio(p, part) {
			continue
		}
		if quickRatio(p, part) >= maxSimilarity {
			return true
		}
	}
	return false
}

// exceedsMaxLengthRatio is Django's shortcut: a password ten times longer
// than the value, which is also short, cannot be similar to it.
func exceedsMaxLengthRatio(password, value string) bool {
	pl, vl := len([]rune(password)), len([]rune(value))
	return pl >= 10*vl && float64(vl) < maxSimilarity/2*float64(pl)
}

// quickRatio is difflib.SequenceMatcher(a, b).quick_ratio(): twice the
// characters a and b share (as multisets) over their total length.
func quickRatio(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra)+len(rb) == 0 {
		return 1
	}
	avail := map[rune]int{}
	for _, r := range rb {
		avail[r]++
	}
	matches := 0
	for _, r := range ra {
		if avail[r] > 0 {
			avail[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(len(ra)+len(rb))
}

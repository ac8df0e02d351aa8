package meter

import (
	"strings"
	"unicode/utf8"

	"github.com/llmservice/llmservice"
)

// Length caps of the strings of a usage record, in bytes. They sit above
// every input limit the gateway documents, so that they only cut what a
// defect let through: a store must never refuse a record, nor grow without
// bound, because of what a client sent.
const (
	// MaxLabelBytes caps identifiers and labels: IDs, project, endpoint,
	// models, provider, error type, purpose.
	MaxLabelBytes = 1024
	// MaxAttemptLogBytes caps the attempt log.
	MaxAttemptLogBytes = 8 << 10
	// MaxBodyBytes caps each kept prompt and response (teams that log
	// bodies).
	MaxBodyBytes = 1 << 20
)

// Storable returns rec with every string made storable in any store:
// invalid UTF-8 replaced by U+FFFD, NUL bytes removed (PostgreSQL text
// cannot hold them: SQLSTATE 22021) and lengths capped at a rune boundary.
// A record that needs none of it is returned as is, without allocating.
func Storable(rec llmservice.UsageRecord) llmservice.UsageRecord {
	for _, f := range []struct {
		s   *string
		max int
	}{
		{&rec.ID, MaxLabelBytes}, {&rec.TeamID, MaxLabelBytes}, {&rec.KeyID, MaxLabelBytes},
		{&rec.Project, MaxLabelBytes}, {&rec.Endpoint, MaxLabelBytes}, {&rec.RequestedModel, MaxLabelBytes},
		{&rec.Provider, MaxLabelBytes}, {&rec.UpstreamModel, MaxLabelBytes}, {&rec.ErrorType, MaxLabelBytes},
		{&rec.Purpose, MaxLabelBytes}, {&rec.AttemptLog, MaxAttemptLogBytes},
		{&rec.Prompt, MaxBodyBytes}, {&rec.Response, MaxBodyBytes},
	} {
		*f.s = storableString(*f.s, f.max)
	}
	return rec
}

// storableString is s valid UTF-8, without NUL, and at most max bytes.
func storableString(s string, max int) string {
	if len(s) <= max && strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

package storesql

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
)

// What the seed APIs' stores (Athena's conversations, Django's users, the
// jobs API and StackForDevs' credentials) share between SQLite and
// PostgreSQL: defaults stamped on new rows, cursors, errors worded for the
// seeds' clients, and job metadata.

// storedTime truncates t to the precision both stores keep times at.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// PrepareConversation checks a new conversation and fills what the caller
// left zero: a random ID, CreatedAt (now), UpdatedAt (CreatedAt) and
// metadata ({}). It returns the metadata text to store.
func PrepareConversation(c *llmservice.Conversation, now time.Time) (string, error) {
	if c.TeamID == "" {
		return "", llmservice.InvalidParam("team_id", "conversation has no team")
	}
	if c.ID == "" {
		c.ID = "conv_" + rand.Text()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.CreatedAt, c.UpdatedAt = storedTime(c.CreatedAt), storedTime(c.UpdatedAt)
	if len(c.Metadata) == 0 || string(c.Metadata) == "null" {
		c.Metadata = json.RawMessage("{}")
	}
	c.MessageCount = 0
	return string(c.Metadata), nil
}

// PrepareConversationMessages stamps msgs that have no CreatedAt with now
// and gives those without an ID a random one. It returns the time the
// conversation is updated to: the last message's (now when there is none).
func PrepareConversationMessages(msgs []*llmservice.ConversationMessage, now time.Time) time.Time {
	if len(msgs) == 0 {
		return storedTime(now)
	}
	for _, m := range msgs {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = storedTime(m.CreatedAt)
		if m.ID == "" {
			m.ID = "msg_" + rand.Text()
		}
	}
	return msgs[len(msgs)-1].CreatedAt
}

// ConversationCursor is the position after which the next page starts:
// pages run newest first by (created_at, id), which is unique, so a
// conversation created while a client pages never shifts the pages.
type ConversationCursor struct {
	CreatedAt time.Time
	ID        string
}

// Encode returns the opaque text handed to clients.
func (c ConversationCursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMilli(), 10) + ":" + c.ID))
}

// DecodeConversationCursor reads a cursor Encode made; Invalid (param
// cursor) for anything else.
func DecodeConversationCursor(s string) (ConversationCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		msText, id, ok := strings.Cut(string(b), ":")
		if n, perr := strconv.ParseInt(msText, 10, 64); ok && perr == nil && id != "" {
			return ConversationCursor{CreatedAt: time.UnixMilli(n).UTC(), ID: id}, nil
		}
	}
	return ConversationCursor{}, llmservice.InvalidParam("cursor", "cursor %q is not one this server issued", s)
}

// ConversationPage is a checked ConversationFilter. A store reads Limit+1
// rows, skipping Offset, after After when it is set; the extra row tells
// whether another page follows (see ConversationPage.Trim).
type ConversationPage struct {
	Limit  int
	Offset int
	After  *ConversationCursor
}

// CheckConversationFilter validates f and applies the default and maximum
// page sizes.
func CheckConversationFilter(f llmservice.ConversationFilter) (ConversationPage, error) {
	if f.TeamID == "" {
		return ConversationPage{}, llmservice.InvalidParam("team_id", "team is required")
	}
	if f.Offset < 0 {
		return ConversationPage{}, llmservice.InvalidParam("offset", "offset must not be negative")
	}
	if f.Cursor != "" && f.Offset > 0 {
		return ConversationPage{}, llmservice.InvalidParam("offset", "give cursor or offset, not both")
	}
	p := ConversationPage{Limit: f.Limit, Offset: f.Offset}
	if p.Limit <= 0 {
		p.Limit = 20
	}
	p.Limit = min(p.Limit, 100)
	if f.Cursor != "" {
		cur, err := DecodeConversationCursor(f.Cursor)
		if err != nil {
			return ConversationPage{}, err
		}
		p.After = &cur
	}
	return p, nil
}

// Trim cuts the extra row off rows (read with a limit of p.Limit+1) and
// returns the page and the cursor of the next one, "" at the end.
func (p ConversationPage) Trim(rows []*llmservice.Conversation) ([]*llmservice.Conversation, string) {
	if len(rows) <= p.Limit {
		return rows, ""
	}
	rows = rows[:p.Limit]
	last := rows[p.Limit-1]
	return rows, ConversationCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
}

// usernameTaken is Django's own wording, which DRF returns under "username".
const usernameTaken = "A user with that username already exists."

// DjangoUsernameTaken is the Conflict CreateDjangoUser returns when the
// username is taken.
func DjangoUsernameTaken(err error) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Param: "username", Message: usernameTaken, Err: err}
}

// DjangoTeamTaken is the Conflict CreateDjangoUser returns when the
// personal team's ID is taken.
func DjangoTeamTaken(err error) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Param: "team_id", Message: "team already exists", Err: err}
}

// PrepareDjangoUser stamps the zero creation times of a signup with now (all
// at the stored precision) and ties the user and the key to the team.
func PrepareDjangoUser(u *llmservice.DjangoUser, t *llmservice.Team, k *llmservice.Key, now time.Time) {
	for _, ts := range []*time.Time{&u.CreatedAt, &t.CreatedAt, &k.CreatedAt} {
		if ts.IsZero() {
			*ts = now
		}
		*ts = storedTime(*ts)
	}
	u.TeamID, k.TeamID = t.ID, t.ID
	u.KeyID = k.ID
	t.Credits = 0
}

// CreditJobNotFound is the jobs API's NotFound; err is kept for logs.
func CreditJobNotFound(err error) error {
	return &llmservice.Error{Kind: llmservice.NotFound, Message: "Job not found", Err: err}
}

// CheckCreditJobTeam returns Forbidden unless j belongs to teamID: the jobs
// API tells another team's job apart from a missing one (403, not 404)
// without handing out any of it.
func CheckCreditJobTeam(j *llmservice.CreditJob, teamID string) error {
	if j.TeamID != teamID {
		return &llmservice.Error{Kind: llmservice.Forbidden, Message: "Job does not belong to your team"}
	}
	return nil
}

// CheckCreditJobCompletion validates the status a job is closed with.
func CheckCreditJobCompletion(c llmservice.CreditJobCompletion) error {
	if c.Status != llmservice.CreditJobCompleted && c.Status != llmservice.CreditJobFailed {
		return llmservice.InvalidParam("status", "status must be 'completed' or 'failed'")
	}
	return nil
}

// CloseCreditJob applies completion c to the open job j, closing it at now:
// Conflict when j is already closed. Its metadata is merged key by key;
// CreditApplied is set for a completed job, whose charge the caller makes
// in the same transaction. It returns the metadata text to store.
func CloseCreditJob(j *llmservice.CreditJob, c llmservice.CreditJobCompletion, now time.Time) (string, error) {
	if j.Closed() {
		return "", &llmservice.Error{Kind: llmservice.Conflict, Code: "job_closed", Message: "Job is already " + j.Status}
	}
	meta, err := MergeCreditJobMeta(j.Metadata, c.Metadata)
	if err != nil {
		return "", err
	}
	text, err := EncodeCreditJobMeta(meta)
	if err != nil {
		return "", err
	}
	j.Metadata = DecodeCreditJobMeta(text)
	j.Status, j.ErrorMessage, j.CompletedAt = c.Status, c.ErrorMessage, &now
	j.CreditApplied = c.Status == llmservice.CreditJobCompleted
	return text, nil
}

// EncodeCreditJobMeta checks that raw is a JSON object (or empty) and
// returns its text; metadata is always stored as an object so that merging
// works.
func EncodeCreditJobMeta(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", llmservice.InvalidParam("metadata", "metadata must be a JSON object")
	}
	return string(raw), nil
}

// DecodeCreditJobMeta reads stored metadata back; an empty object comes
// back nil, as CreditJob documents.
func DecodeCreditJobMeta(s string) json.RawMessage {
	if s == "" || s == "{}" {
		return nil
	}
	return json.RawMessage(s)
}

// MergeCreditJobMeta sets each top-level key of add in base.
func MergeCreditJobMeta(base, add json.RawMessage) (json.RawMessage, error) {
	if len(add) == 0 || string(add) == "null" {
		return base, nil
	}
	m := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &m); err != nil {
			return nil, fmt.Errorf("stored metadata: %w", err)
		}
	}
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(add, &extra); err != nil {
		return nil, llmservice.InvalidParam("metadata", "metadata must be a JSON object")
	}
	for k, v := range extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// PrepareProviderCredential stamps a credential's zero times with now, at
// the stored precision.
func PrepareProviderCredential(c *llmservice.ProviderCredential, now time.Time) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	c.CreatedAt, c.UpdatedAt = storedTime(c.CreatedAt), storedTime(c.UpdatedAt)
}

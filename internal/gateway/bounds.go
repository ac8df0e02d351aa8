package gateway

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice"
)

// Limits of what a caller may put on a call or keep with it, in bytes.
// README's "Input limits" table lists them. Everything the ledger keeps of
// a call is bounded here, before the call reaches any cache or store: a
// tenant who sends 512 KiB model names gets 400s, not a heap and a
// database that grow with every call.
const (
	MaxModelBytes    = 256      // a model or model group name
	MaxProjectBytes  = 256      // a project id (X-Project-Id, project_id)
	MaxPurposeBytes  = 256      // a purpose (X-Purpose, purpose)
	MaxUserBytes     = 256      // a caller's own label of its user (user_id)
	MaxMetadataBytes = 16 << 10 // a metadata object, as JSON
)

// Params names, in the caller's dialect, the fields a Call's labels came
// from, so that the 400 refusing one names it as the caller wrote it. An
// empty name stands for the OpenAI-compatible one: "model",
// "X-Project-Id", "X-Purpose".
type Params struct {
	Model, Project, Purpose string
}

// CheckLen returns an Invalid error naming param when s is longer than
// limit bytes.
func CheckLen(param, s string, limit int) error {
	if len(s) <= limit {
		return nil
	}
	return &llmservice.Error{Kind: llmservice.Invalid, Param: param, Code: "string_above_max_length",
		Message: "'" + param + "' is too long: " + strconv.Itoa(len(s)) + " bytes, at most " + strconv.Itoa(limit) + " are allowed"}
}

// CheckModel refuses a model name longer than MaxModelBytes, naming param.
func CheckModel(param, name string) error { return CheckLen(param, name, MaxModelBytes) }

// check refuses a call whose labels exceed their limits. It runs before
// anything is resolved, cached or recorded.
func (c *Call) check() error {
	p := c.Params
	if err := CheckModel(cmp.Or(p.Model, "model"), c.Model); err != nil {
		return err
	}
	if err := CheckLen(cmp.Or(p.Project, "X-Project-Id"), c.Project, MaxProjectBytes); err != nil {
		return err
	}
	return CheckLen(cmp.Or(p.Purpose, "X-Purpose"), c.Purpose, MaxPurposeBytes)
}

// HeaderModel is the served upstream model as the x-llmservice-model
// header shows it. For a name the catalog does not know ("mock/<anything>")
// it is the client's own input: bytes outside printable ASCII are
// percent-escaped, so that nothing a client chose reaches a header raw.
func (s Served) HeaderModel() string {
	return headerSafe(s.Model)
}

// Headers are the response headers every dialect sends with an answer:
// which provider and model served it after how many attempts, the rate
// limits that applied, and the response cache's part when it has one.
// The rate headers are OpenAI's x-ratelimit-* shape.
func (s Served) Headers() [][2]string {
	h := [][2]string{{"X-Llmservice-Provider", s.Instance}, {"X-Llmservice-Model", s.HeaderModel()},
		{"X-Llmservice-Attempts", strconv.Itoa(s.Attempts)}}
	h = append(h, s.Rate.Headers()...)
	if s.Cache != "" {
		h = append(h, [2]string{"X-Llmservice-Cache", s.Cache})
	}
	return h
}

func headerSafe(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(v) + 16)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

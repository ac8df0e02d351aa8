package batches

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
)

// Limits of an input file, OpenAI's.
const (
	maxRequests = 50_000
	// maxErrors caps the validation errors reported for one file: a file
	// that is wrong on every line needs a few examples, not 50,000.
	maxErrors = 100
	// maxCustomID is the longest custom_id accepted.
	maxCustomID = 512
)

// inputLine is one line of an OpenAI batch input file.
// https://platform.openai.com/docs/api-reference/batch/request-input
type inputLine struct {
	CustomID *string         `json:"custom_id"`
	Method   *string         `json:"method"`
	URL      *string         `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// item is one validated request of a batch.
type item struct {
	Seq      int // 0-based position in the batch
	CustomID string
	URL      string
	Body     json.RawMessage
	Model    string
}

// itemPayload is what an item's task carries: the request itself, so the
// input file may be deleted while the batch runs, and the caller's project
// label for the ledger.
type itemPayload struct {
	URL     string          `json:"url"`
	Body    json.RawMessage `json:"body"`
	Project string          `json:"project,omitempty"`
	// LogBodies is the API's body logging default (StackForDevs: full).
	LogBodies string `json:"log_bodies,omitempty"`
}

// parseInput validates a JSONL input file for a batch to endpoint. Blank
// lines are skipped; line numbers count from 1 as editors show them. Either
// errs is empty and items holds every request, or errs says what is wrong
// (at most maxErrors of them) and the batch fails validation.
func parseInput(content []byte, endpoint string) (items []item, errs []llmservice.BatchError) {
	add := func(e llmservice.BatchError) bool {
		errs = append(errs, e)
		return len(errs) < maxErrors
	}
	seen := map[string]int{}
	lineNo := 0
	for len(content) > 0 {
		var line []byte
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			line, content = content, nil
		}
		lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(items)+len(errs) >= maxRequests {
			add(llmservice.BatchError{Code: "too_many_requests", Line: lineNo,
				Message: fmt.Sprintf("A batch may hold at most %d requests.", maxRequests)})
			return nil, errs
		}
		it, e := decodeLine(line, lineNo, endpoint)
		if e != nil {
			if !add(*e) {
				return nil, errs
			}
			continue
		}
		if first, dup := seen[it.CustomID]; dup {
			if !add(llmservice.BatchError{Code: "duplicate_custom_id", Param: "custom_id", Line: lineNo,
				Message: fmt.Sprintf("The custom_id '%s' is used by line %d too; custom_id must be unique within a batch.", it.CustomID, first)}) {
				return nil, errs
			}
			continue
		}
		seen[it.CustomID] = lineNo
		it.Seq = len(items)
		items = append(items, it)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(items) == 0 {
		return nil, []llmservice.BatchError{{Code: "empty_file", Message: "The input file holds no requests."}}
	}
	return items, nil
}

// decodeLine validates one non-blank line.
func decodeLine(line []byte, lineNo int, endpoint string) (item, *llmservice.BatchError) {
	bad := func(code, param, format string, args ...any) (item, *llmservice.BatchError) {
		return item{}, &llmservice.BatchError{Code: code, Param: param, Line: lineNo, Message: fmt.Sprintf(format, args...)}
	}
	var in inputLine
	if line[0] != '{' || json.Unmarshal(line, &in) != nil {
		return bad("invalid_json_line", "", "This line is not parseable as valid JSON.")
	}
	switch {
	case in.CustomID == nil || *in.CustomID == "":
		return bad("missing_required_parameter", "custom_id", "Missing required parameter: 'custom_id'.")
	case len(*in.CustomID) > maxCustomID:
		return bad("invalid_value", "custom_id", "custom_id is longer than %d characters.", maxCustomID)
	case in.Method == nil || *in.Method != "POST":
		return bad("invalid_value", "method", "method must be 'POST'.")
	case in.URL == nil || *in.URL == "":
		return bad("missing_required_parameter", "url", "Missing required parameter: 'url'.")
	case *in.URL != endpoint:
		return bad("invalid_url", "url", "The url '%s' does not match the batch's endpoint '%s'.", *in.URL, endpoint)
	case len(in.Body) == 0 || in.Body[0] != '{':
		return bad("missing_required_parameter", "body", "Missing required parameter: 'body' (a JSON object).")
	}
	req, err := decodeRequest(*in.URL, in.Body)
	if err != nil {
		e := llmservice.AsError(err)
		param := "body"
		if e.Param != "" {
			param = "body." + e.Param
		}
		return bad("invalid_request", param, "%s", e.Message)
	}
	if err := gateway.CheckModel("model", req.Model); err != nil {
		return bad("invalid_request", "body.model", "%s", llmservice.AsError(err).Message)
	}
	return item{CustomID: *in.CustomID, URL: *in.URL, Body: in.Body, Model: req.Model}, nil
}

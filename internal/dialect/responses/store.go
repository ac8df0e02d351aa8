package responses

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/llmservice/llmservice"
)

// Store keeps stored responses per team as opaque JSON documents, so that
// a database implementation needs no knowledge of their shape.
type Store = llmservice.ResponseStore

// Stored is a kept response: the response object, and the conversation it
// ended as input items (the input it was generated from, earlier turns
// included, and its output), which previous_response_id continues.
type Stored struct {
	Response response `json:"response"`
	Input    []item   `json:"input"`
	Output   []item   `json:"output"`
}

func notFound(id string) error {
	return &llmservice.Error{Kind: llmservice.NotFound, Param: "id", Code: "not_found",
		Message: "Response with id '" + id + "' not found."}
}

// get reads a stored response of team.
func getStored(ctx context.Context, s Store, team, id string) (*Stored, error) {
	doc, err := s.GetResponse(ctx, team, id)
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	var st Stored
	if err := json.Unmarshal(doc, &st); err != nil {
		return nil, llmservice.Errorf(llmservice.Internal, "stored response %s is unreadable: %v", id, err)
	}
	return &st, nil
}

func putStored(ctx context.Context, s Store, team string, st *Stored) error {
	doc, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.PutResponse(ctx, team, st.Response.ID, doc)
}

// MemoryStore is a Store in the process's memory.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string][]byte{}} }

func memKey(team, id string) string { return team + "\x00" + id }

// PutResponse implements Store.
func (s *MemoryStore) PutResponse(_ context.Context, team, id string, doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[memKey(team, id)] = bytes.Clone(doc)
	return nil
}

// GetResponse implements Store.
func (s *MemoryStore) GetResponse(_ context.Context, team, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, ok := s.m[memKey(team, id)]
	if !ok {
		return nil, notFound(id)
	}
	return doc, nil
}

// DeleteResponse implements Store.
func (s *MemoryStore) DeleteResponse(_ context.Context, team, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[memKey(team, id)]; !ok {
		return notFound(id)
	}
	delete(s.m, memKey(team, id))
	return nil
}

// asInput turns an output item into the input item that continues it.
func (it outItem) asInput() item {
	in := item{Type: it.Type, ID: it.ID, Role: it.Role, Status: it.Status, CallID: it.CallID, Name: it.Name,
		Arguments: it.Arguments, Input: it.Input, EncryptedContent: it.EncryptedContent}
	if it.Content != nil {
		for _, p := range *it.Content {
			in.Content = append(in.Content, part{Type: p.Type, Text: p.Text})
		}
	}
	if it.Summary != nil {
		for _, s := range *it.Summary {
			in.Summary = append(in.Summary, summaryPart(s))
		}
		if in.Summary == nil {
			in.Summary = []summaryPart{}
		}
	}
	return in
}

// spliceHistory edits a request body for the pass-through lane: the
// stored turns go before input, and previous_response_id is removed (an
// upstream holds no state of ours), the only edits.
func spliceHistory(body []byte, history []item) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, llmservice.Errorf(llmservice.Invalid, "request body must be a JSON object")
	}
	var in input
	if raw, ok := m["input"]; ok {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, llmservice.InvalidParam("input", "Invalid 'input': %v", err)
		}
	}
	all := append(append([]item(nil), history...), in...)
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	m["input"] = b
	delete(m, "previous_response_id")
	return json.Marshal(m)
}

// capture keeps a pass-through answer's response object: the JSON body,
// or the response of a stream's final event.
type capture struct {
	on, stream bool
	buf        bytes.Buffer
}

func newCapture(stream, on bool) *capture { return &capture{on: on, stream: stream} }

func (c *capture) write(b []byte) {
	if c.on && c.buf.Len() < 64<<20 {
		c.buf.Write(b)
	}
}

func (c *capture) response() *response {
	if !c.on {
		return nil
	}
	raw := c.buf.Bytes()
	if c.stream {
		raw = nil
		for _, line := range strings.Split(c.buf.String(), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Type     string          `json:"type"`
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal([]byte(data), &ev) == nil && (ev.Type == "response.completed" || ev.Type == "response.incomplete") {
				raw = ev.Response
			}
		}
	}
	var r response
	if raw == nil || json.Unmarshal(raw, &r) != nil || r.ID == "" {
		return nil
	}
	return &r
}

package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client calls the admin API.
type client struct {
	base string
	key  string
	hc   *http.Client
}

// call sends a JSON request and decodes the answer into out (when not
// nil); it returns the raw answer too, for --json. An error answer becomes
// an error with the server's message.
func (e *env) call(method, path string, body, out any) (json.RawMessage, error) {
	c := e.c
	if c.key == "" {
		return nil, fmt.Errorf("no admin key: set LLMSERVICE_ADMIN_KEY or pass --admin-key")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	base := strings.TrimRight(cmp.Or(c.base, "http://localhost:8080"), "/")
	req, err := http.NewRequestWithContext(e.ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.hc
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, base+path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
			return nil, fmt.Errorf("%s (%d)", eb.Error.Message, resp.StatusCode)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: the answer is not what was expected: %w", method, path, err)
		}
	}
	return raw, nil
}

// show prints the raw answer with --json, or else runs human.
func (e *env) show(raw json.RawMessage, human func()) error {
	if e.json {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := e.out.Write(b.Bytes())
		return err
	}
	human()
	return nil
}

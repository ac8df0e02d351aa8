package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// sample is the outcome of one request.
type sample struct {
	lat  time.Duration // schedule to last byte
	svc  time.Duration // send to last byte
	ttft time.Duration // schedule to first content chunk (streams)
	kind string        // failure kind; empty on success
	msg  string
}

// requester sends one kind of request to one URL.
type requester struct {
	hc      *http.Client
	url     string
	body    []byte
	auth    []string
	stream  bool
	timeout time.Duration
}

var jsonType = []string{"application/json"}

// newClient pools enough connections for any rate we ask for: a generator
// that opens a connection per request would measure the TCP handshake.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// do sends the request; start is when it was due, so that the latency of a
// request the generator sent late still counts from its schedule.
func (q *requester) do(ctx context.Context, start time.Time) sample {
	sent := time.Now()
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(q.body))
	if err != nil {
		return sample{kind: "request", msg: err.Error()}
	}
	req.Header = http.Header{"Content-Type": jsonType}
	if q.auth != nil {
		req.Header["Authorization"] = q.auth
	}
	resp, err := q.hc.Do(req)
	if err != nil {
		return failure(ctx, "transport", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return sample{kind: fmt.Sprintf("status %d", resp.StatusCode), msg: string(b)}
	}
	var s sample
	if q.stream {
		s, err = readStream(resp.Body, start)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return failure(ctx, "read", err)
	}
	if s.kind == "" {
		end := time.Now()
		s.lat, s.svc = end.Sub(start), end.Sub(sent)
	}
	return s
}

func failure(ctx context.Context, kind string, err error) sample {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = "timeout"
	}
	return sample{kind: kind, msg: err.Error()}
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// readStream reads SSE lines to the end, noting when the first chunk with
// content arrives. It decodes JSON only until then, so that a long stream
// costs the generator little.
func readStream(body io.Reader, start time.Time) (sample, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(body)
	defer func() { br.Reset(nil); readers.Put(br) }()
	var s sample
	done := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: the rest of it follows; only
			// short lines ("[DONE]", the first chunks) matter here.
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, err
		}
		data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimLeft(data, " ")
		if bytes.Equal(data, []byte("[DONE]")) {
			done = true
			continue
		}
		if s.ttft == 0 && hasContent(data) {
			s.ttft = time.Since(start)
		}
	}
	switch {
	case !done:
		s.kind, s.msg = "stream", "stream ended without [DONE]"
	case s.ttft == 0:
		s.kind, s.msg = "stream", "stream had no content chunk"
	}
	return s, nil
}

// hasContent reports whether an OpenAI chunk carries text. The first chunk
// usually has only the role and "content":"", which is not a token yet.
func hasContent(data []byte) bool {
	var c struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &c) != nil {
		return false
	}
	for _, ch := range c.Choices {
		if ch.Delta.Content != "" {
			return true
		}
	}
	return false
}

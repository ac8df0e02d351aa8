package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// frames is a whole stream as OpenAI sends it with include_usage: a role
// chunk, content chunks, a finish chunk, a usage chunk with no choices, and
// [DONE]. Index 0 is the role chunk; content starts at index 1.
var frames = func() [][]byte {
	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":`
	f := [][]byte{[]byte(head + `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")}
	for _, w := range []string{"Hello", " from", " the", " mock", " upstream", "."} {
		f = append(f, []byte(head+`[{"index":0,"delta":{"content":"`+w+`"},"logprobs":null,"finish_reason":null}]}`+"\n\n"))
	}
	f = append(f,
		[]byte(head+`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`+"\n\n"),
		[]byte(head+`[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}`+"\n\n"),
		[]byte("data: [DONE]\n\n"),
	)
	return f
}()

// stream writes frames, flushing each one as a real model server does, so
// that the process in front sees one read per chunk.
func (h *handler) stream(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = sseType
	w.Header()["Cache-Control"] = noCache
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	// Headers go out at once, as OpenAI's do; the delay models the time to
	// the first token, which follows them.
	w.Write(frames[0])
	flush()
	for i, f := range frames[1:] {
		d := h.chunkDelay
		if i == 0 {
			d = h.firstDelay
		}
		if d > 0 && !sleep(r, d) {
			return
		}
		if _, err := w.Write(f); err != nil {
			return
		}
		flush()
	}
}

// sleep waits d or until the client goes away; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// isStream reads the whole body (so the connection can be reused) and
// reports whether it asks for "stream": true. A scan instead of a JSON
// decode keeps the mock cheap; the bodies come from our own clients.
func isStream(body io.Reader) (bool, error) {
	b := bufs.Get().(*bytes.Buffer)
	defer bufs.Put(b)
	b.Reset()
	if _, err := b.ReadFrom(body); err != nil {
		return false, err
	}
	return streamTrue(b.Bytes()), nil
}

// streamTrue finds the key "stream" and checks that its value is true.
// "stream_options" does not match because the closing quote is part of
// the key searched for.
func streamTrue(p []byte) bool {
	key := []byte(`"stream"`)
	for {
		i := bytes.Index(p, key)
		if i < 0 {
			return false
		}
		p = p[i+len(key):]
		q := bytes.TrimLeft(p, " \t\r\n")
		if len(q) > 0 && q[0] == ':' {
			return bytes.HasPrefix(bytes.TrimLeft(q[1:], " \t\r\n"), []byte("true"))
		}
	}
}

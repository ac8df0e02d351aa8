package providertest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/openai"
)

// forwardedStream is a stream of one forwarded protocol, ending with its
// terminal event, and a client that forwards it.
type forwardedStream struct {
	name   string
	proto  llm.Protocol
	op     string
	events string
	client func(url string) llm.Forwarder
}

func forwardedStreams() []forwardedStream {
	return []forwardedStream{
		{"chat completions", llm.OpenAIChat, openai.OpChat,
			"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n" +
				"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n" +
				"data: [DONE]\n\n",
			func(url string) llm.Forwarder {
				return openai.New(openai.Config{BaseURL: url + "/v1", APIKey: "k"}, http.DefaultClient)
			}},
		{"messages", llm.AnthropicMessages, "messages",
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"up\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			func(url string) llm.Forwarder {
				return anthropic.New(anthropic.Config{BaseURL: url, APIKey: "k"}, http.DefaultClient)
			}},
		{"responses", llm.OpenAIResponses, openai.OpResponses,
			"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"up\"}}\n\n" +
				"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"up\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1,\"total_tokens\":2}}}\n\n",
			func(url string) llm.Forwarder {
				return openai.New(openai.Config{BaseURL: url + "/v1", APIKey: "k", Responses: true}, http.DefaultClient)
			}},
	}
}

// A forwarded stream ends, for the gateway, at its protocol's terminal
// event ([DONE], message_stop, response.completed), not when the upstream
// ends its response: the read that hands out the terminal event returns
// io.EOF, so that the call is settled (ledger, response cache) before the
// client sees the end of its answer. A client sending its next request on
// seeing [DONE] then finds the first one written. Close drains the rest of
// the response so that the upstream connection is reused.
func TestForwardedStreamEndsAtItsTerminalEvent(t *testing.T) {
	for _, tt := range forwardedStreams() {
		t.Run(tt.name, func(t *testing.T) {
			release, ended := make(chan struct{}), make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(ended)
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tt.events)
				w.(http.Flusher).Flush()
				<-release // the response stays open after the terminal event
			}))
			defer srv.Close()
			resp, err := tt.client(srv.URL).Forward(context.Background(), &llm.RawRequest{Protocol: tt.proto, Op: tt.op,
				Body: []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}],"input":"x","max_tokens":5}`), Stream: true}, "up")
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(resp.Body); got <- b }()
			select {
			case b := <-got:
				last := tt.events[strings.LastIndex(strings.TrimSuffix(tt.events, "\n\n"), "\n\n")+2:]
				if !strings.HasSuffix(string(b), last) {
					t.Fatalf("read %q; want it to end with the terminal event %q", b, last)
				}
			case <-time.After(5 * time.Second):
				close(release)
				t.Fatal("the read did not end at the terminal event: it waited for the upstream to end its response")
			}
			if u, ok := resp.Body.Usage(); !ok || u.PromptTokens != 1 {
				t.Errorf("usage %+v %v", u, ok)
			}
			close(release)
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			<-ended
		})
	}
}

// Every forwarded stream says when it is about to wait on its upstream
// (llm.WaitNotifier), after handing out all it has: the relay flushes
// there, so the events of one upstream write reach the client in one
// write and none is held while the gateway waits.
func TestForwardedStreamNotifiesItsWaits(t *testing.T) {
	for _, tt := range forwardedStreams() {
		t.Run(tt.name, func(t *testing.T) {
			// The upstream sends all but the terminal event, then waits
			// until the gateway has said it is waiting.
			cut := strings.LastIndex(strings.TrimSuffix(tt.events, "\n\n"), "\n\n") + 2
			waiting := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tt.events[:cut])
				w.(http.Flusher).Flush()
				select {
				case <-waiting:
				case <-time.After(5 * time.Second):
					return
				}
				_, _ = io.WriteString(w, tt.events[cut:])
			}))
			defer srv.Close()
			resp, err := tt.client(srv.URL).Forward(context.Background(), &llm.RawRequest{Protocol: tt.proto, Op: tt.op,
				Body: []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}],"input":"x","max_tokens":5,"stream_options":{"include_usage":true}}`), Stream: true}, "up")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var read strings.Builder
			var atWait []string
			wn, ok := resp.Body.(llm.WaitNotifier)
			if !ok || !wn.BeforeWait(func() {
				atWait = append(atWait, read.String())
				if len(atWait) == 1 {
					close(waiting)
				}
			}) {
				t.Fatal("the stream does not notify its waits")
			}
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				read.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(atWait) == 0 {
				t.Fatal("no wait was notified")
			}
			// At the first wait, everything the upstream had sent was
			// handed out (the first event may have been read when the
			// stream was opened, before the hook was set).
			if !strings.Contains(atWait[0], tt.events[cut-20:cut]) {
				t.Errorf("at the first wait the reader had handed out %q; want everything before the terminal event", atWait[0])
			}
			if !strings.HasSuffix(read.String(), tt.events[cut:]) {
				t.Errorf("read %q", read.String())
			}
		})
	}
}

package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// OpChat is the Chat Completions operation of the pass-through lane.
const OpChat = "chat"

// includeUsage is what a stream request gets when the client did not ask
// for usage: the gateway bills from it, as the translation lane always
// asks for it too.
const includeUsage = `"stream_options":{"include_usage":true}`

// forwardChat sends a Chat Completions body upstream with its top-level
// model replaced, stream_options.include_usage added to a stream that did
// not ask for it, and max_tokens lowered when the gateway capped the answer.
// The answer comes back as the upstream sent it, model renamed to
// req.ReplyModel; the usage-only chunk the gateway asked for is left out.
func (c *Client) forwardChat(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
	body, hide, err := chatBody(req, model)
	if err != nil {
		return nil, err
	}
	h := c.jsonHeaders
	if req.Stream {
		h = c.sseHeaders
	}
	resp, err := upstream.Do(ctx, c.hc, http.MethodPost, c.chatURL, h, body)
	if err != nil {
		return nil, err
	}
	out := &llm.RawResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	if v := resp.Header.Values("Content-Type"); len(v) > 0 {
		out.Header["Content-Type"] = v
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		b, err := upstream.ReadAnswer(ctx, resp.Body, maxJSONAnswer)
		if err != nil {
			return nil, err
		}
		jb, err := newChatJSON(ctx, b, req.ReplyModel)
		if err != nil {
			return nil, err
		}
		out.Body = jb
		return out, nil
	}
	s := &chatSSE{ctx: ctx, body: resp.Body, hide: hide}
	s.wait.R = resp.Body
	s.r = upstream.NewSSEReader(&s.wait)
	if req.ReplyModel != "" {
		s.reply = jsonString(req.ReplyModel)
	}
	if err := s.first(); err != nil {
		_ = s.Close()
		return nil, err
	}
	out.Body = s
	return out, nil
}

// chatBody edits the client's body for upstream in one copy. hide reports
// that the gateway added include_usage, so the client must not see the
// usage chunk it did not ask for.
func chatBody(req *llm.RawRequest, model string) (body []byte, hide bool, err error) {
	doc := req.Body
	spans := getSpans()
	defer spansPool.Put(spans)
	var editBuf [4]edit
	edits := editBuf[:0]
	if err := topLevel(doc, spans); err != nil || len(spans.model) == 0 {
		return nil, false, llmservice.InvalidParam("model", "request body must be a JSON object with a model")
	}
	m := jsonString(model)
	for _, s := range spans.model {
		edits = append(edits, edit{s[0], s[1], m})
	}
	if req.MaxTokens != nil {
		n := []byte(strconv.Itoa(*req.MaxTokens))
		for _, s := range spans.maxTokens {
			edits = append(edits, edit{s[0], s[1], n})
		}
		for _, s := range spans.maxCompletion {
			edits = append(edits, edit{s[0], s[1], n})
		}
		if len(spans.maxTokens) == 0 && len(spans.maxCompletion) == 0 {
			edits = append(edits, edit{spans.open, spans.open, append(append([]byte(`"max_tokens":`), n...), ',')})
		}
	}
	if req.Stream && len(spans.streamOptions) == 0 {
		edits = append(edits, edit{spans.open, spans.open, []byte(includeUsage + ",")})
		hide = true
	}
	return apply(doc, edits), hide, nil
}

// jsonString is json.Marshal(v) of a string: a model name is plain ASCII,
// which needs only its quotes (one allocation, no reflection); anything
// else is left to encoding/json, which escapes it as it always did.
func jsonString(v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(v)
			return b
		}
	}
	b := make([]byte, 0, len(v)+2)
	return append(append(append(b, '"'), v...), '"')
}

// edit replaces doc[from:to] with with.
type edit struct {
	from, to int
	with     []byte
}

// apply makes edits, which do not overlap, in one new buffer.
func apply(doc []byte, edits []edit) []byte {
	// Insertions sit at the opening brace, before every replacement;
	// the replacements come in document order.
	sortEdits(edits)
	n := len(doc)
	for _, e := range edits {
		n += len(e.with) - (e.to - e.from)
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, e := range edits {
		out = append(out, doc[prev:e.from]...)
		out = append(out, e.with...)
		prev = e.to
	}
	return append(out, doc[prev:]...)
}

func sortEdits(e []edit) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].from < e[j-1].from; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

// spans locates the top-level values the forwarder edits.
type spans struct {
	open                                           int // just after the opening brace
	model, maxTokens, maxCompletion, streamOptions [][2]int
	usage, choices, errorField                     [][2]int
	usageNull                                      bool
	// room backs one span of each slice, which is what a document has:
	// the first reset points the slices into it, so that finding the
	// spans allocates only for a key repeated in one document.
	room [7][2]int
}

// reset empties sp for another document, keeping its slices' room: a
// stream reads one document per chunk. sp must not be copied after its
// first reset (the slices point into its own room).
func (sp *spans) reset() {
	if sp.model == nil {
		r := &sp.room
		sp.model, sp.maxTokens, sp.maxCompletion = r[0:0:1], r[1:1:2], r[2:2:3]
		sp.streamOptions, sp.usage, sp.choices, sp.errorField = r[3:3:4], r[4:4:5], r[5:5:6], r[6:6:7]
	}
	sp.open, sp.usageNull = 0, false
	sp.model, sp.maxTokens, sp.maxCompletion = sp.model[:0], sp.maxTokens[:0], sp.maxCompletion[:0]
	sp.streamOptions, sp.usage, sp.choices, sp.errorField = sp.streamOptions[:0], sp.usage[:0], sp.choices[:0], sp.errorField[:0]
}

// spansPool keeps the spans of whole bodies (a request, an answer): they
// hold offsets only, nothing of the document, so reuse is safe.
var spansPool = sync.Pool{New: func() any { return new(spans) }}

func getSpans() *spans { return spansPool.Get().(*spans) }

// topLevel finds, in one pass over a JSON object, the spans of the
// top-level values the pass-through lane reads or edits, into sp (reset
// first), and checks doc as json.Valid does (an upstream's answer needs
// no other check; a request body has been checked by the dialect). A
// value absent from doc leaves its slice empty (len 0; not necessarily
// nil). Any error is errNotJSONObject: see notJSONObject for the one the
// caller reports.
func topLevel(doc []byte, sp *spans) error {
	sp.reset()
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return errNotJSONObject
	}
	i++
	sp.open = i
	i = skipWS(doc, i)
	if i < len(doc) && doc[i] == '}' {
		return topEnd(doc, i)
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return errNotJSONObject
		}
		ks := i
		i = scanString(doc, i)
		if i < 0 {
			return errNotJSONObject
		}
		key := doc[ks+1 : i-1]
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ':' {
			return errNotJSONObject
		}
		vs := skipWS(doc, i+1)
		ve := skipValue(doc, vs, 1)
		if ve < 0 {
			return errNotJSONObject
		}
		s := [2]int{vs, ve}
		switch topKey(key) {
		case "model":
			if doc[vs] == '"' {
				sp.model = append(sp.model, s)
			}
		case "max_tokens":
			sp.maxTokens = append(sp.maxTokens, s)
		case "max_completion_tokens":
			sp.maxCompletion = append(sp.maxCompletion, s)
		case "stream_options":
			sp.streamOptions = append(sp.streamOptions, s)
		case "usage":
			sp.usage = append(sp.usage, s)
			sp.usageNull = doc[vs] == 'n'
		case "choices":
			sp.choices = append(sp.choices, s)
		case "error":
			if doc[vs] != 'n' {
				sp.errorField = append(sp.errorField, s)
			}
		}
		i = skipWS(doc, ve)
		if i < len(doc) && doc[i] == ',' {
			i = skipWS(doc, i+1)
			continue
		}
		if i < len(doc) && doc[i] == '}' {
			return topEnd(doc, i)
		}
		return errNotJSONObject
	}
}

// topEnd checks that only whitespace follows the closing brace at doc[i].
func topEnd(doc []byte, i int) error {
	if skipWS(doc, i+1) != len(doc) {
		return errNotJSONObject
	}
	return nil
}

// notJSONObject is the error topLevel's failure on doc reports: the one
// encoding/json gives for what is not JSON, errNotJSONObject for JSON
// that is not an object (what the checks before topLevel read reported).
func notJSONObject(doc []byte) error {
	if !json.Valid(doc) {
		return json.Unmarshal(doc, new(json.RawMessage))
	}
	return errNotJSONObject
}

var errNotJSONObject = errors.New("not a JSON object")

var answerKeys = []string{"usage", "choices", "error"}

// topKey returns the name of the top-level key topLevel reads that key
// is, or "". An answer's keys (answerKeys) match as encoding/json matches
// them into the translation lane's structs: without regard to case, as
// strings.EqualFold compares them.
func topKey(key []byte) string {
	switch string(key) { // the names as they are written, without a copy
	case "model":
		return "model"
	case "max_tokens":
		return "max_tokens"
	case "max_completion_tokens":
		return "max_completion_tokens"
	case "stream_options":
		return "stream_options"
	case "usage":
		return "usage"
	case "choices":
		return "choices"
	case "error":
		return "error"
	}
	// A key beyond ASCII may hold a letter that folds to an ASCII one
	// (ſ, K), in more bytes: it needs strings.EqualFold. Any other folds
	// to k as fieldIs compares. (The names have 5 bytes or more: a key of
	// 5 bytes or fewer that is not ASCII has fewer letters than they.)
	if len(key) > 5 && !isASCII(key) {
		for _, k := range answerKeys {
			if strings.EqualFold(string(key), k) {
				return k
			}
		}
		return ""
	}
	for _, k := range answerKeys {
		if fieldIs(key, k) {
			return k
		}
	}
	return ""
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1.
// It does not check the string: see scanString.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// chatUsage is what the scanner reads of an answer or a chunk.
type chatUsage struct {
	Usage *wire.Usage `json:"usage"`
}

// chatText is what a local token count reads of an answer.
type chatText struct {
	Choices []struct {
		Message struct {
			Content   string          `json:"content"` // null reads as "": nothing to add either way
			ToolCalls []wire.ToolCall `json:"tool_calls"`
		} `json:"message"`
		Delta struct {
			Content   string               `json:"content"`
			ToolCalls []wire.ToolCallDelta `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
}

func (t *chatText) appendTo(sb *strings.Builder, limit int) {
	add := func(s string) {
		if room := limit - sb.Len(); room > 0 {
			sb.WriteString(s[:min(len(s), room)])
		}
	}
	for _, c := range t.Choices {
		add(c.Message.Content)
		for _, tc := range c.Message.ToolCalls {
			add(tc.Function.Name)
			add(tc.Function.Arguments)
		}
		add(c.Delta.Content)
		for _, tc := range c.Delta.ToolCalls {
			add(tc.Function.Name)
			add(tc.Function.Arguments)
		}
	}
}

// maxChatText bounds the text a stream keeps for a local count, as the
// translation lane bounds its own.
const maxChatText = 1 << 20

// chatJSON is a whole answer with its model renamed.
type chatJSON struct {
	bytes.Reader
	raw     []byte
	u       llm.Usage
	seen    bool
	reasons []string
}

func (j *chatJSON) FinishReasons() []string { return j.reasons }

func newChatJSON(ctx context.Context, b []byte, reply string) (*chatJSON, error) {
	sp := getSpans()
	defer spansPool.Put(sp)
	if err := topLevel(b, sp); err != nil {
		if !json.Valid(b) {
			// The error the translation lane's decoder reports.
			return nil, upstream.DecodeError(ctx, json.NewDecoder(bytes.NewReader(b)).Decode(new(json.RawMessage)))
		}
		return nil, upstream.Unreadable("response", err)
	}
	j := &chatJSON{raw: b}
	if len(sp.choices) > 0 {
		cs := sp.choices[len(sp.choices)-1]
		j.reasons = appendFinishReasons(nil, b[cs[0]:cs[1]])
	}
	if len(sp.usage) > 0 && !sp.usageNull {
		s := sp.usage[len(sp.usage)-1]
		u, err := readUsage(b[s[0]:s[1]])
		if err != nil {
			return nil, upstream.Unreadable("response", err)
		}
		j.u, j.seen = u, true
	}
	if reply != "" && len(sp.model) > 0 {
		m := jsonString(reply)
		var editBuf [2]edit
		edits := editBuf[:0]
		for _, s := range sp.model {
			edits = append(edits, edit{s[0], s[1], m})
		}
		b = apply(b, edits)
	}
	j.Reader.Reset(b)
	return j, nil
}

func (j *chatJSON) Close() error             { return nil }
func (j *chatJSON) Usage() (llm.Usage, bool) { return j.u, j.seen }

// Text decodes the answer's text, read only for a local count or the body
// log.
func (j *chatJSON) Text() string {
	var t chatText
	var sb strings.Builder
	if json.Unmarshal(j.raw, &t) == nil {
		t.appendTo(&sb, maxJSONAnswer)
	}
	return sb.String()
}

// chatSSE passes a chat.completion.chunk stream through frame by frame,
// each chunk's model renamed, reading usage from the chunk that carries it
// and the generated text for a local count.
type chatSSE struct {
	ctx   context.Context
	body  io.ReadCloser
	wait  upstream.WaitHook // between r and body
	r     *upstream.SSEReader
	reply []byte // the reply model, JSON-encoded
	hide  bool   // drop the usage-only chunk
	u     llm.Usage
	seen  bool
	text  strings.Builder
	tmp   chatText // what encoding/json decodes when choicesText declines
	sp    spans    // the current chunk's, reused chunk after chunk
	done  bool     // [DONE] passed

	textSpans [][2]int  // the current chunk's text, in its choices
	textRoom  [4][2]int // backs textSpans for a chunk of up to 4 strings
	scratch   []byte    // a string of it unescaped

	reasons []string // the finish reasons of the chunks so far

	out []byte
	buf []byte
	err error
}

func (s *chatSSE) Usage() (llm.Usage, bool) { return s.u, s.seen }

// BeforeWait has f called whenever the reader is about to read the
// upstream's connection: nothing of it is buffered any more.
func (s *chatSSE) BeforeWait(f func()) bool {
	s.wait.Before = f
	return true
}
func (s *chatSSE) FinishReasons() []string { return s.reasons }
func (s *chatSSE) Text() string            { return s.text.String() }

// Close drains what the upstream still sends after [DONE], so that its
// connection is reused, and closes it.
func (s *chatSSE) Close() error {
	if s.done {
		upstream.Drain(s.body)
	}
	s.r.Release()
	return s.body.Close()
}

// first reads the first frame: an error there is the upstream's refusal,
// which the gateway may still retry.
func (s *chatSSE) first() error {
	for len(s.out) == 0 {
		ev, err := s.r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
			}
			return upstream.ReadError(s.ctx, err)
		}
		if err := s.frame(ev.Data); err != nil {
			return err
		}
	}
	return nil
}

// Read hands out the stream's bytes, one frame at a time.
func (s *chatSSE) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		ev, err := s.r.Next()
		switch {
		case errors.Is(err, io.EOF):
			s.err = io.EOF
			if !s.done {
				// Some compatible servers end without [DONE]; the
				// client gets it as the translation lane sends it.
				s.done = true
				s.out = append(s.buf[:0], "data: [DONE]\n\n"...)
			}
		case err != nil:
			s.err = upstream.ReadError(s.ctx, err)
		default:
			if err := s.frame(ev.Data); err != nil {
				s.err = err
			}
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	if len(s.out) == 0 && s.done {
		// [DONE] ends the answer: it is handed out with io.EOF, so that
		// the gateway settles the call (ledger, response cache) before the
		// client sees the end (see upstream.Relay.Ended).
		s.err = io.EOF
		return n, io.EOF
	}
	return n, nil
}

var doneData = []byte("[DONE]")

// frame reads one event's data into s.out (nothing for a dropped one).
func (s *chatSSE) frame(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		s.done = true
		s.out = append(s.buf[:0], "data: [DONE]\n\n"...)
		return nil
	}
	sp := &s.sp
	if topLevel(data, sp) != nil {
		return upstream.Unreadable("stream chunk", notJSONObject(data))
	}
	if len(sp.errorField) > 0 {
		var e struct {
			Message string `json:"message"`
		}
		es := sp.errorField[0]
		_ = json.Unmarshal(data[es[0]:es[1]], &e)
		return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: " + e.Message}
	}
	usageOnly := false
	if len(sp.usage) > 0 && !sp.usageNull {
		us := sp.usage[len(sp.usage)-1]
		u, err := readUsage(data[us[0]:us[1]])
		if err != nil {
			return upstream.Unreadable("stream chunk", err)
		}
		s.u, s.seen = u, true
		usageOnly = len(sp.choices) == 0 || emptyArray(data[sp.choices[0][0]:sp.choices[0][1]])
	}
	if len(sp.choices) > 0 {
		cs := sp.choices[0]
		s.reasons = appendFinishReasons(s.reasons, data[cs[0]:cs[1]])
	}
	if len(sp.choices) > 0 && s.text.Len() < maxChatText {
		cs := sp.choices[0]
		if err := s.appendText(data[cs[0]:cs[1]]); err != nil {
			return err
		}
	}
	if usageOnly && s.hide {
		return nil
	}
	out := append(s.buf[:0], "data: "...)
	prev := 0
	if len(s.reply) > 0 {
		for _, m := range sp.model {
			out = append(append(out, data[prev:m[0]]...), s.reply...)
			prev = m[1]
		}
	}
	out = append(append(out, data[prev:]...), "\n\n"...)
	s.buf, s.out = out, out
	return nil
}

// appendText adds a chunk's generated text to s.text: read by hand
// (choicesText), or decoded by encoding/json when choices is not of the
// shape choicesText reads.
func (s *chatSSE) appendText(choices []byte) error {
	if s.textSpans == nil {
		s.textSpans = s.textRoom[:0] // s is not copied
	}
	var ok bool
	s.textSpans, ok = choicesText(s.textSpans[:0], choices)
	if !ok {
		// encoding/json decodes into the elements it finds: cleared,
		// a field absent from this chunk cannot keep the last one's.
		s.tmp.Choices = s.tmp.Choices[:cap(s.tmp.Choices)]
		clear(s.tmp.Choices)
		s.tmp.Choices = s.tmp.Choices[:0]
		if json.Unmarshal(choices, &s.tmp.Choices) != nil {
			return upstream.Unreadable("stream chunk", errors.New("choices is not an array"))
		}
		s.tmp.appendTo(&s.text, maxChatText)
		return nil
	}
	for _, sp := range s.textSpans {
		v := choices[sp[0]:sp[1]]
		if plainString(v) {
			v = v[1 : len(v)-1]
		} else {
			s.scratch = appendUnquoted(s.scratch[:0], v)
			v = s.scratch
		}
		// As chatText.appendTo adds: up to limit bytes, if need be
		// through a rune.
		if room := maxChatText - s.text.Len(); room > 0 {
			s.text.Write(v[:min(len(v), room)])
		}
	}
	return nil
}

// readUsage reads a usage object (not null) as wire.UsageToLLM of its
// decoding: by hand if usageOf reads it, else with encoding/json.
func readUsage(v []byte) (llm.Usage, error) {
	if u, ok := usageOf(v); ok {
		return u, nil
	}
	var u wire.Usage
	if err := json.Unmarshal(v, &u); err != nil {
		return llm.Usage{}, err
	}
	return wire.UsageToLLM(&u), nil
}

func emptyArray(b []byte) bool {
	return len(b) >= 2 && b[0] == '[' && len(bytes.TrimSpace(b[1:len(b)-1])) == 0 && b[len(b)-1] == ']'
}

var finishKey = []byte(`"finish_reason"`)

// appendFinishReasons appends the string values of "finish_reason" found
// in choices, a chunk's or an answer's choices array, without decoding it
// (null, the value of every chunk but the last, is passed over). The key
// cannot match inside a string value: quotes there are escaped.
func appendFinishReasons(dst []string, choices []byte) []string {
	for {
		i := bytes.Index(choices, finishKey)
		if i < 0 {
			return dst
		}
		choices = choices[i+len(finishKey):]
		j := skipWS(choices, 0)
		if j >= len(choices) || choices[j] != ':' {
			continue
		}
		j = skipWS(choices, j+1)
		if j >= len(choices) || choices[j] != '"' {
			continue
		}
		end := skipString(choices, j)
		if end < 0 {
			return dst
		}
		v := choices[j+1 : end-1]
		switch string(v) { // the common reasons without an allocation
		case "stop":
			dst = append(dst, "stop")
		case "length":
			dst = append(dst, "length")
		case "tool_calls":
			dst = append(dst, "tool_calls")
		case "content_filter":
			dst = append(dst, "content_filter")
		default:
			var r string
			if json.Unmarshal(choices[j:end], &r) == nil {
				dst = append(dst, r)
			}
		}
		choices = choices[end:]
	}
}

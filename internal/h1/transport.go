// Package h1 is an HTTP/1.1 client transport that does each exchange on the
// caller's goroutine: it writes the request and reads the response itself,
// where net/http's Transport hands every request to a connection's writeLoop
// and readLoop goroutines and back (issue 17: those hand-offs and the
// scheduler wake-ups between them cost more CPU per request than the rest
// of the exchange).
//
// It takes only the plain, common case, and gives everything else unchanged
// to a Fallback transport (net/http's):
//
//   - scheme http (plain TCP: in-house models such as vLLM, Ollama and
//     llama.cpp); https keeps net/http's TLS and HTTP/2;
//   - no proxy (the Proxy func returns nil);
//   - no body, or one of known length (ContentLength > 0); a body of unknown
//     length (a pipe, sent chunked) is net/http's;
//   - no Expect: 100-continue, no Upgrade, no Connection: upgrade, no
//     trailers, no Transfer-Encoding set by the caller, a plain ASCII Host.
//
// The request on the wire is what net/http sends, headers in the same order,
// except that Accept-Encoding: gzip is not added: the answer is therefore
// never compressed behind the caller's back and needs no transparent
// decompression (a caller that asks for gzip itself gets it as sent, as with
// net/http).
//
// Connections are kept per host:port on a LIFO stack of idle ones (the most
// recently used first, so that a quiet period lets the older ones expire).
// An idle connection is looked at before it is reused (idleClean: one
// non-blocking peek, where net/http keeps a reader goroutine per
// connection): one the server closed, or sent anything on, is dropped. A
// close that comes after that look, while the request is sent, is the one
// failure retried, once, on a new connection, when the body can be sent
// again. Unlike net/http, a POST is retried too (net/http retries only
// idempotent requests once bytes were written): the close is only noticed
// when the request is sent, so without it a request that meets an
// upstream's keep-alive timeout would fail. The cost is that an upstream
// that read a request and then closed without a byte of answer sees it
// twice. No goroutine runs per request or per connection; one timer sweeps
// the expired idle connections.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of the Transport's zero fields.
const (
	DefaultMaxIdleConnsPerHost    = 256
	DefaultIdleConnTimeout        = 90 * time.Second
	DefaultMaxResponseHeaderBytes = 1 << 20
)

// Buffer sizes per connection: a request's headers and a body of a few KiB
// go out in one write.
const (
	writeBufferSize = 8 << 10
	readBufferSize  = 4 << 10
)

// max1xx bounds the informational answers skipped before the final one, as
// net/http does.
const max1xx = 5

const defaultUserAgent = "Go-http-client/1.1"

var defaultDialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}

// Transport is an http.RoundTripper for plain HTTP/1.1; see the package
// comment for what it hands to Fallback. The zero value is usable.
type Transport struct {
	// Fallback carries the requests this transport does not take
	// (http.DefaultTransport when nil).
	Fallback http.RoundTripper
	// Proxy is asked for each request as net/http's Transport.Proxy is; a
	// request that is to go through a proxy goes to Fallback.
	Proxy func(*http.Request) (*url.URL, error)
	// DialContext opens connections (a net.Dialer with a 10s timeout and
	// 30s keep-alive when nil).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// ResponseHeaderTimeout, if positive, bounds the wait for the response
	// headers once the request is written.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost (default 256), IdleConnTimeout (default 90s) and
	// MaxResponseHeaderBytes (default 1 MiB) are as in net/http.
	MaxIdleConnsPerHost    int
	IdleConnTimeout        time.Duration
	MaxResponseHeaderBytes int64

	mu    sync.Mutex
	idle  map[string][]*conn
	sweep *time.Timer // armed while any connection is idle
}

var (
	errHeaderTooLarge = errors.New("h1: response headers exceed the limit")
	errClosedBody     = errors.New("http: read on closed response body")
	errSwitch         = errors.New("h1: unexpected 101 Switching Protocols")
	errTooMany1xx     = errors.New("h1: too many 1xx informational responses")
)

// timeoutError is the error of a response header wait that timed out; like
// net/http's, it is a net.Error whose Timeout is true.
type timeoutError struct{}

func (timeoutError) Error() string   { return "h1: timeout awaiting response headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// testHookBeforeHeaderDeadline, set by tests, runs after the request is
// written and before the header deadline is set.
var testHookBeforeHeaderDeadline func()

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	host, ok := t.takes(req)
	if !ok {
		return t.fallback().RoundTrip(req)
	}
	body := req.Body
	uri, err := validate(req)
	if err != nil {
		closeBody(body)
		return nil, err
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		closeBody(body)
		return nil, ctx.Err()
	}
	key := hostPort(req.URL)
	for retried := false; ; retried = true {
		c, err := t.conn(ctx, key, retried)
		if err != nil {
			closeBody(body)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		resp, err := t.exchange(c, req, uri, host, body)
		if err == nil {
			return resp, nil
		}
		var se staleError
		if retried || !errors.As(err, &se) || ctx.Err() != nil {
			return nil, unwrapStale(err)
		}
		// The server closed the idle connection before it saw the request:
		// once more on a new one, if the body can be sent again.
		if body != nil && body != http.NoBody {
			if req.GetBody == nil {
				return nil, se.err
			}
			if body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("h1: rewind the body to retry: %w", err)
			}
		}
	}
}

// staleError marks a failure on a reused connection before any byte of the
// answer came: the server had closed it while it was idle.
type staleError struct{ err error }

func (e staleError) Error() string { return e.err.Error() }
func (e staleError) Unwrap() error { return e.err }

func unwrapStale(err error) error {
	var se staleError
	if errors.As(err, &se) {
		return se.err
	}
	return err
}

// takes reports whether t carries req itself, and the Host to send.
func (t *Transport) takes(req *http.Request) (string, bool) {
	u := req.URL
	if u == nil || u.Scheme != "http" || u.Host == "" || req.Method == http.MethodConnect {
		return "", false
	}
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		if req.ContentLength != 0 {
			return "", false // net/http says what is wrong
		}
	case req.ContentLength <= 0:
		return "", false
	}
	if len(req.TransferEncoding) > 0 || req.Trailer != nil {
		return "", false
	}
	h := req.Header
	if len(h["Expect"]) > 0 || len(h["Upgrade"]) > 0 || hasToken(h["Connection"], "upgrade") {
		return "", false
	}
	host := req.Host
	if host == "" {
		host = u.Host
	}
	if !plainHost(host) {
		return "", false // punycode, IPv6 zones, invalid hosts: net/http's rules
	}
	proxy := t.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	if p, err := proxy(req); err != nil || p != nil {
		return "", false
	}
	return host, true
}

func (t *Transport) fallback() http.RoundTripper {
	if t.Fallback != nil {
		return t.Fallback
	}
	return http.DefaultTransport
}

// CloseIdleConnections closes the idle connections, this transport's and
// the fallback's.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	if t.sweep != nil {
		t.sweep.Stop()
		t.sweep = nil
	}
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.nc.Close()
		}
	}
	if ci, ok := t.fallback().(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// conn is one connection; its buffers live as long as it does.
type conn struct {
	t      *Transport
	key    string
	nc     net.Conn
	br     *bufio.Reader // reads through the conn itself, for the header limit
	bw     *bufio.Writer
	left   int64 // bytes the response may still take (the header limit)
	nread  int64 // bytes read in this exchange
	idleAt time.Time
	reused bool
	fired  atomic.Bool // the request's context was done during this exchange
	stopFn func() bool // stops the context's AfterFunc; nil when none
	spoilt bool        // the AfterFunc could not be stopped: it ran
	onDone func()      // interrupt, bound once
	keys   []string    // scratch for sorting header names
	one    [1]byte     // scratch for the look past a body's announced end, and idleClean's

	// idleClean's look at the socket (idle_unix.go), bound once.
	raw    syscall.RawConn
	peekFn func(fd uintptr) bool
	clean  bool
}

// Read feeds br: it counts the bytes and fails once the header limit is
// spent, as net/http's persistConn does.
func (c *conn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.nc.Read(p)
	c.left -= int64(n)
	c.nread += int64(n)
	return n, err
}

// interrupt runs when the request's context is done: it unblocks whatever
// the exchange waits on, and the connection is not reused.
func (c *conn) interrupt() {
	c.fired.Store(true)
	c.nc.SetDeadline(time.Unix(1, 0))
}

// conn returns an idle connection to key, or a new one (always when
// fresh: a retry must not meet another connection the server closed).
func (t *Transport) conn(ctx context.Context, key string, fresh bool) (*conn, error) {
	if !fresh {
		if c := t.takeIdle(key); c != nil {
			return c, nil
		}
	}
	dial := t.DialContext
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", key)
	if err != nil {
		return nil, err
	}
	c := &conn{t: t, key: key, nc: nc, bw: bufio.NewWriterSize(nc, writeBufferSize)}
	c.br = bufio.NewReaderSize(c, readBufferSize)
	c.onDone = c.interrupt
	return c, nil
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleConnTimeout > 0 {
		return t.IdleConnTimeout
	}
	return DefaultIdleConnTimeout
}

// takeIdle pops the most recently used idle connection to key that
// nothing came on while idle (idleClean); when one has expired, so have all
// below it.
func (t *Transport) takeIdle(key string) *conn {
	for {
		t.mu.Lock()
		cs := t.idle[key]
		if len(cs) == 0 {
			t.mu.Unlock()
			return nil
		}
		c := cs[len(cs)-1]
		if time.Since(c.idleAt) > t.idleTimeout() {
			delete(t.idle, key)
			t.mu.Unlock()
			for _, c := range cs {
				c.nc.Close()
			}
			return nil
		}
		cs[len(cs)-1] = nil
		t.idle[key] = cs[:len(cs)-1]
		t.mu.Unlock()
		if !c.idleClean() {
			c.nc.Close()
			continue
		}
		c.reused = true
		return c
	}
}

// putIdle keeps c for the next request to its host, or closes it when the
// host has enough idle connections.
func (t *Transport) putIdle(c *conn) {
	max := t.MaxIdleConnsPerHost
	if max <= 0 {
		max = DefaultMaxIdleConnsPerHost
	}
	c.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = make(map[string][]*conn)
	}
	cs := t.idle[c.key]
	if len(cs) >= max {
		t.mu.Unlock()
		c.nc.Close()
		return
	}
	t.idle[c.key] = append(cs, c)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleTimeout(), t.sweepIdle)
	}
	t.mu.Unlock()
}

// sweepIdle closes the expired idle connections, so that a gateway gone
// quiet does not hold its sockets for ever, and comes back while any
// remain.
func (t *Transport) sweepIdle() {
	var stale []*conn
	timeout := t.idleTimeout()
	now := time.Now()
	t.mu.Lock()
	for key, cs := range t.idle {
		n := 0 // the stack is oldest first
		for n < len(cs) && now.Sub(cs[n].idleAt) > timeout {
			n++
		}
		if n == 0 {
			continue
		}
		stale = append(stale, cs[:n]...)
		if n == len(cs) {
			delete(t.idle, key)
		} else {
			t.idle[key] = slices.Delete(cs, 0, n)
		}
	}
	// One timer only, re-armed: a sweep that ran while CloseIdleConnections
	// and a putIdle armed a new one must not start a second chain.
	switch {
	case len(t.idle) == 0:
		t.sweep = nil
	case t.sweep == nil:
		t.sweep = time.AfterFunc(timeout/2, t.sweepIdle)
	default:
		t.sweep.Reset(timeout / 2)
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.nc.Close()
	}
}

// exchange writes req on c and reads the answer's headers.
func (t *Transport) exchange(c *conn, req *http.Request, uri, host string, body io.ReadCloser) (*http.Response, error) {
	ctx := req.Context()
	c.fired.Store(false)
	c.stopFn, c.spoilt = nil, false
	if ctx.Done() != nil {
		c.stopFn = context.AfterFunc(ctx, c.onDone)
	}
	fail := func(err error) (*http.Response, error) {
		c.stop()
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := c.writeRequest(req, uri, host, body); err != nil {
		if c.reused && !errors.Is(err, errBodyLength) {
			err = staleError{err}
		}
		return fail(err)
	}

	c.nread = 0
	limit := t.MaxResponseHeaderBytes
	if limit <= 0 {
		limit = DefaultMaxResponseHeaderBytes
	}
	if testHookBeforeHeaderDeadline != nil {
		testHookBeforeHeaderDeadline()
	}
	if t.ResponseHeaderTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t.ResponseHeaderTimeout))
		if c.fired.Load() {
			// The context fired before the deadline was set: its past
			// deadline was just overwritten, and the read would wait
			// for the header timeout (TestCancelBeforeHeaderDeadline).
			c.interrupt()
		}
	}
	var resp *http.Response
	var err error
	for n1xx := 0; ; n1xx++ {
		c.left = limit
		resp, err = http.ReadResponse(c.br, req)
		if err != nil || resp.StatusCode < 100 || resp.StatusCode > 199 {
			break
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			err = errSwitch // no Upgrade was asked for
			break
		}
		if n1xx == max1xx {
			err = errTooMany1xx
			break
		}
	}
	if err != nil {
		switch {
		case c.left <= 0:
			err = errHeaderTooLarge
		case isTimeout(err) && !c.fired.Load():
			err = timeoutError{}
		case c.reused && c.nread == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
			err = staleError{err}
		}
		return fail(err)
	}
	c.left = math.MaxInt64
	if t.ResponseHeaderTimeout > 0 {
		c.nc.SetReadDeadline(time.Time{})
		if c.fired.Load() {
			c.interrupt() // the context fired before the deadline was cleared
		}
	}
	reusable := !resp.Close && !wantsClose(req)
	if resp.Body == http.NoBody || req.Method == http.MethodHead {
		c.release(reusable)
		return resp, nil
	}
	resp.Body = &bodyReader{c: c, rc: resp.Body, ctx: ctx, reusable: reusable}
	return resp, nil
}

// stop ends the context watch of the exchange; it reports false when the
// context fired, after which the connection's deadline is spoilt. It may be
// called more than once (the AfterFunc's stop reports false the second
// time, as if the context had fired).
func (c *conn) stop() bool {
	if f := c.stopFn; f != nil {
		c.stopFn = nil
		if !f() {
			c.spoilt = true // interrupt runs, or ran
		}
	}
	return !c.spoilt && !c.fired.Load()
}

// release ends the exchange: the connection goes back to the pool when the
// answer was read whole, the context did not fire, and nothing unread is
// left in its buffer (a server that sent more than it announced).
func (c *conn) release(reusable bool) {
	if c.stop() && reusable && c.br.Buffered() == 0 {
		c.t.putIdle(c)
		return
	}
	c.nc.Close()
}

// bodyReader is the response body: it gives the connection back at EOF and
// closes it when the caller closes the body first.
type bodyReader struct {
	c        *conn
	rc       io.ReadCloser // net/http's body reader, over c.br
	ctx      context.Context
	reusable bool

	mu     sync.Mutex
	done   bool // EOF seen, failed or closed: c is no longer this body's
	closed bool
	// err is what a Read returns once done: io.EOF, or the failure, again,
	// as net/http's bodies do (an io.EOF after a failure would make an
	// answer cut short look whole to a reader that reads again).
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, errClosedBody
	}
	if b.done {
		b.mu.Unlock()
		return 0, b.err
	}
	b.mu.Unlock()
	// Not under the lock: Close must be able to interrupt a blocked read.
	n, err := b.rc.Read(p)
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		// Closed meanwhile; the connection is closed too.
		if err == io.EOF {
			return n, err
		}
		return n, errClosedBody
	}
	b.done = true
	if err == io.EOF {
		b.err = io.EOF
		b.c.release(b.reusable)
		return n, io.EOF
	}
	b.c.stop()
	b.c.nc.Close()
	if cerr := b.ctx.Err(); cerr != nil {
		err = cerr
	}
	b.err = err
	return n, err
}

// Close closes the connection unless the body was read to its end: the
// rest of the answer, a stream perhaps, is not waited for.
func (b *bodyReader) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.done {
		return nil
	}
	b.done = true
	b.c.stop()
	b.c.nc.Close()
	return nil
}

var errBodyLength = errors.New("h1: body length differs from ContentLength")

// writeRequest writes req as net/http would (without Accept-Encoding) in
// one flush, and closes body.
func (c *conn) writeRequest(req *http.Request, uri, host string, body io.ReadCloser) error {
	w := c.bw
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	ua := defaultUserAgent
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = trim(v[0])
		}
	}
	if ua != "" {
		w.WriteString("User-Agent: ")
		w.WriteString(ua)
		w.WriteString("\r\n")
	}
	if req.Close && !hasToken(firstConnection(req), "close") {
		w.WriteString("Connection: close\r\n")
	}
	n := req.ContentLength
	if n > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), n, 10)) // no copy, no allocation
		w.WriteString("\r\n")
	}
	// The caller's headers, sorted by name as net/http writes them.
	keys := c.keys[:0]
	for k := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(trim(v))
			w.WriteString("\r\n")
		}
	}
	clear(keys)
	c.keys = keys[:0]
	w.WriteString("\r\n")
	if body != nil && body != http.NoBody {
		sent, err := copyBody(w, body, n)
		if err == nil && sent < n {
			err = fmt.Errorf("%w: ContentLength=%d with Body length %d", errBodyLength, n, sent)
		}
		if err == nil {
			if m, _ := body.Read(c.one[:]); m > 0 {
				err = fmt.Errorf("%w: ContentLength=%d with a longer Body", errBodyLength, n)
			}
		}
		if cerr := body.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			w.Reset(c.nc)
			return err
		}
	}
	if err := w.Flush(); err != nil {
		w.Reset(c.nc)
		return err
	}
	return nil
}

// copyBody copies n bytes of r into w's own buffer, flushing it when full:
// unlike bufio.Writer.ReadFrom, it never falls back on an io.Copy buffer.
func copyBody(w *bufio.Writer, r io.Reader, n int64) (int64, error) {
	var sent int64
	for sent < n {
		if w.Available() == 0 {
			if err := w.Flush(); err != nil {
				return sent, err
			}
		}
		buf := w.AvailableBuffer()
		buf = buf[:min(int64(cap(buf)), n-sent)]
		m, err := r.Read(buf)
		w.Write(buf[:m])
		sent += int64(m)
		if err == io.EOF {
			return sent, nil
		}
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// validate refuses what net/http's Transport refuses before writing: an
// invalid method, header name or value, or a control byte in the URL. It
// returns the request URI to write.
func validate(req *http.Request) (string, error) {
	if req.Method != "" && !isToken(req.Method) {
		return "", fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	for k, vs := range req.Header {
		if !isToken(k) {
			return "", fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				// The value is not quoted: it may hold a secret.
				return "", fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	uri := req.URL.RequestURI()
	for i := 0; i < len(uri); i++ {
		if uri[i] < ' ' || uri[i] == 0x7f {
			return "", errors.New("net/http: can't write control character in Request.URL")
		}
	}
	return uri, nil
}

// wantsClose reports whether the request asks for its connection to close.
func wantsClose(req *http.Request) bool {
	return req.Close || hasToken(firstConnection(req), "close")
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// hostPort is the pool key and dial address of u: its host with the port,
// 80 when none is given.
func hostPort(u *url.URL) string {
	h := u.Host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		if i == len(h)-1 {
			return h + "80" // "host:" means the default port
		}
		return h
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// firstConnection is the first Connection header value, the one net/http
// looks at for "close".
func firstConnection(req *http.Request) []string {
	v := req.Header["Connection"]
	return v[:min(len(v), 1)]
}

// hasToken reports whether a comma-separated header value holds token,
// in any case.
func hasToken(vs []string, token string) bool {
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trim(part), token) {
				return true
			}
		}
	}
	return false
}

// trim is textproto.TrimString: spaces and tabs at both ends.
func trim(s string) string {
	return strings.Trim(s, " \t")
}

// isToken reports whether s is an RFC 9110 token, as header names and
// methods must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue reports whether a header value holds no control byte but
// space and tab (httpguts.ValidHeaderFieldValue).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// plainHost reports whether host is ASCII made of the bytes
// httpguts.ValidHostHeader allows, and no IPv6 zone: such a host is sent
// as it is, as net/http would send it.
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if !hostByte[host[i]] {
			return false
		}
	}
	return true
}

var hostByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!$&'()*+,-.:;=[]_~" { // '%' (zones and escapes) left to net/http
		t[c] = true
	}
	return t
}()

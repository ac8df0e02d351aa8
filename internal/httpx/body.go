package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/llmservice/llmservice"
)

// ReadBody reads a request body of at most limit bytes. A body that
// announces its length is read into one buffer of exactly that size (no
// doubling growth, no second copy), and one announced over the limit is
// refused before a byte of it is read. Every failure is an *llmservice.Error:
// TooLarge over the limit, the error of the body itself when it is one (the
// server's budget of body bytes in flight refuses that way, with 503), and
// Invalid otherwise (a client that hung up or trickled past the read
// timeout).
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var buf bytes.Buffer
	if r.ContentLength >= 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, readError(err, limit)
		}
		// A body a handler put back (r.Body replaced, the length not)
		// may hold more than announced: read on rather than cut it.
		var one [1]byte
		n, err := body.Read(one[:])
		if n == 0 && (err == io.EOF || err == nil && r.ContentLength > 0) {
			return b, nil
		}
		if err != nil && err != io.EOF {
			return nil, readError(err, limit)
		}
		buf.Write(b)
		buf.Write(one[:n])
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, readError(err, limit)
	}
	return buf.Bytes(), nil
}

func tooLarge(limit int64) error {
	return llmservice.Errorf(llmservice.TooLarge, "request body is larger than the limit of %d bytes", limit)
}

func readError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var le *llmservice.Error
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.As(err, &le):
		return le
	}
	return llmservice.Errorf(llmservice.Invalid, "could not read request body")
}

type refusalKey struct{}

// Refuse marks ctx so that a handler wrapped by Handle answers err, in its
// own dialect, without running. The server refuses this way when it is
// over a capacity limit: only the handler knows the caller's error shape.
func Refuse(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, refusalKey{}, err)
}

// Refusal returns the error Refuse stored in ctx, or nil.
func Refusal(ctx context.Context) error {
	if err, _ := ctx.Value(refusalKey{}).(error); err != nil {
		return err
	}
	if c := requestContext(ctx); c != nil {
		return c.Refusal
	}
	return nil
}

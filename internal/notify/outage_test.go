package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/outage"
)

// A bus that fails to reconnect several times logs the loss once and the
// reconnection once, not every attempt.
func TestReconnectsAreLoggedOnce(t *testing.T) {
	var buf bytes.Buffer // written by retry's goroutine only; read after it ends
	tr := outage.New("invalidation bus", "postgres", slog.New(slog.NewTextHandler(&buf, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	attempts := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		retry(ctx, tr, func(ctx context.Context, connected func()) error {
			attempts++
			if attempts <= 4 {
				return errors.New("connection refused")
			}
			connected()
			cancel()
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-done
	out := buf.String()
	if n := strings.Count(out, "invalidation bus: postgres unavailable"); n != 1 {
		t.Errorf("4 failed reconnects logged %d lines; want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "invalidation bus: postgres answers again"); n != 1 || !strings.Contains(out, "failed_attempts=4") {
		t.Errorf("the reconnection logged %d lines; want 1 with failed_attempts=4:\n%s", n, out)
	}
}

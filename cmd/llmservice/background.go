package main

import (
	"context"
	"sync"
)

// background runs the process's long-lived goroutines and stops them at
// shutdown: each gets a context that ends when Stop is called, and Stop waits
// for all of them to return.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel}
}

// Go runs fn until Stop.
func (b *background) Go(fn func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn(b.ctx)
	}()
}

// Stop ends every goroutine's context and waits for them, or for ctx.
func (b *background) Stop(ctx context.Context) error {
	b.cancel()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Package queue runs the durable task queue: workers claim due tasks from
// the store with a lease, run them through the handler of their kind, and
// store the outcome in the same write that finishes the task.
//
// Guarantees, and where they come from:
//   - A task survives a restart or a crash: it lives in the database from
//     enqueue to completion. A task whose worker died is claimed again once
//     its lease has run out (workers extend the lease while they run).
//   - A finished task never runs again: completion, retry and lease
//     extension are conditional on the worker's lease token, so a worker
//     that lost its lease can change nothing.
//   - A task may run more than once before it finishes (a crash mid-call,
//     a stall longer than the lease). Handlers make that harmless: batch
//     results are written by the completion itself, and calls are billed
//     once per task (see the usage_job_once index in internal/sqlite).
//   - Rate limits are respected, not failed on: a handler answers a 429
//     with RateLimited, which puts the task back without counting an
//     attempt and holds the team's tasks back until the limit resets.
//
// A home-made queue rather than River: see docs/batches.md ("Why not River").
package queue

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/outage"
)

// Store is what the runner needs of llmservice.TaskStore.
type Store interface {
	ClaimTask(ctx context.Context, c llmservice.TaskClaim) (*llmservice.Task, error)
	ExtendTaskLease(ctx context.Context, id, lease string, d time.Duration) error
	CompleteTask(ctx context.Context, id, lease string, c llmservice.TaskCompletion) error
	RetryTask(ctx context.Context, id, lease string, r llmservice.TaskRetry) error
}

// Outcome is what a finished task stores.
type Outcome struct {
	Failed bool // the task failed for good (its result says why)
	Result []byte
	Error  string
	// Credit is applied in the same transaction as the completion (a
	// refund for a failed paid task).
	Credit *llmservice.CreditChange
}

// Handler runs the tasks of one kind.
type Handler struct {
	// Run does the work. It returns the outcome to store, or an error to
	// try again later: RateLimited and Snooze errors without counting an
	// attempt, any other error with backoff until the task's MaxAttempts
	// are used up, after which GiveUp decides the outcome.
	Run func(ctx context.Context, t *llmservice.Task) (Outcome, error)
	// GiveUp turns the last error of a task out of attempts into its final
	// outcome. Optional: the default fails the task with the error's text.
	GiveUp func(t *llmservice.Task, err error) Outcome
	// Finished runs after a task has finished and its outcome is stored
	// (to finish a batch whose last item this was). Optional.
	Finished func(ctx context.Context, t *llmservice.Task, state llmservice.TaskState)
}

// Config tunes a Runner.
type Config struct {
	Workers int           // concurrent tasks (default 4)
	Lease   time.Duration // how long a claim holds without renewal (default 1m)
	Poll    time.Duration // how often idle workers look for due tasks (default 1s)
	// Grace is how long running tasks may go on after shutdown begins
	// before they are interrupted and put back (default 10s).
	Grace time.Duration
	// Backoff is the delay before attempt n+1 after attempt n failed
	// (default: 1s doubling to 10m, with jitter).
	Backoff func(attempt int) time.Duration
	// Retention is how long finished tasks without a group (queued
	// completions, webhook deliveries) are kept for their status to be
	// read (default 7 days); grouped tasks go with their batch.
	Retention time.Duration
	Logger    *slog.Logger
	Now       func() time.Time

	// Outages, when set, receives the metrics of the workers' view of the
	// store (internal/outage).
	Outages *outage.Metrics
}

// Purger deletes old finished tasks; a Store that implements it is purged
// hourly by Run.
type Purger interface {
	PurgeTasks(ctx context.Context, before time.Time) (int, error)
}

// Runner runs workers over a Store.
type Runner struct {
	store    Store
	cfg      Config
	log      *slog.Logger
	db       *outage.Tracker // the store as polls see it: outages logged once
	handlers map[string]Handler
	kinds    []string
	wake     chan struct{}

	mu       sync.Mutex
	throttle map[string]time.Time // team -> until
}

// New returns a runner; add handlers with Handle before Run.
func New(store Store, cfg Config) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.Backoff == nil {
		cfg.Backoff = Exponential(time.Second, 10*time.Minute)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	r := &Runner{store: store, cfg: cfg, log: cfg.Logger, handlers: map[string]Handler{},
		wake: make(chan struct{}, 1), throttle: map[string]time.Time{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.db = cfg.Outages.Tracker("queue", "database", r.log)
	return r
}

// Handle registers the handler of a kind. It must be called before Run.
func (r *Runner) Handle(kind string, h Handler) {
	if _, ok := r.handlers[kind]; !ok {
		r.kinds = append(r.kinds, kind)
	}
	r.handlers[kind] = h
}

// Notify wakes an idle worker: call it after enqueuing, so that new work
// starts now rather than at the next poll.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Throttle holds a team's tasks back until until.
func (r *Runner) Throttle(team string, until time.Time) {
	r.mu.Lock()
	if until.After(r.throttle[team]) {
		r.throttle[team] = until
	}
	r.mu.Unlock()
}

// throttled lists the teams held back now, forgetting expired holds.
func (r *Runner) throttled() []string {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for team, until := range r.throttle {
		if now.Before(until) {
			out = append(out, team)
		} else {
			delete(r.throttle, team)
		}
	}
	return out
}

// Run runs the workers until ctx ends and every running task has finished
// or been put back.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if p, ok := r.store.(Purger); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.purge(ctx, p)
		}()
	}
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
}

func (r *Runner) purge(ctx context.Context, p Purger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := p.PurgeTasks(ctx, r.cfg.Now().Add(-r.cfg.Retention)); err != nil && ctx.Err() == nil {
			r.log.Error("queue: purging finished tasks failed", "err", err)
		} else if n > 0 {
			r.log.Info("queue: purged finished tasks", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *Runner) work(ctx context.Context) {
	poll := time.NewTimer(r.cfg.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		t, err := r.store.ClaimTask(ctx, llmservice.TaskClaim{Kinds: r.kinds, SkipTeams: r.throttled(), Lease: rand.Text(), For: r.cfg.Lease})
		if err == nil {
			r.db.OK()
			// Another idle worker may find the next task while this one works.
			r.Notify()
			r.run(ctx, t)
			continue
		}
		switch {
		case llmservice.ErrorKind(err) == llmservice.NotFound:
			r.db.OK()
		case ctx.Err() == nil:
			r.db.Fail(err, "claiming tasks failed; workers keep polling every "+r.cfg.Poll.String())
		}
		poll.Reset(r.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-poll.C:
		}
	}
}

// run runs one claimed task to an outcome, a retry, or a lost lease.
func (r *Runner) run(ctx context.Context, t *llmservice.Task) {
	h, ok := r.handlers[t.Kind]
	if !ok { // cannot happen: claims are limited to registered kinds
		r.finish(ctx, t, h, Outcome{Failed: true, Error: "no handler for task kind " + t.Kind})
		return
	}
	if t.Cancel != "" {
		r.complete(ctx, t, h, llmservice.TaskCompletion{State: llmservice.TaskCancelled, Error: t.Cancel})
		return
	}
	if t.Attempts > t.MaxAttempts {
		// The previous holders all died or stalled mid-run: a task that
		// takes workers down must stop being retried.
		r.finish(ctx, t, h, r.giveUp(h, t, errors.New("the task was interrupted on every attempt")))
		return
	}
	a := r.attempt(ctx, t, h)
	switch {
	case a.lost:
		r.log.Warn("queue: lease lost while running; another worker has the task", "task", t.ID, "kind", t.Kind)
	case a.err == nil:
		r.finish(ctx, t, h, a.out)
	case a.stopped:
		r.retry(ctx, t, llmservice.TaskRetry{RunAfter: r.cfg.Now(), Error: "interrupted by shutdown", Snooze: true})
	default:
		r.failed(ctx, t, h, a.err)
	}
}

// attemptResult is how one run of a handler went.
type attemptResult struct {
	out     Outcome
	err     error
	lost    bool // the lease was taken over: nothing may be written
	stopped bool // interrupted by shutdown after the grace period
}

// attempt runs the handler under a lease that a heartbeat keeps alive. The
// task's context outlives ctx by the grace period, so that shutdown lets a
// nearly finished call finish.
func (r *Runner) attempt(ctx context.Context, t *llmservice.Task, h Handler) attemptResult {
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var lostFlag, stopFlag bool
	var flagMu sync.Mutex
	done := make(chan struct{})
	beat := time.NewTicker(max(r.cfg.Lease/3, time.Millisecond))
	go func() {
		defer beat.Stop()
		var grace <-chan time.Time
		shutdown := ctx.Done()
		for {
			select {
			case <-done:
				return
			case <-shutdown:
				shutdown = nil
				grace = time.After(r.cfg.Grace)
			case <-grace:
				flagMu.Lock()
				stopFlag = true
				flagMu.Unlock()
				cancel()
				return
			case <-beat.C:
				err := r.store.ExtendTaskLease(tctx, t.ID, t.Lease, r.cfg.Lease)
				if llmservice.ErrorKind(err) == llmservice.Conflict {
					flagMu.Lock()
					lostFlag = true
					flagMu.Unlock()
					cancel()
					return
				}
				switch {
				case err == nil:
					r.db.OK()
				case tctx.Err() == nil:
					r.db.Fail(err, "a running task's lease could not be extended; the task runs on and the next beat tries again")
				}
			}
		}
	}()
	out, err := safeRun(tctx, h, t)
	close(done)
	flagMu.Lock()
	defer flagMu.Unlock()
	return attemptResult{out: out, err: err, lost: lostFlag, stopped: stopFlag}
}

// safeRun turns a handler's panic into an error, so that one bad task
// cannot take the worker (and the process) down.
func safeRun(ctx context.Context, h Handler, t *llmservice.Task) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task handler panicked: %v", p)
		}
	}()
	return h.Run(ctx, t)
}

// failed decides what an attempt's error means: later, or never.
func (r *Runner) failed(ctx context.Context, t *llmservice.Task, h Handler, err error) {
	var re *retryError
	if errors.As(err, &re) {
		if re.team {
			r.Throttle(t.TeamID, r.cfg.Now().Add(re.after))
		}
		if re.snooze {
			r.retry(ctx, t, llmservice.TaskRetry{RunAfter: r.cfg.Now().Add(re.after), Error: err.Error(), Snooze: true})
			return
		}
	}
	if t.Attempts >= t.MaxAttempts {
		r.finish(ctx, t, h, r.giveUp(h, t, err))
		return
	}
	after := r.cfg.Backoff(t.Attempts)
	if re != nil && re.after > 0 {
		after = re.after
	}
	r.log.Info("queue: task failed; retrying", "task", t.ID, "kind", t.Kind, "attempt", t.Attempts, "after", after, "err", err)
	r.retry(ctx, t, llmservice.TaskRetry{RunAfter: r.cfg.Now().Add(after), Error: err.Error()})
}

func (r *Runner) giveUp(h Handler, t *llmservice.Task, err error) Outcome {
	if h.GiveUp != nil {
		return h.GiveUp(t, err)
	}
	return Outcome{Failed: true, Error: err.Error()}
}

func (r *Runner) finish(ctx context.Context, t *llmservice.Task, h Handler, out Outcome) {
	state := llmservice.TaskSucceeded
	if out.Failed {
		state = llmservice.TaskFailed
	}
	r.complete(ctx, t, h, llmservice.TaskCompletion{State: state, Result: out.Result, Error: out.Error, Credit: out.Credit})
}

// complete stores the outcome. Writes use a context that survives
// shutdown: a finished call's result must not be thrown away.
func (r *Runner) complete(ctx context.Context, t *llmservice.Task, h Handler, c llmservice.TaskCompletion) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.store.CompleteTask(wctx, t.ID, t.Lease, c); err != nil {
		if llmservice.ErrorKind(err) == llmservice.Conflict {
			r.log.Warn("queue: lease lost before completion; the other worker's outcome stands", "task", t.ID)
		} else {
			r.log.Error("queue: storing a task's outcome failed; it will run again", "task", t.ID, "err", err)
		}
		return
	}
	if h.Finished != nil {
		h.Finished(wctx, t, c.State)
	}
}

func (r *Runner) retry(ctx context.Context, t *llmservice.Task, rt llmservice.TaskRetry) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.store.RetryTask(wctx, t.ID, t.Lease, rt); err != nil && llmservice.ErrorKind(err) != llmservice.Conflict {
		// The lease runs out and the task is claimed again anyway.
		r.log.Error("queue: putting a task back failed", "task", t.ID, "err", err)
	}
	if ctx.Err() == nil && !rt.RunAfter.After(r.cfg.Now()) {
		r.Notify()
	}
}

// retryError asks for a later attempt.
type retryError struct {
	err    error
	after  time.Duration
	snooze bool // the attempt does not count
	team   bool // hold the team's other tasks back too
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RateLimited reports that the task was refused by a rate limit: it runs
// again after after without counting an attempt, and the team's other
// tasks wait as long, instead of each being refused in turn.
func RateLimited(after time.Duration, err error) error {
	return &retryError{err: err, after: after, snooze: true, team: true}
}

// Snooze puts the task back for after without counting an attempt.
func Snooze(after time.Duration, err error) error {
	return &retryError{err: err, after: after, snooze: true}
}

// RetryAfter retries after the given delay instead of the backoff (an
// upstream's Retry-After); the attempt counts.
func RetryAfter(after time.Duration, err error) error {
	return &retryError{err: err, after: after}
}

// Exponential returns a backoff that starts at base, doubles per attempt up
// to limit, and varies by ±20% so that tasks failed together spread out.
func Exponential(base, limit time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := float64(base) * math.Pow(2, float64(max(attempt-1, 0)))
		d = min(d, float64(limit))
		d *= 0.8 + 0.4*mrand.Float64()
		return time.Duration(d)
	}
}

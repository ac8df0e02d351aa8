package gateway

import (
	"context"
	"time"

	"github.com/llmservice/llmservice"
)

// A database outage must not take the gateway down with it. Keys (with
// their teams) already known keep working from their last good copy for a
// bounded time, the stale grace; the catalog and model groups keep their
// last good copy until a reload succeeds. What cannot be served from a copy
// (a key never seen, an admin write) fails as Unavailable (503) with the
// stores' "the database is unavailable". Invalidation is not weakened: a
// key or team an admin changed is dropped from the cache, copy and all, so
// a revoked key is refused as soon as the revocation is known.

// DefaultStaleGrace is how long past its refresh a cached key may be
// served while the database is unavailable.
const DefaultStaleGrace = 15 * time.Minute

// lookupTimeout bounds one read of a key and its team: a database that does
// not answer (a host that drops packets) must not hold requests for the
// whole request timeout.
const lookupTimeout = 5 * time.Second

// probeInterval is how often, while the database is down, a request whose
// cached key is due for a refresh tries the database instead of being
// served the copy at once: one attempt per interval for the whole gateway,
// so an outage is not met with a connection attempt per request.
const probeInterval = time.Second

type principalEntry struct {
	p      *Principal
	loaded time.Time
	// resync is g.resyncs when the entry was loaded: a resync (the bus
	// reconnected and may have missed changes) makes older entries due for
	// a reload, while keeping them as copies for an outage.
	resync uint64
}

// fresh reports whether e may be used without reading the database.
func (g *Gateway) fresh(e *principalEntry) bool {
	if e.resync != g.resyncs.Load() {
		return false
	}
	return g.refresh < 0 || g.now().Sub(e.loaded) <= g.refresh
}

// servable reports whether e may stand in for the database while it is
// unavailable: no more than the stale grace past its refresh.
func (g *Gateway) servable(e *principalEntry) bool {
	return g.grace > 0 && g.now().Sub(e.loaded) <= max(g.refresh, 0)+g.grace
}

// principal returns the principal cached under hash, reading it with find
// when the copy is due for a refresh (or there is none: hash may be "").
// While the database is unavailable a servable copy is returned instead of
// the error, and the database is tried at most once per probeInterval.
func (g *Gateway) principal(ctx context.Context, hash string, find func(context.Context) (*llmservice.Key, error)) (*Principal, error) {
	var old *principalEntry
	if hash != "" {
		if v, ok := g.keys.Load(hash); ok {
			old = v.(*principalEntry)
			if g.fresh(old) {
				return old.p, nil
			}
			if g.servable(old) && g.db.Down() && !g.probeDue() {
				return old.p, nil
			}
		}
	}
	gen, resync := g.invalidations.Load(), g.resyncs.Load()
	p, err := g.loadPrincipal(ctx, find)
	if err != nil {
		switch llmservice.ErrorKind(err) {
		case llmservice.Unavailable:
		case llmservice.Unauthenticated: // the database answered: no such key
			g.db.OK()
			return nil, err
		default:
			return nil, err
		}
		g.db.Fail(err, g.outageNote())
		g.nextProbe.Store(g.now().Add(probeInterval).UnixNano())
		if old != nil && g.servable(old) {
			return old.p, nil
		}
		return nil, err
	}
	g.db.OK()
	// A load that an invalidation overtook may have read what the admin
	// just changed (a revocation): use it for this call, cache nothing.
	if g.invalidations.Load() == gen {
		g.keys.Store(p.Key.KeyHash, &principalEntry{p: p, loaded: g.now(), resync: resync})
	}
	return p, nil
}

// loadPrincipal reads a key and its team, within lookupTimeout. A key or
// team that does not exist is an invalid key.
func (g *Gateway) loadPrincipal(ctx context.Context, find func(context.Context) (*llmservice.Key, error)) (*Principal, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	k, err := find(ctx)
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return nil, invalidKey()
		}
		return nil, err
	}
	t, err := g.stores.Teams.FindTeamByID(ctx, k.TeamID)
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return nil, invalidKey()
		}
		return nil, err
	}
	return &Principal{Key: k, Team: t, allow: parseAllowlist(k.IPAllowlist), limits: g.principalLimits(k, t)}, nil
}

// probeDue reports whether this call should try the database during an
// outage, and if so claims the attempt for the next probeInterval.
func (g *Gateway) probeDue() bool {
	now := g.now().UnixNano()
	next := g.nextProbe.Load()
	return now >= next && g.nextProbe.CompareAndSwap(next, now+int64(probeInterval))
}

// resync makes every cached key due for a reload, keeping the copies for an
// outage: the bus may have missed changes, so each key is read again on its
// next use, but a database that is down at that moment must not turn every
// known key into a 503.
func (g *Gateway) resync() {
	g.resyncs.Add(1)
}

// reloadCatalogLogged reloads the catalog and model groups, keeping the
// last good copy when that fails. An unavailable database is logged once
// per outage (with the keys' outage: it is the same database).
func (g *Gateway) reloadCatalogLogged() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := g.loadCatalog(ctx)
	switch {
	case err == nil:
		g.db.OK()
	case llmservice.ErrorKind(err) == llmservice.Unavailable:
		g.db.Fail(err, g.outageNote())
	default:
		g.log.Warn("reload catalog; keeping the last good copy", "err", err)
	}
}

// outageNote says, for the log line that opens an outage, what the gateway
// does until the database answers.
func (g *Gateway) outageNote() string {
	keys := "known keys fail too (no stale grace)"
	if g.grace > 0 {
		keys = "known keys are served from their last good copy for up to " + g.grace.String() + " past their refresh"
	}
	return keys + ", the catalog and model groups from theirs; unknown keys and admin writes get 503"
}

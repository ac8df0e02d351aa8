package gateway

import (
	"context"
	"strings"
	"time"
)

// Publisher tells the other replicas what an admin changed
// (internal/notify's buses). Messages are "key:<hash>", "team:<id>",
// "catalog", and notify.Resync ("*") for "drop everything".
type Publisher interface {
	Publish(ctx context.Context, msg string) error
}

// DefaultRefresh is how long a cached key, team or catalog is trusted
// without a word from the bus: the safety net for a lost message.
const DefaultRefresh = 30 * time.Second

// announce publishes msg to the other replicas. A failure is logged, not
// returned: the change is saved and applies here, and the others pick it up
// at their next refresh.
func (g *Gateway) announce(msg string) {
	if g.bus == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.bus.Publish(ctx, msg); err != nil {
		g.log.Warn("could not tell other replicas of a change; they apply it at their next refresh",
			"change", strings.SplitN(msg, ":", 2)[0], "refresh", g.refresh, "err", err)
	}
}

// ApplyInvalidation handles a message from the bus (this replica's own
// included): it drops what the message names from the caches, without
// publishing again.
func (g *Gateway) ApplyInvalidation(msg string) {
	kind, arg, _ := strings.Cut(msg, ":")
	switch kind {
	case "key":
		g.dropKey(arg)
	case "team":
		g.dropTeam(arg)
	case "catalog":
		g.reloadCatalogLogged()
	case "*":
		g.resync()
		g.reloadCatalogLogged()
	default:
		g.log.Warn("unknown invalidation message ignored", "kind", kind)
	}
}

// RefreshCatalog reloads the catalog and model groups every refresh
// interval until ctx ends: the safety net behind the bus for edits made on
// another replica.
func (g *Gateway) RefreshCatalog(ctx context.Context) {
	if g.refresh <= 0 {
		return
	}
	t := time.NewTicker(g.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.reloadCatalogLogged()
		}
	}
}

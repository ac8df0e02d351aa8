package server

import (
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// cachePatch is the cache field of a team's or key's PATCH:
// {"cache": {"ttl": "1h"}} switches the response cache on, {"cache": null}
// off.
type cachePatch struct {
	Cache optional[llmservice.CachePolicy] `json:"cache"`
}

func (p *cachePatch) apply(c **llmservice.CachePolicy) error {
	if !p.Cache.Set {
		return nil
	}
	if p.Cache.Null {
		*c = nil
		return nil
	}
	v := p.Cache.Value
	if err := checkCachePolicy(&v); err != nil {
		return err
	}
	*c = &v
	return nil
}

// checkCachePolicy refuses a TTL that is not a duration of zero or more
// ("0s" keeps the cache off for a team or key whatever its model says).
func checkCachePolicy(p *llmservice.CachePolicy) error {
	if p == nil {
		return nil
	}
	if d, err := time.ParseDuration(p.TTL); err != nil || d < 0 {
		return llmservice.InvalidParam("cache.ttl", "cache.ttl must be a duration such as \"1h\" or \"30m\" (\"0s\": off)")
	}
	return nil
}

// patchModel serves PATCH /admin/models/{name}: {"cache": {"ttl": "1h"}}
// switches the response cache on for the model's calls, {"cache": null}
// off. The rest of an entry is replaced with POST /admin/models.
func (s *Server) patchModel(w http.ResponseWriter, r *http.Request) error {
	var p cachePatch
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &p); err != nil {
		return err
	}
	name := r.PathValue("name")
	ms, err := s.cfg.Stores.Catalog.FindModels(r.Context())
	if err != nil {
		return err
	}
	var m *llmservice.Model
	for _, x := range ms {
		if x.Name == name {
			m = x
		}
	}
	if m == nil {
		return llmservice.Errorf(llmservice.NotFound, "model '%s' not found", name)
	}
	if err := p.apply(&m.Cache); err != nil {
		return err
	}
	if err := s.cfg.Stores.Catalog.UpsertModel(r.Context(), m); err != nil {
		return err
	}
	if err := s.cfg.Gateway.ReloadCatalog(r.Context()); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, m)
}

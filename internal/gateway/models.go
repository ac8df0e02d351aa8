package gateway

import "sort"

// ModelInfo is one model a principal may call.
type ModelInfo struct {
	ID      string
	OwnedBy string // the provider instance
	Created int64
}

// Models lists what p may use: catalog entries and the models instances
// advertise, filtered by the team's and the key's allowlists.
func (g *Gateway) Models(p *Principal) []ModelInfo {
	var out []ModelInfo
	seen := make(map[string]bool)
	add := func(id, owner string, created int64) {
		if seen[id] || !allowed(p.Team.Models, id) || !allowed(p.Key.Models, id) {
			return
		}
		seen[id] = true
		out = append(out, ModelInfo{ID: id, OwnedBy: owner, Created: created})
	}
	for name, e := range g.CatalogEntries() {
		if _, ok := g.instances[e.Provider]; ok {
			add(name, e.Provider, e.CreatedAt.Unix())
		}
	}
	if c := g.catalog.p.Load(); c != nil {
		for name, mg := range c.groups {
			if len(p.Team.ModelGroups) == 0 || allowed(p.Team.ModelGroups, name) {
				if allowed(p.Key.Models, name) {
					seen[name] = true
					out = append(out, ModelInfo{ID: name, OwnedBy: "model-group", Created: mg.CreatedAt.Unix()})
				}
			}
		}
	}
	for _, name := range g.names {
		for _, m := range g.instances[name].Models {
			add(name+"/"+m, name, 0)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
